import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync, readFileSync, writeFileSync, readdirSync, mkdirSync, utimesSync, truncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { encodeSafetensors, readSafetensors, parseHeader } from '../src/train/safetensors.ts';
import {
  saveCheckpoint,
  loadCheckpoint,
  loadOptimizer,
  listCheckpoints,
  pruneCheckpoints,
  resolveModel,
  checkpointFileName,
  type SaveCheckpointInput,
} from '../src/train/checkpoint.ts';
import { paramCount, paramLayout, parseDilations, type ModelConfig } from '../src/model/config.ts';
import { initParams } from '../src/train/init.ts';
import { writeFileAtomic, isAtomicTemp } from '../src/util/atomic.ts';
import { tempDir, ROOT } from './train-cli-helpers.ts';

const CFG: ModelConfig = {
  dilations: parseDilations('1,2,4'),
  residual: 4,
  dilation: 3,
  skip: 5,
  head: 6,
  classes: 256,
};

function input(runDir: string, step: number, seed = 1): SaveCheckpointInput {
  const n = paramCount(CFG);
  const params = initParams(CFG, seed);
  const m = Float32Array.from({ length: n }, (_, i) => Math.sin(i + step));
  const v = Float32Array.from({ length: n }, (_, i) => (i % 7) * 1e-3);
  return {
    runDir,
    config: CFG,
    step,
    params,
    adam: { m, v, step },
    adamParams: { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    sampler: { rng: '0123456789abcdef0123456789abcdef', drawn: step * 2 },
    training: { window: 32, batch: 2, lr: 1e-3, seed },
    elapsedSeconds: 1.5,
    dataset: '/data/x',
    manifestHash: 'ab'.repeat(32),
  };
}

test('safetensors: round trip, 8-byte aligned header, contiguous offsets, string metadata', (t) => {
  const { dir, cleanup } = tempDir('wn-st-');
  t.after(cleanup);
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const b = Float32Array.from([-0.5, Infinity, 1e-30]);
  const bufs = encodeSafetensors(
    [
      { name: 'a', shape: [2, 3], data: a },
      { name: 'b.c', shape: [3], data: b },
    ],
    { k: 'v', n: '1' },
  );
  const file = Buffer.concat(bufs);
  const n = Number(file.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
  const h = JSON.parse(file.subarray(8, 8 + n).toString());
  assert.deepEqual(h.__metadata__, { k: 'v', n: '1' });
  assert.deepEqual(h.a, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
  assert.deepEqual(h['b.c'], { dtype: 'F32', shape: [3], data_offsets: [24, 36] });
  assert.equal(file.length, 8 + n + 36);
  const p = join(dir, 'x.safetensors');
  writeFileSync(p, file);
  return readSafetensors(p).then((r) => {
    assert.deepEqual(r.tensors.get('a')!.data, a);
    assert.deepEqual(r.tensors.get('b.c')!.data, b);
    assert.deepEqual(r.tensors.get('a')!.shape, [2, 3]);
    assert.deepEqual(r.header.metadata, { k: 'v', n: '1' });
    // Structural errors.
    assert.throws(() => parseHeader(file.subarray(0, 20), 20, 'f'), /truncated/);
    assert.throws(() => parseHeader(file, file.length - 4, 'f'), /truncated/);
    const bad = Buffer.from(file);
    bad.write('X', 8);
    assert.throws(() => parseHeader(bad, bad.length, 'f'), /not JSON/);
    assert.throws(() => parseHeader(Buffer.from('hello world, not a tensor file'), 30, 'f'), /not a valid safetensors/);
  });
});

const PY_CHECK = `
import json, struct, sys
import numpy as np
# The checks of the reference safetensors reader (safetensors/src/tensor.rs, SafeTensors::read_metadata / validate).
buf = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', buf[:8])[0]
assert n <= 100_000_000, 'header too large'
header_bytes = buf[8:8 + n]
assert header_bytes[:1] == b'{', 'header must start with {'
header = json.loads(header_bytes.decode('utf-8'))
meta = header.pop('__metadata__', {})
assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), 'metadata must be str -> str'
sizes = {'F32': 4, 'F16': 2, 'BF16': 2, 'F64': 8, 'I64': 8, 'I32': 4, 'U8': 1}
entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'])
start = 0
out = {}
data = buf[8 + n:]
for name, info in entries:
    b, e = info['data_offsets']
    assert b == start, f'{name}: not contiguous'
    count = 1
    for d in info['shape']:
        count *= d
    assert e - b == count * sizes[info['dtype']], f'{name}: size mismatch'
    arr = np.frombuffer(data[b:e], dtype='<f4').reshape(info['shape'])
    out[name] = {'shape': list(arr.shape), 'sum': float(arr.astype(np.float64).sum()), 'first': float(arr.reshape(-1)[0]) if count else None}
    start = e
assert start == len(data), 'trailing bytes or missing data'
print(json.dumps({'metadata': meta, 'tensors': out}))
`;

const hasPython = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

test('checkpoint files pass the checks of the reference safetensors reader (python3 + numpy)', {
  skip: hasPython ? false : 'python3 with numpy is not installed',
}, async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  const s = input(dir, 7);
  const path = await saveCheckpoint(s);
  for (const f of [path, path.replace('.safetensors', '.optim.safetensors')]) {
    const r = spawnSync('python3', ['-c', PY_CHECK, f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as {
      metadata: Record<string, string>;
      tensors: Record<string, { shape: number[]; sum: number; first: number }>;
    };
    if (f === path) {
      assert.equal(got.metadata.format, 'wavenet-checkpoint');
      assert.equal(got.metadata.step, '7');
      assert.deepEqual(JSON.parse(got.metadata.config), CFG);
      for (const spec of paramLayout(CFG)) {
        const e = got.tensors[spec.name];
        assert.ok(e, `python sees ${spec.name}`);
        assert.deepEqual(e.shape, spec.shape);
        let sum = 0;
        for (let i = 0; i < spec.size; i++) sum += s.params[spec.offset + i];
        assert.ok(
          Math.abs(e.sum - sum) <= 1e-9 * Math.max(1, Math.abs(sum)) + 1e-9,
          `${spec.name} sum ${e.sum} vs ${sum}`,
        );
      }
    } else {
      assert.equal(got.metadata.format, 'wavenet-optimizer');
      assert.deepEqual(got.tensors['adam.m'].shape, [paramCount(CFG)]);
    }
  }
});

test('checkpoint: save/load round trip is bitwise; optimizer state restored; pairing checked', async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  const s = input(dir, 12);
  const path = await saveCheckpoint(s);
  assert.equal(path, join(dir, 'checkpoints', 'step-00000012.safetensors'));
  const ck = await loadCheckpoint(path);
  assert.equal(ck.step, 12);
  assert.deepEqual(ck.config, CFG);
  assert.deepEqual(Buffer.from(ck.params.buffer), Buffer.from(s.params.buffer));
  assert.equal(ck.metadata.dataset, '/data/x');
  assert.equal(ck.metadata.dataset_manifest_hash, 'ab'.repeat(32));
  const o = await loadOptimizer(path, ck);
  assert.deepEqual(Buffer.from(o.adam.m.buffer), Buffer.from(s.adam.m.buffer));
  assert.deepEqual(Buffer.from(o.adam.v.buffer), Buffer.from(s.adam.v.buffer));
  assert.equal(o.adam.step, 12);
  assert.deepEqual(o.sampler, s.sampler);
  assert.deepEqual(o.training, s.training);
  assert.equal(o.elapsedSeconds, 1.5);
  // An optimizer file from another checkpoint is refused.
  const other = await saveCheckpoint(input(dir, 13, 2));
  writeFileSync(
    path.replace('.safetensors', '.optim.safetensors'),
    readFileSync(other.replace('.safetensors', '.optim.safetensors')),
  );
  await assert.rejects(loadOptimizer(path, ck), /does not belong to step-00000012/);
});

test('checkpoint: clear errors for missing, truncated, corrupt, foreign and optimizer files', async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  const path = await saveCheckpoint(input(dir, 3));
  await assert.rejects(loadCheckpoint(join(dir, 'nope.safetensors')), /nope\.safetensors: no such checkpoint file/);
  const full = readFileSync(path);
  const trunc = join(dir, 'trunc.safetensors');
  writeFileSync(trunc, full.subarray(0, full.length - 100));
  await assert.rejects(loadCheckpoint(trunc), /trunc\.safetensors: truncated \(\d+ bytes, its header needs \d+\)/);
  writeFileSync(trunc, full.subarray(0, 5));
  await assert.rejects(loadCheckpoint(trunc), /not a valid safetensors file/);
  const corrupt = join(dir, 'corrupt.safetensors');
  const c = Buffer.from(full);
  c[c.length - 3] ^= 0x55;
  writeFileSync(corrupt, c);
  await assert.rejects(loadCheckpoint(corrupt), /corrupt \(the weights do not match the checksum/);
  const foreign = join(dir, 'foreign.safetensors');
  writeFileSync(
    foreign,
    Buffer.concat(encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array(2) }], { format: 'pt' })),
  );
  await assert.rejects(loadCheckpoint(foreign), /not a wavenet checkpoint/);
  await assert.rejects(
    loadCheckpoint(path.replace('.safetensors', '.optim.safetensors')),
    /is the optimizer state of a checkpoint; pass the weights file step-00000003\.safetensors/,
  );
  const text = join(dir, 'text.safetensors');
  writeFileSync(text, 'this is not a checkpoint at all');
  await assert.rejects(loadCheckpoint(text), /not a valid safetensors file/);
  // Weights whose shapes do not match their own config.
  const wrong = join(dir, 'wrong.safetensors');
  const meta = {
    format: 'wavenet-checkpoint',
    format_version: '1',
    step: '1',
    config: JSON.stringify({ ...CFG, residual: 5 }),
  };
  writeFileSync(
    wrong,
    Buffer.concat(
      encodeSafetensors(
        paramLayout(CFG).map((s) => ({ name: s.name, shape: s.shape, data: new Float32Array(s.size) })),
        meta,
      ),
    ),
  );
  await assert.rejects(
    loadCheckpoint(wrong),
    /wrong\.safetensors: tensor input\.embed has shape \[2,256,4\], its config needs \[2,256,5\]/,
  );
});

