// Static check that code compiled for one instruction set cannot run before dispatch or leak into shared
// code (see native/cpu/dispatch.h). Two parts:
//  1. The built addon (default build/Release/wavenet.node), disassembled with `objdump -d`: every
//     instruction is attributed to the function (symbol) it sits in. An AVX-512 instruction (EVEX
//     encoding, or a zmm / k-mask register) may appear only in functions of the avx512 variant (namespace
//     avx512::), and an AVX/AVX2/FMA/F16C one (VEX encoding) only in the avx2 and avx512 variants.
//  2. The per-ISA object files (build/Release/obj.target/wn_simd_{avx2,avx512}/**/*.o), whatever the linker
//     happened to keep: no dynamic initialiser (.init_array / .ctors), and no global or weak (COMDAT)
//     symbol outside the variant's namespace -- the linker picks one copy of a COMDAT function (an
//     inline/template function from a standard header) for every caller in the addon, so an AVX-512 copy
//     of std::vector<float>::resize would crash shared code on a CPU without AVX-512.
// Usage: node scripts/check-isa.mjs [ADDON] [OBJDIR]   exit 0: clean, 1: violations (named), 2: cannot run
// (objdump/nm/readelf missing, or no addon). Prints one summary line on success.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LEGACY_PREFIXES = new Set(['26', '2e', '36', '3e', '64', '65', '66', '67', 'f0', 'f2', 'f3']);

/** 'avx512' | 'avx' | null: the instruction-set class of one disassembled x86-64 instruction. */
export function classify(bytes, text) {
  let i = 0;
  while (i < bytes.length && LEGACY_PREFIXES.has(bytes[i])) i++;
  // REX (40-4f) may precede legacy SSE opcodes but never a VEX/EVEX prefix.
  const b = bytes[i];
  const avx512Regs = /%zmm\d|%[xy]mm(1[6-9]|2\d|3[01])\b|%k[0-7]\b/.test(text);
  if (b === '62') return 'avx512'; // EVEX (BOUND does not exist in 64-bit mode)
  if (b === 'c4' || b === 'c5') return avx512Regs ? 'avx512' : 'avx'; // VEX (k-mask ops are VEX too)
  return avx512Regs ? 'avx512' : null;
}

/** The variant a function belongs to, from its demangled name: 'avx512' | 'avx2' | 'generic' | null (shared). */
export function variantOf(name) {
  const m = /(?:^|[^\w:])(avx512|avx2|generic)::/.exec(name);
  return m ? m[1] : null;
}

const ALLOWED = { avx512: new Set(['avx512', 'avx']), avx2: new Set(['avx']), generic: new Set(), shared: new Set() };

/** Scans `objdump -d -C` output; returns [{fn, cls, count, example}] for every misplaced instruction class. */
export function scanDisassembly(text) {
  const found = new Map();
  let fn = '?';
  let total = 0;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+ <(.*)>:$/.exec(line);
    if (head) {
      fn = head[1];
      continue;
    }
    const parts = line.split('\t');
    if (parts.length < 3 || !/^\s*[0-9a-f]+:$/.test(parts[0])) continue; // continuation lines hold only bytes
    const asm = parts.slice(2).join(' ').trim();
    if (!asm || asm.startsWith('(bad)')) continue;
    total++;
    const cls = classify(parts[1].trim().split(/\s+/), asm);
    if (!cls) continue;
    const variant = variantOf(fn) ?? 'shared';
    if (ALLOWED[variant].has(cls)) continue;
    const key = `${fn}\u0000${cls}`;
    const f = found.get(key);
    if (f) f.count++;
    else found.set(key, { fn, variant, cls, count: 1, example: `${parts[0].trim()} ${asm.replace(/\s+/g, ' ')}` });
  }
  return { violations: [...found.values()], instructions: total };
}

function tool(name, args) {
  const r = spawnSync(name, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) return null;
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

function objects(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...objects(p));
    else if (e.endsWith('.o')) out.push(p);
  }
  return out;
}

/** Checks the per-ISA object files under objDir; returns problems as strings (empty: clean). */
export function scanObjects(objDir) {
  const problems = [];
  let n = 0;
  for (const isa of ['avx2', 'avx512']) {
    for (const o of objects(join(objDir, `wn_simd_${isa}`))) {
      n++;
      const rel = relative(root, o);
      const sections = tool('readelf', ['-SW', o]);
      if (sections === null) throw new Error('readelf not found');
      for (const s of ['.init_array', '.ctors', '.preinit_array'])
        if (sections.includes(` ${s}`))
          problems.push(
            `${rel}: has a ${s} section: a dynamic initialiser compiled for ${isa} runs at load time, before dispatch`,
          );
      const syms = tool('nm', ['-C', '--defined-only', o]);
      if (syms === null) throw new Error('nm not found');
      for (const line of syms.split('\n')) {
        const m = /^[0-9a-f]*\s+([A-Za-z])\s+(.*)$/.exec(line);
        if (!m) continue;
        const [, type, name] = m;
        const global = /[A-Z]/.test(type) || type === 'u' || type === 'v' || type === 'w';
        if (!global || type === 'U') continue;
        if (variantOf(name) !== isa)
          problems.push(
            `${rel}: defines the ${/[WVuvw]/.test(type) ? 'weak (COMDAT) ' : ''}global symbol \`${name}\` outside namespace ${isa}:: (the linker may use this ${isa} copy from shared code)`,
          );
      }
    }
  }
  return { problems, objects: n };
}

function main() {
  const addon = process.argv[2] ?? join(root, 'build/Release/wavenet.node');
  const objDir = process.argv[3] ?? join(dirname(addon), 'obj.target');
  if (!existsSync(addon)) {
    console.error(`check-isa: ${addon} not found; build the addon first (npm run build:native)`);
    process.exit(2);
  }
  const dis = tool('objdump', ['-d', '-C', addon]);
  if (dis === null) {
    console.error('check-isa: objdump not found (install binutils)');
    process.exit(2);
  }
  const { violations, instructions } = scanDisassembly(dis);
  const { problems, objects: nobj } = scanObjects(objDir);
  const lines = violations.map(
    (v) =>
      `${v.cls === 'avx512' ? 'AVX-512' : 'AVX/AVX2/FMA'} instruction${v.count > 1 ? `s (${v.count})` : ''} in ${v.variant === 'shared' ? 'shared' : v.variant + '-variant'} function \`${v.fn}\`, e.g. ${v.example}`,
  );
  lines.push(...problems);
  if (lines.length) {
    console.error(
      `check-isa: FAIL ${relative(root, addon) || addon}: instruction-set code outside its variant (see native/cpu/dispatch.h)`,
    );
    for (const l of lines) console.error(`  ${l}`);
    process.exit(1);
  }
  console.log(
    `check-isa: ok: ${instructions} instructions in ${relative(root, addon) || addon}: AVX-512 only in avx512::, AVX/AVX2/FMA only in avx2::/avx512::; ${nobj} per-ISA objects without initialisers or shared symbols`,
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
