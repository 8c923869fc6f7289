import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Rng } from '../src/util/rng.ts';
import { CropSampler, checkCropFits, fixedCrops, openDataset } from '../src/train/data.ts';
import { writeDataset, tempDir } from './train-cli-helpers.ts';

test('Rng: deterministic, state save/restore is exact, below() is unbiased and in range', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const xa = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(
    xa,
    Array.from({ length: 100 }, () => b.nextU32()),
  );
  assert.notDeepEqual(
    xa,
    Array.from({ length: 100 }, () => c.nextU32()),
  );
  const s = a.getState();
  const after = Array.from({ length: 50 }, () => a.nextFloat());
  const r = Rng.fromState(s);
  assert.deepEqual(
    after,
    Array.from({ length: 50 }, () => r.nextFloat()),
  );
  // Streams from one seed differ.
  assert.notEqual(new Rng(1, 0).nextU32(), new Rng(1, 1).nextU32());
  // below(): range and rough uniformity (chi-square over 10 bins, 20000 draws; 99.9% quantile 27.9).
  const g = new Rng(7);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const v = g.below(10);
    assert.ok(v >= 0 && v < 10 && Number.isInteger(v));
    bins[v]++;
  }
  const chi = bins.reduce((acc, o) => acc + (o - 2000) ** 2 / 2000, 0);
  assert.ok(chi < 27.9, `chi-square ${chi}`);
  for (let i = 0; i < 1000; i++) {
    const big = g.below(2 ** 40 + 3);
    assert.ok(big >= 0 && big < 2 ** 40 + 3 && Number.isInteger(big));
  }
  const f = Array.from({ length: 1000 }, () => g.nextFloat());
  assert.ok(f.every((x) => x >= 0 && x < 1));
  assert.throws(() => r.setState('xyz'), /32 hex/);
  // Known answer of xoshiro128** from the state {1, 2, 3, 4}.
  const k = Rng.fromState('00000001000000020000000300000004');
  assert.deepEqual([k.nextU32(), k.nextU32(), k.nextU32()], [11520, 0, 5927040]);
});

test('sampler: crops stay inside one chunk, weighted by valid positions, deterministic from the seed, exact after restore', (t) => {
  const { dir, cleanup } = tempDir('wn-sampler-');
  t.after(cleanup);
  // Each chunk holds a constant class equal to its index + 1, so a crop crossing a boundary would show two values.
  const lens = [50, 1000, 12, 300, 20];
  writeDataset(
    dir,
    lens.map((n, i) => ({ split: i === 4 ? 'val' : 'train', data: new Uint8Array(n).fill(i + 1) })),
  );
  const ds = openDataset(dir);
  assert.equal(ds.train.length, 4);
  assert.equal(ds.val.length, 1);
  const cropLen = 20;
  const s1 = new CropSampler(ds.train, cropLen, 5);
  const counts = new Map<number, number>();
  let firstBatch: Uint8Array | undefined;
  for (let k = 0; k < 2000; k++) {
    const b = s1.nextBatch(4);
    firstBatch ??= b;
    for (let i = 0; i < 4; i++) {
      const crop = b.subarray(i * cropLen, (i + 1) * cropLen);
      assert.ok(
        crop.every((v) => v === crop[0]),
        'a crop crossed a chunk boundary',
      );
      counts.set(crop[0], (counts.get(crop[0]) ?? 0) + 1);
    }
  }
  // The 12-sample chunk can hold no crop; the others are weighted by (samples - cropLen + 1).
  assert.equal(counts.get(3), undefined);
  assert.equal(counts.get(5), undefined, 'validation chunks are never sampled for training');
  const w = { 1: 31, 2: 981, 4: 281 } as Record<number, number>;
  const totalW = 31 + 981 + 281;
  for (const cls of [1, 2, 4]) {
    const expected = (8000 * w[cls]) / totalW;
    const got = counts.get(cls) ?? 0;
    assert.ok(
      Math.abs(got - expected) < 5 * Math.sqrt(expected),
      `chunk ${cls}: ${got} crops, expected about ${expected.toFixed(0)}`,
    );
  }
  // Same seed, same crops; another seed, others.
  const s2 = new CropSampler(ds.train, cropLen, 5);
  assert.deepEqual(s2.nextBatch(4), firstBatch);
  const posA = Array.from({ length: 20 }, () => new CropSampler(ds.train, cropLen, 5).nextPosition());
  const s3 = new CropSampler(ds.train, cropLen, 6);
  const s4 = new CropSampler(ds.train, cropLen, 5);
  const p3 = Array.from({ length: 20 }, () => s3.nextPosition());
  const p4 = Array.from({ length: 20 }, () => s4.nextPosition());
  assert.notDeepEqual(p3, p4);
  assert.deepEqual(posA[0], p4[0]);
  // Restoring the state continues the exact same stream.
  const st = s4.getState();
  const next = Array.from({ length: 30 }, () => s4.nextPosition());
  const s5 = new CropSampler(ds.train, cropLen, 999);
  s5.setState(st);
  assert.deepEqual(
    Array.from({ length: 30 }, () => s5.nextPosition()),
    next,
  );
  assert.equal(s5.drawn, s4.drawn);
  s1.close();
  s2.close();
  s3.close();
  s4.close();
  s5.close();
});

