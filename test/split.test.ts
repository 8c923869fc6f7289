/** The train/validation split (src/dataset/split.ts): close to the fraction, by source or by chunk, deterministic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { emptyManifest, type Manifest } from '../src/dataset/manifest.ts';
import { assignSplits, validationSources } from '../src/dataset/split.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A manifest with sources of the given lengths in chunks of `chunk` samples (the last may be shorter). */
function manifest(lengths: number[], val: number, chunk = 16000): Manifest {
  const m = emptyManifest({ sampleRate: 16000, mu: 255, chunkSamples: chunk, valFraction: val, trimSilenceDb: null });
  lengths.forEach((len, i) => {
    m.sources.push({
      path: `/audio/s${i}.wav`,
      sha256: sha(`source ${i}`),
      durationSeconds: len / 16000,
      sampleRate: 16000,
      channels: 1,
      codec: 'pcm_s16le',
    });
    for (let off = 0; off < len; off += chunk) {
      m.chunks.push({
        file: `${i}-${off}.mulaw`,
        source: i,
        offset: off,
        samples: Math.min(chunk, len - off),
        split: 'train',
      });
    }
  });
  return m;
}

const valShare = (m: Manifest) =>
  m.chunks.reduce((a, c) => a + (c.split === 'val' ? c.samples : 0), 0) / m.chunks.reduce((a, c) => a + c.samples, 0);

test('ten similar sources, --val 0.1: one whole source held out', () => {
  const m = manifest(
    Array.from({ length: 10 }, () => 48000),
    0.1,
  );
  assert.equal(assignSplits(m, 0), 'source');
  assert.equal(valShare(m), 0.1);
  const vs = validationSources(m);
  assert.equal(vs.length, 1);
  assert.equal(vs[0].valChunks, vs[0].chunks);
});

test("the issue's case: 9 chunks from two recordings, --val 0.1 -> one chunk (about 11 %), not two", () => {
  const m = manifest([5 * 16000, 4 * 16000], 0.1);
  assert.equal(assignSplits(m, 0), 'chunk');
  assert.equal(m.chunks.filter((c) => c.split === 'val').length, 1);
  assert.ok(Math.abs(valShare(m) - 1 / 9) < 1e-12);
});

test('sources of very different lengths fall back to chunks; the share stays within one chunk of the target', () => {
  const m = manifest([100 * 16000, 7 * 16000, 3 * 16000], 0.2);
  assert.equal(assignSplits(m, 0), 'chunk');
  assert.ok(Math.abs(valShare(m) - 0.2) <= 0.5 / 110, `share ${valShare(m)}`);
});

test('deterministic and independent of the order of the sources', () => {
  const a = manifest([48000, 64000, 32000, 48000, 80000, 48000, 48000, 16000], 0.15);
  const b = manifest([48000, 64000, 32000, 48000, 80000, 48000, 48000, 16000], 0.15);
  // b lists its sources in reverse order
  const order = b.sources.map((_, i) => b.sources.length - 1 - i);
  const sources = order.map((i) => b.sources[i]);
  const chunks = order.flatMap((i, k) => b.chunks.filter((c) => c.source === i).map((c) => ({ ...c, source: k })));
  b.sources = sources;
  b.chunks = chunks;
  assignSplits(a, 0);
  assignSplits(b, 0);
  const key = (m: Manifest) => m.chunks.map((c) => `${m.sources[c.source].sha256}:${c.offset}:${c.split}`).sort();
  assert.deepEqual(key(a), key(b));
});

test('appending: old chunks keep their split; new ones fill the share up to the target', () => {
  const m = manifest([10 * 16000], 0.1);
  assignSplits(m, 0);
  const before = m.chunks.map((c) => c.split);
  const more = manifest([10 * 16000, 10 * 16000], 0.1);
  more.chunks.slice(0, 10).forEach((c, i) => {
    c.split = before[i];
  });
  assignSplits(more, 10);
  assert.deepEqual(
    more.chunks.slice(0, 10).map((c) => c.split),
    before,
  );
  assert.equal(more.chunks.filter((c) => c.split === 'val').length, 2);
  // --val 0: nothing new in validation
  const none = manifest([10 * 16000], 0);
  assert.equal(assignSplits(none, 0), 'none');
  assert.ok(none.chunks.every((c) => c.split === 'train'));
});