test('checkpoints: keep-last-K pruning, orphan optimizer files and temporaries; newest complete one is found', async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  for (const step of [5, 10, 15, 20]) await saveCheckpoint(input(dir, step));
  const cdir = join(dir, 'checkpoints');
  // An interrupted write: optimizer file of step 25 without weights, and a temporary.
  writeFileSync(join(cdir, 'step-00000025.optim.safetensors'), 'x');
  writeFileSync(join(cdir, '.step-00000025.safetensors.tmp-123-deadbeef'), 'x');
  assert.ok(isAtomicTemp('.step-00000025.safetensors.tmp-123-deadbeef'));
  assert.deepEqual(
    listCheckpoints(dir).map((c) => c.step),
    [5, 10, 15, 20],
    'only committed (weights present) checkpoints count',
  );
  pruneCheckpoints(dir, 2);
  const left = readdirSync(cdir).sort();
  assert.deepEqual(
    left.filter((n) => !n.startsWith('.')),
    [
      'step-00000015.optim.safetensors',
      'step-00000015.safetensors',
      'step-00000020.optim.safetensors',
      'step-00000020.safetensors',
      'step-00000025.optim.safetensors', // newer than the newest checkpoint: may still be being written
    ],
  );
  assert.equal(resolveModel(dir), join(dir, 'checkpoints', checkpointFileName(20)));
});

