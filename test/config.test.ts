import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native.js';
import { DEFAULT_CONFIG, parseDilations, formatDilations, paramLayout, paramCount, receptiveField, toNative } from '../src/model/config.js';
import { resolveDevice } from '../src/device.js';
import { UserError } from '../src/util/errors.js';

test('dilations: 10x3 gives 30 layers 1..512 and receptive field 3071', () => {
  const d = parseDilations('10x3');
  assert.equal(d.length, 30);
  assert.deepEqual(d.slice(0, 10), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
  assert.equal(receptiveField({ ...DEFAULT_CONFIG, dilations: d }), 3071);
  assert.deepEqual(parseDilations('1,2,4,8,1,2,4,8'), [1, 2, 4, 8, 1, 2, 4, 8]);
  assert.equal(formatDilations(d), '10x3');
  assert.equal(formatDilations([1, 3]), '1,3');
});

test('dilations: malformed specs are clear errors naming the flag', () => {
  for (const bad of ['', 'abc', '10x', '0x3', '1,0,2', '1,-2', '10x3x2', '1.5,2']) {
    assert.throws(() => parseDilations(bad), (e: Error) => e instanceof UserError && e.message.includes('--dilations'), bad);
  }
});

test('TypeScript parameter layout matches the native layout', () => {
  for (const c of [DEFAULT_CONFIG, { ...DEFAULT_CONFIG, dilations: [1, 2, 4, 1, 2], residual: 3, dilation: 5, skip: 7, head: 11 }]) {
    const nl = native().layout(toNative(c));
    const tl = paramLayout(c);
    const byName = new Map(tl.map((t) => [t.name, t]));
    assert.equal(nl.total, paramCount(c));
    assert.equal(nl.inputEmbed, byName.get('input.embed')!.offset);
    assert.equal(nl.inputBias, byName.get('input.bias')!.offset);
    assert.equal(nl.head1W, byName.get('head.1.weight')!.offset);
    assert.equal(nl.head2B, byName.get('head.2.bias')!.offset);
    nl.layers.forEach((l, i) => {
      assert.equal(l.gateW, byName.get(`layers.${i}.gate.weight`)!.offset);
      assert.equal(l.skipB, byName.get(`layers.${i}.skip.bias`)!.offset);
      assert.equal(l.resW, byName.get(`layers.${i}.res.weight`)!.offset);
    });
    assert.equal(nl.receptiveField, receptiveField(c));
  }
});

test('device resolution: cpu always works, cuda without a GPU is a clear error, auto falls back', () => {
  assert.equal(resolveDevice('cpu').device, 'cpu');
  const none = () => ({ compiled: true, usable: false, reason: 'no CUDA device found', runtimeVersion: 13000, driverVersion: 0, devices: [] });
  assert.throws(() => resolveDevice('cuda', none), /--device cuda: no usable GPU: no CUDA device found/);
  const auto = resolveDevice('auto', none);
  assert.equal(auto.device, 'cpu');
  assert.match(auto.note ?? '', /no CUDA device found/);
  const notCompiled = () => ({ compiled: false, usable: false, reason: 'this build has no CUDA support', runtimeVersion: 0, driverVersion: 0, devices: [] });
  assert.throws(() => resolveDevice('cuda', notCompiled), /this build has no CUDA support/);
  const gpu = () => ({ compiled: true, usable: true, reason: null, runtimeVersion: 13000, driverVersion: 13000,
    devices: [{ index: 0, name: 'NVIDIA H100', computeCapability: '9.0', totalMemory: 8e10, multiprocessors: 132 }] });
  assert.equal(resolveDevice('auto', gpu).device, 'cuda');
  assert.throws(() => resolveDevice('gpu' as never), /--device: expected one of auto, cpu, cuda/);
});

test('the addon reports CPU features and a CUDA answer with a reason', () => {
  const f = native().cpuFeatures();
  assert.ok(['avx512', 'avx2', 'generic'].includes(f.kernels));
  assert.ok(f.threads >= 1);
  const q = native().cudaQuery();
  assert.equal(typeof q.compiled, 'boolean');
  if (!q.usable) assert.ok(q.reason && q.reason.length > 10, 'a reason is given');
});

test('memory estimate is per device: CPU always, CUDA when compiled in (0 otherwise)', () => {
  const a = native();
  const c = toNative(DEFAULT_CONFIG);
  const cpu = a.trainerMemoryBytes(c, 8, 1024, 'cpu');
  assert.equal(cpu, a.trainerMemoryBytes(c, 8, 1024));
  assert.ok(cpu > 100 * 2 ** 20 && cpu < 4 * 2 ** 30, `cpu estimate ${cpu}`);
  assert.ok(a.trainerMemoryBytes(c, 16, 1024, 'cpu') > cpu, 'grows with the batch');
  const cuda = a.trainerMemoryBytes(c, 8, 1024, 'cuda');
  if (a.cudaQuery().compiled) assert.ok(cuda > 100 * 2 ** 20, `cuda estimate ${cuda}`);
  else assert.equal(cuda, 0);
  assert.throws(() => a.trainerMemoryBytes(c, 8, 1024, 'tpu' as never), /device must be 'cpu' or 'cuda'/);
});