test('sampler: crop contents are the exact bytes of the chunk file at the drawn position', (t) => {
  const { dir, cleanup } = tempDir('wn-sampler-');
  t.after(cleanup);
  const a = Uint8Array.from({ length: 500 }, (_, i) => i % 251);
  const b = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) % 256);
  writeDataset(dir, [
    { split: 'train', data: a },
    { split: 'train', data: b },
    { split: 'val', data: a.slice(0, 100) },
  ]);
  const ds = openDataset(dir);
  const s = new CropSampler(ds.train, 64, 1);
  const ref = new CropSampler(ds.train, 64, 1);
  for (let k = 0; k < 50; k++) {
    const pos = ref.nextPosition();
    const crop = s.nextBatch(1);
    const src = pos.file === ds.train[0].file ? a : b;
    assert.ok(pos.start >= 0 && pos.start + 64 <= src.length);
    assert.deepEqual(crop, src.subarray(pos.start, pos.start + 64));
  }
  s.close();
  ref.close();
});

test('validation crops: a fixed, evenly spread set; empty when nothing fits', (t) => {
  const { dir, cleanup } = tempDir('wn-sampler-');
  t.after(cleanup);
  writeDataset(dir, [
    { split: 'train', data: new Uint8Array(400).fill(1) },
    { split: 'val', data: Uint8Array.from({ length: 300 }, (_, i) => i % 256) },
    { split: 'val', data: new Uint8Array(40).fill(9) },
  ]);
  const ds = openDataset(dir);
  const v1 = fixedCrops(ds.val, 50, 10, 4);
  const v2 = fixedCrops(ds.val, 50, 10, 4);
  assert.equal(v1.batches.length, 3, '10 crops round up to 3 batches of 4');
  assert.deepEqual(v1.batches, v2.batches);
  assert.ok(
    v1.positions.every((p) => p.file === ds.val[0].file),
    'the 40-sample chunk holds no 50-sample crop',
  );
  const starts = v1.positions.map((p) => p.start);
  assert.deepEqual(
    starts,
    [...starts].sort((x, y) => x - y),
  );
  assert.ok(starts[0] < 20 && starts[starts.length - 1] > 230, `spread over the chunk: ${starts}`);
  assert.equal(fixedCrops(ds.val, 400, 10, 4).batches.length, 0);
});

test('dataset errors: missing folder, no manifest, empty, bad chunk size, crop does not fit (names a window that fits)', (t) => {
  const { dir, cleanup } = tempDir('wn-sampler-');
  t.after(cleanup);
  assert.throws(() => openDataset(join(dir, 'nope')), /--data .*nope: no such folder/);
  assert.throws(() => openDataset(dir), /no manifest\.json/);
  const empty = writeDataset(join(dir, 'empty'), []);
  assert.throws(() => openDataset(empty), /no chunks/);
  const onlyVal = writeDataset(join(dir, 'onlyval'), [{ split: 'val', data: new Uint8Array(100) }]);
  assert.throws(() => openDataset(onlyVal), /no training chunks/);
  const badSize = writeDataset(join(dir, 'badsize'), [{ split: 'train', data: new Uint8Array(100) }]);
  writeFileSync(join(badSize, 'chunks', '000000.mulaw'), new Uint8Array(90));
  assert.throws(() => openDataset(badSize), /000000\.mulaw: 90 bytes, but the manifest says 100 samples/);
  const ok = writeDataset(join(dir, 'ok'), [
    { split: 'train', data: new Uint8Array(1000) },
    { split: 'train', data: new Uint8Array(600) },
  ]);
  const ds = openDataset(ok);
  assert.throws(() => checkCropFits(ds, 100, 1024), /longest has 1000 samples.*--window 900/);
  assert.throws(() => checkCropFits(ds, 2000, 10), /shorter than the receptive field/);
  checkCropFits(ds, 100, 900);
});