test('resolveModel: newest run under ./runs by checkpoint time; folders, files and clear errors', async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  const runs = join(dir, 'runs');
  assert.throws(() => resolveModel(undefined, runs), /no runs found under \.\/.*runs; train one with `wavenet train`/);
  mkdirSync(join(runs, 'empty'), { recursive: true });
  assert.throws(() => resolveModel(undefined, runs), /no checkpoints found/);
  const a = await saveCheckpoint(input(join(runs, 'a'), 100));
  const b = await saveCheckpoint(input(join(runs, 'b'), 5));
  const old = new Date(Date.now() - 60_000);
  utimesSync(a, old, old);
  assert.equal(resolveModel(undefined, runs), b);
  utimesSync(b, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
  assert.equal(resolveModel(undefined, runs), a);
  assert.equal(resolveModel(join(runs, 'b')), b);
  assert.equal(resolveModel(join(runs, 'b', 'checkpoints')), b);
  assert.equal(resolveModel(a), a);
  assert.throws(() => resolveModel(join(runs, 'empty')), /no checkpoints in this folder yet/);
  assert.throws(() => resolveModel(join(runs, 'zzz')), /--model .*zzz: no such file or folder/);
  assert.throws(
    () => resolveModel(a.replace('.safetensors', '.optim.safetensors')),
    /is the optimizer state; pass .*step-00000100\.safetensors/,
  );
  writeFileSync(join(dir, 'x.wav'), 'x');
  assert.throws(() => resolveModel(join(dir, 'x.wav')), /expected a run folder or a \.safetensors checkpoint/);
});

