/**
 * Static instruction-set check of the built addon (scripts/check-isa.mjs, see native/cpu/dispatch.h):
 * AVX-512 instructions only in avx512:: functions, AVX/AVX2/FMA only in avx2::/avx512::, no dynamic
 * initialiser and no shared (COMDAT) symbol in the per-ISA objects. Skips with a message without objdump.
 * The scanner itself is checked on crafted disassembly, so that the check is known to be able to fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
// @ts-expect-error: plain ESM script without type declarations
import { classify, scanDisassembly, variantOf } from '../scripts/check-isa.mjs';

const root = join(import.meta.dirname, '..');
const hasTools = ['objdump', 'nm', 'readelf'].every((t) => !spawnSync(t, ['--version']).error);
const skip =
  process.platform !== 'linux' || process.arch !== 'x64'
    ? `the ISA check reads x86-64 ELF builds (this is ${process.platform}/${process.arch}): skipped`
    : !hasTools
      ? 'objdump/nm/readelf not found (install binutils): ISA check skipped'
      : false;

test('the built addon keeps every ISA-specific instruction inside its variant', { skip }, () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/check-isa.mjs')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/check-isa.mjs failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /check-isa: ok: \d+ instructions/);
});

test('classify: EVEX, zmm and k registers are AVX-512; VEX is AVX; legacy SSE is neither', () => {
  assert.equal(classify(['62', 'f1', '7c', '48', '10', '07'], 'vmovups (%rdi),%zmm0'), 'avx512');
  assert.equal(classify(['62', 'e1', '7c', '08', '10', '07'], 'vmovups (%rdi),%xmm16'), 'avx512');
  assert.equal(classify(['c5', 'f8', '93', 'c1'], 'kmovw %k1,%eax'), 'avx512');
  assert.equal(classify(['c5', 'fc', '10', '07'], 'vmovups (%rdi),%ymm0'), 'avx');
  assert.equal(classify(['c4', 'e2', '7d', 'b8', 'c1'], 'vfmadd231ps %ymm1,%ymm0,%ymm0'), 'avx');
  assert.equal(classify(['67', 'c5', 'f8', '77'], 'addr32 vzeroupper'), 'avx');
  assert.equal(classify(['0f', '10', '07'], 'movups (%rdi),%xmm0'), null);
  assert.equal(classify(['66', '0f', '38', '00', 'c1'], 'pshufb %xmm1,%xmm0'), null);
  assert.equal(classify(['48', '89', 'c7'], 'mov %rax,%rdi'), null);
});

test('variantOf reads the namespace of a demangled name', () => {
  assert.equal(variantOf('avx512::sgemm(bool, bool, int)'), 'avx512');
  assert.equal(variantOf('void avx2::(anonymous namespace)::micro<1, 2>(float const*)'), 'avx2');
  assert.equal(variantOf('std::vector<float, std::allocator<float> >::_M_default_append(unsigned long)'), null);
  assert.equal(variantOf('_GLOBAL__sub_I_synth_kernels.cc'), null);
  assert.equal(variantOf('notavx512::f()'), null);
});

test('scanDisassembly names shared functions holding AVX-512 or AVX code and passes variant code', () => {
  const dis = [
    '0000000000001000 <avx512::sgemm(bool)>:',
    '    1000:\t62 f1 7c 48 10 07    \tvmovups (%rdi),%zmm0',
    '0000000000002000 <avx2::sgemm(bool)>:',
    '    2000:\tc5 fc 10 07          \tvmovups (%rdi),%ymm0',
    '0000000000003000 <_GLOBAL__sub_I_synth_kernels.cc>:',
    '    3000:\t62 f3 fd 48 3a c1 01 \tvinserti64x4 $0x1,%ymm1,%zmm0,%zmm0',
    '    3007:\t62 f3 fd 48 3a c1 01 \tvinserti64x4 $0x1,%ymm1,%zmm0,%zmm0',
    '0000000000004000 <std::vector<float>::_M_default_append(unsigned long)>:',
    '    4000:\tc5 f8 77             \tvzeroupper',
    '    4003:\t48 b8 ff ff ff ff ff \tmovabs $0x1fffffffffffffff,%rax',
    '    400a:\tff ff 1f ',
    '0000000000005000 <avx2::bad(int)>:',
    '    5000:\t62 f1 7c 48 10 07    \tvmovups (%rdi),%zmm0',
    '0000000000006000 <generic::sgemm(bool)>:',
    '    6000:\t0f 10 07             \tmovups (%rdi),%xmm0',
  ].join('\n');
  const { violations, instructions } = scanDisassembly(dis);
  assert.equal(instructions, 8);
  const got = violations.map((v: { fn: string; cls: string; count: number }) => `${v.fn}|${v.cls}|${v.count}`).sort();
  assert.deepEqual(got, [
    '_GLOBAL__sub_I_synth_kernels.cc|avx512|2',
    'avx2::bad(int)|avx512|1',
    'std::vector<float>::_M_default_append(unsigned long)|avx|1',
  ]);
});
