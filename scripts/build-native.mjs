// Builds the native addons with node-gyp: build/Release/wavenet.node (production) and
// build/Release/wavenet_test.node (test-only entry points), over one core library (binding.gyp).
//  - Uses the Node headers installed beside node (e.g. /usr/include/node), so nothing is downloaded.
//  - Configures again only when the set of source files (or binding.gyp) changed, then builds
//    incrementally; `--rebuild` (or WAVENET_REBUILD=1) forces a clean build.
//  - Holds a lock (build/.lock) so that concurrent builds in one checkout take turns.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  writeFileSync,
  readdirSync,
  openSync,
  closeSync,
  unlinkSync,
  statSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function localNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = dirname(dirname(process.execPath)); // <prefix>/bin/node -> <prefix>/include/node
  for (const p of [prefix, '/usr', '/usr/local']) {
    if (existsSync(join(p, 'include', 'node', 'node_api.h'))) return p;
  }
  return null;
}

function sourceFingerprint() {
  const h = createHash('sha256');
  h.update(readFileSync(join(root, 'binding.gyp')));
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else h.update(p.slice(root.length) + '\n');
    }
  };
  walk(join(root, 'native'));
  h.update(String(process.env.WAVENET_CUDA ?? ''));
  return h.digest('hex');
}

function lock() {
  mkdirSync(join(root, 'build'), { recursive: true });
  const path = join(root, 'build', '.lock');
  const deadline = Date.now() + 15 * 60 * 1000;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx'));
      writeFileSync(path, String(process.pid));
      return () => {
        try {
          unlinkSync(path);
        } catch {
          /* gone */
        }
      };
    } catch {
      // stale lock: owner gone
      try {
        const pid = Number(readFileSync(path, 'utf8'));
        if (pid) process.kill(pid, 0);
        else if (Date.now() - statSync(path).mtimeMs > 60000) unlinkSync(path);
      } catch {
        try {
          unlinkSync(path);
        } catch {
          /* raced */
        }
        continue;
      }
      if (Date.now() > deadline) throw new Error('timed out waiting for build/.lock');
      spawnSync('sleep', ['1']);
    }
  }
}

let gyp;
try {
  gyp = require.resolve('node-gyp/bin/node-gyp.js');
} catch {
  console.error('wavenet: node-gyp is not installed; run `npm ci` first.');
  process.exit(1);
}
const nodedir = localNodedir();
const common = nodedir ? [`--nodedir=${nodedir}`] : [];
if (!nodedir) console.warn('wavenet: no local Node headers found; node-gyp may try to download them.');

const run = (args) => spawnSync(process.execPath, [gyp, ...args, ...common], { cwd: root, stdio: 'inherit' }).status;
const unlock = lock();
let status = 0;
try {
  const fpFile = join(root, 'build', '.sources');
  const fp = sourceFingerprint();
  const force = process.argv.includes('--rebuild') || process.env.WAVENET_REBUILD === '1';
  const configured =
    existsSync(join(root, 'build', 'Makefile')) && existsSync(fpFile) && readFileSync(fpFile, 'utf8') === fp;
  if (force || !configured) {
    status = run(force ? ['clean'] : ['--version']) ?? 1;
    status = status || (run(['configure']) ?? 1);
    if (!status) writeFileSync(fpFile, fp);
  }
  status = status || (run(['build', `--jobs=${Math.max(1, os.cpus().length)}`]) ?? 1);
} finally {
  unlock();
}
if (status !== 0) {
  console.error(
    'wavenet: building the native addon failed (see the compiler output above). A C++17 compiler, make and python3 are required.',
  );
  process.exit(status);
}
