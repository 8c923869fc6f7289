// Helper for binding.gyp: lists source files and finds nvcc, so the build file needs no edits
// when a source is added and builds without CUDA when nvcc is absent.
//   node scripts/gyp.mjs list DIR EXT    -> space-separated paths (relative to the project root)
//   node scripts/gyp.mjs with-cuda        -> "true" when nvcc is usable (WAVENET_CUDA=0 forces "false")
//   node scripts/gyp.mjs nvcc | cuda-home
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function findNvcc() {
  if (process.env.WAVENET_CUDA === '0') return null;
  const candidates = [];
  if (process.env.CUDA_HOME) candidates.push(join(process.env.CUDA_HOME, 'bin', 'nvcc'));
  if (process.env.CUDA_PATH) candidates.push(join(process.env.CUDA_PATH, 'bin', 'nvcc'));
  try {
    const p = execFileSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).trim();
    if (p) candidates.push(p);
  } catch { /* not on PATH */ }
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
    } catch { continue; }
    const home = dirname(dirname(c));
    // The static runtime must be there too; otherwise we cannot link.
    const lib = [join(home, 'lib64', 'libcudart_static.a'), join(home, 'targets', 'x86_64-linux', 'lib', 'libcudart_static.a')].find(existsSync);
    if (!lib) continue;
    return { nvcc: c, home: dirname(dirname(lib)) === join(home, 'targets', 'x86_64-linux') ? join(home, 'targets', 'x86_64-linux') : home };
  }
  return null;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'list') {
  const [dir, ext] = args;
  const abs = join(root, dir);
  const files = existsSync(abs) ? readdirSync(abs).filter((f) => f.endsWith(ext)).sort() : [];
  process.stdout.write(files.map((f) => `${dir}/${f}`).join(' '));
} else if (cmd === 'with-cuda') {
  process.stdout.write(findNvcc() ? 'true' : 'false');
} else if (cmd === 'nvcc') {
  process.stdout.write(findNvcc()?.nvcc ?? 'nvcc');
} else if (cmd === 'cuda-home') {
  process.stdout.write(findNvcc()?.home ?? '/usr/local/cuda');
} else {
  process.stderr.write(`gyp.mjs: unknown command ${cmd}\n`);
  process.exit(2);
}
