// Preloaded into CLI runs by test/fuzz.test.ts (node --import): at exit, writes this process's peak
// resident memory (KiB) to the file named by WN_TEST_MAXRSS_FILE. Test-side only; the CLI never reads it.
import { writeFileSync } from 'node:fs';

const file = process.env.WN_TEST_MAXRSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      /* the test reports the missing figure */
    }
  });
}