test('writeFileAtomic: a process killed mid-write leaves the old file intact and only a temporary beside it', async (t) => {
  const { dir, cleanup } = tempDir('wn-atomic-');
  t.after(cleanup);
  const target = join(dir, 'f.bin');
  await writeFileAtomic(target, 'old contents');
  assert.equal(readFileSync(target, 'utf8'), 'old contents');
  const script = `
    import { writeFileAtomic } from ${JSON.stringify(join(ROOT, 'src/util/atomic.ts'))};
    await writeFileAtomic(${JSON.stringify(target)}, [Buffer.alloc(1 << 20, 1), Buffer.alloc(1 << 20, 2)], {
      onPartial: () => process.kill(process.pid, 'SIGKILL'),
    });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.equal(readFileSync(target, 'utf8'), 'old contents');
  const temps = readdirSync(dir).filter(isAtomicTemp);
  assert.equal(temps.length, 1);
  assert.ok(readFileSync(join(dir, temps[0])).length >= 1 << 20, 'the temporary holds the partial write');
  // A normal write replaces it completely.
  await writeFileAtomic(target, [Buffer.from('new '), Buffer.from('contents')]);
  assert.equal(readFileSync(target, 'utf8'), 'new contents');
  assert.ok(existsSync(target));
  truncateSync(join(dir, temps[0]));
});

test('the numpy forward pass in docs/checkpoints.md, reading a checkpoint file, gives the native reference logits', {
  skip: hasPython ? false : 'python3 with numpy is not installed',
}, async (t) => {
  const { dir, cleanup } = tempDir('wn-ck-');
  t.after(cleanup);
  const { native } = await import('../src/native.ts');
  const { toNative } = await import('../src/model/config.ts');
  const cfg: ModelConfig = { dilations: [1, 2, 4, 8, 1, 2], residual: 5, dilation: 3, skip: 7, head: 6, classes: 256 };
  const s = input(dir, 1);
  s.config = cfg;
  s.params = initParams(cfg, 11);
  // Non-zero biases so that every term is exercised.
  for (const spec of paramLayout(cfg))
    if (spec.name.endsWith('.bias'))
      for (let i = 0; i < spec.size; i++) s.params[spec.offset + i] = 0.05 * Math.sin(i + spec.offset);
  const n = paramCount(cfg);
  s.adam = { m: new Float32Array(n), v: new Float32Array(n), step: 1 };
  const path = await saveCheckpoint(s);
  const classes = Uint8Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 256);
  const ref = native().referenceLogits(toNative(cfg), s.params, classes);
  const doc = readFileSync(join(ROOT, 'docs', 'checkpoints.md'), 'utf8');
  const code = /```python\n(import numpy as np\ndef logits[\s\S]*?)```/.exec(doc);
  assert.ok(code, 'docs/checkpoints.md has the numpy forward');
  const script = `
import json, struct, sys
import numpy as np
buf = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', buf[:8])[0]
header = json.loads(buf[8:8 + n])
meta = header.pop('__metadata__')
w = {k: np.frombuffer(buf[8 + n + v['data_offsets'][0]: 8 + n + v['data_offsets'][1]], dtype='<f4').reshape(v['shape']).astype(np.float64) for k, v in header.items()}
config = json.loads(meta['config'])
${code![1]}
c = np.array(json.loads(sys.argv[2]), dtype=np.int64)
print(json.dumps(logits(w, config, c).reshape(-1).tolist()))
`;
  const r = spawnSync('python3', ['-c', script, path, JSON.stringify([...classes])], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as number[];
  assert.equal(got.length, ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]) / (1e-3 + Math.abs(ref[i])));
  t.diagnostic(`worst relative difference ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-4, `worst relative difference ${worst}`);
});
