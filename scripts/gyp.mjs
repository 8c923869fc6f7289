// Helper for binding.gyp: lists source files and finds nvcc, so the build file needs no edits
// when a source is added and builds without CUDA when nvcc is absent.
//   node scripts/gyp.mjs list DIR EXT    -> space-separated paths (relative to the project root)
//   node scripts/gyp.mjs with-cuda        -> "true" when nvcc is usable (WAVENET_CUDA=0 forces "false")
//   node scripts/gyp.mjs nvcc | cuda-home
//   node scripts/gyp.mjs cflags            -> the compiler flags of every native file (binding.gyp's cflags
//                                             and xcode_settings, native/test/build.sh)
//   node scripts/gyp.mjs isa-flags ISA     -> the extra flags of one SIMD variant (avx2, avx512)
import { existsSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// One source of truth for the flags that change the generated code, so that Linux (make), macOS (Xcode
// settings) and the standalone native test build get the same: no errno from libm, fused multiply-add
// allowed, hidden symbols. Never -march=native: the variants are chosen at run time (native/cpu/dispatch.h).
const CFLAGS = ['-O3', '-fno-math-errno', '-ffp-contract=fast', '-fvisibility=hidden', '-Wall', '-Wextra'];
const ISA_FLAGS = {
  avx2: ['-mavx2', '-mfma', '-mf16c'],
  avx512: ['-mavx512f', '-mavx512bw', '-mavx512vl', '-mavx512dq', '-mavx512bf16', '-mavx2', '-mfma', '-mf16c'],
};

// The CUDA toolkit's per-platform library folder (targets/<triple>/lib) for this machine.
function cudaTarget() {
  if (process.platform !== 'linux') return null;
  if (process.arch === 'x64') return 'x86_64-linux';
  if (process.arch === 'arm64') return existsSync('/etc/nv_tegra_release') ? 'aarch64-linux' : 'sbsa-linux';
  return null;
}

function findNvcc() {
  if (process.env.WAVENET_CUDA === '0') return null;
  const candidates = [];
  if (process.env.CUDA_HOME) candidates.push(join(process.env.CUDA_HOME, 'bin', 'nvcc'));
  if (process.env.CUDA_PATH) candidates.push(join(process.env.CUDA_PATH, 'bin', 'nvcc'));
  try {
    const p = execFileSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).trim();
    if (p) candidates.push(p);
  } catch {
    /* not on PATH */
  }
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
    } catch {
      continue;
    }
    const home = dirname(dirname(c));
    // The static runtime must be there too; otherwise we cannot link (binding.gyp links <home>/lib64).
    const target = cudaTarget();
    if (!target) continue; // the CUDA build is wired for Linux only (x86-64, arm64 server, Jetson)
    const targetHome = join(home, 'targets', target);
    if (existsSync(join(home, 'lib64', 'libcudart_static.a'))) return { nvcc: c, home };
    if (existsSync(join(targetHome, 'lib', 'libcudart_static.a'))) return { nvcc: c, home: targetHome, libDir: 'lib' };
  }
  return null;
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'list') {
  const [dir, ext] = args;
  const abs = join(root, dir);
  const files = existsSync(abs)
    ? readdirSync(abs)
        .filter((f) => f.endsWith(ext))
        .sort()
    : [];
  process.stdout.write(files.map((f) => `${dir}/${f}`).join(' '));
} else if (cmd === 'with-cuda') {
  process.stdout.write(findNvcc() ? 'true' : 'false');
} else if (cmd === 'nvcc') {
  process.stdout.write(findNvcc()?.nvcc ?? 'nvcc');
} else if (cmd === 'cuda-home') {
  process.stdout.write(findNvcc()?.home ?? '/usr/local/cuda');
} else if (cmd === 'cuda-lib') {
  const f = findNvcc();
  process.stdout.write(f ? join(f.home, f.libDir ?? 'lib64') : '/usr/local/cuda/lib64');
} else if (cmd === 'cflags') {
  process.stdout.write(CFLAGS.join(' '));
} else if (cmd === 'isa-flags') {
  const flags = ISA_FLAGS[args[0]];
  if (!flags) {
    process.stderr.write(`gyp.mjs: unknown ISA ${args[0]} (avx2, avx512)\n`);
    process.exit(2);
  }
  process.stdout.write(flags.join(' '));
} else {
  process.stderr.write(`gyp.mjs: unknown command ${cmd}\n`);
  process.exit(2);
}
