import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native.js';
import {
  CONFIG_LIMITS,
  DEFAULT_CONFIG,
  checkConfig,
  parseDilations,
  formatDilations,
  paramLayout,
  paramCount,
  receptiveField,
  toNative,
} from '../src/model/config.js';
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
    assert.throws(
      () => parseDilations(bad),
      (e: Error) => e instanceof UserError && e.message.includes('--dilations'),
      bad,
    );
  }
});

test('TypeScript parameter layout matches the native layout', () => {
  for (const c of [
    DEFAULT_CONFIG,
    { ...DEFAULT_CONFIG, dilations: [1, 2, 4, 1, 2], residual: 3, dilation: 5, skip: 7, head: 11 },
  ]) {
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

test('the limits are checked in TypeScript: every config at their edges passes the C API guard, which only refuses misuse beyond them', () => {
  const L = CONFIG_LIMITS;
  const c = (o: Partial<typeof DEFAULT_CONFIG>) => ({
    ...DEFAULT_CONFIG,
    dilations: [1, 2],
    residual: 4,
    dilation: 4,
    skip: 4,
    head: 4,
    ...o,
  });
  // the edges of each limit, as checkConfig accepts them; the addon accepts each of them too
  const edges = [
    c({ dilations: [L.maxDilation] }),
    c({ dilations: new Array(L.maxLayers).fill(1) }),
    c({ dilations: [L.maxDilation, L.maxDilation, L.maxDilation, L.maxReceptiveField - 2 - 3 * L.maxDilation] }),
    c({ residual: L.maxChannels, dilation: L.maxChannels, skip: L.maxChannels, head: L.maxChannels }),
  ];
  for (const e of edges) {
    assert.deepEqual(checkConfig(e), e);
    assert.equal(native().layout(toNative(e)).total, paramCount(e));
  }
  // one past an edge: TypeScript refuses it in one line naming the flag, the addon still takes it
  // (its guard is against overflow and nonsense, not the product's limits)
  const past = [
    [c({ dilations: [L.maxDilation + 1] }), /--dilations/],
    [c({ residual: L.maxChannels + 1 }), /--residual-channels/],
    [c({ head: L.maxChannels + 1 }), /--head-channels/],
  ] as const;
  for (const [p, flag] of past) {
    assert.throws(
      () => checkConfig(p),
      (e: Error) => e instanceof UserError && flag.test(e.message) && !e.message.includes('\n'),
    );
    assert.equal(native().layout(toNative(p)).total, paramCount(p));
  }
  // misuse of the C API: refused there too
  assert.throws(() => native().layout(toNative(c({ dilations: [2 ** 20 + 1] }))), /dilation of layer 0/);
  assert.throws(() => native().layout(toNative(c({ residual: 8193 }))), /residual channels/);
  assert.throws(() => native().layout(toNative(c({ dilations: [0] }))), /dilation of layer 0/);
});

test('device resolution: cpu always works, cuda without a GPU is a clear error, auto falls back', () => {
  assert.equal(resolveDevice('cpu').device, 'cpu');
  const none = () => ({
    compiled: true,
    usable: false,
    reason: 'no CUDA device found',
    runtimeVersion: 13000,
    driverVersion: 0,
    devices: [],
  });
  assert.throws(() => resolveDevice('cuda', none), /--device cuda: no usable GPU: no CUDA device found/);
  const auto = resolveDevice('auto', none);
  assert.equal(auto.device, 'cpu');
  assert.match(auto.note ?? '', /no CUDA device found/);
  const notCompiled = () => ({
    compiled: false,
    usable: false,
    reason: 'this build has no CUDA support',
    runtimeVersion: 0,
    driverVersion: 0,
    devices: [],
  });
  assert.throws(() => resolveDevice('cuda', notCompiled), /this build has no CUDA support/);
  const gpu = () => ({
    compiled: true,
    usable: true,
    reason: null,
    runtimeVersion: 13000,
    driverVersion: 13000,
    devices: [{ index: 0, name: 'NVIDIA H100', computeCapability: '9.0', totalMemory: 8e10, multiprocessors: 132 }],
  });
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
