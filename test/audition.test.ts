// Auditioned openings (src/synth/audition.ts) on made-up audio: noise is refused, a tone is kept,
// and when every opening is noise the least noisy is kept and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { audition, candidateSeed, judgeOpening, type Candidate } from '../src/synth/audition.js';
import { Rng } from '../src/util/rng.js';

const RATE = 16000;

function noise(seconds: number, seed: number, gain = 0.3): Float32Array {
  const r = new Rng(seed, 1);
  const x = new Float32Array(Math.round(seconds * RATE));
  for (let i = 0; i < x.length; i++) x[i] = gain * (r.nextU32() / 2 ** 32 - 0.5);
  return x;
}

function tone(seconds: number, hz: number, seed: number, gain = 1): Float32Array {
  const x = noise(seconds, seed, 0.002 * gain); // a tone in a faint noise floor, as a drone is
  for (let i = 0; i < x.length; i++)
    x[i] += gain * (0.3 * Math.sin((2 * Math.PI * hz * i) / RATE) + 0.1 * Math.sin((2 * Math.PI * 3 * hz * i) / RATE));
  return x;
}

/** Noise that turns into a tone after `at` seconds. */
function noiseThenTone(seconds: number, at: number, seed: number): Float32Array {
  const x = tone(seconds, 220, seed);
  x.set(noise(at, seed + 1));
  return x;
}

interface Fake extends Candidate {
  i: number;
}

async function run(openings: Float32Array[], count = openings.length) {
  const opened: number[] = [];
  const dropped: number[] = [];
  const r = await audition<Fake>(
    count,
    async (i) => {
      opened.push(i);
      return i < openings.length ? { i, opening: openings[i] } : null;
    },
    (c) => dropped.push(c.i),
  );
  return { ...r, opened, dropped };
}

test('judgeOpening: broadband noise is noisy in every block, a tone in none', () => {
  const n = judgeOpening(noise(2, 1));
  assert.equal(n.blocks.length, 4);
  assert.equal(n.noiseBlocks, 4);
  assert.ok(n.noisy && n.meanFlatness > 0.9, `noise flatness ${n.meanFlatness}`);
  const t = judgeOpening(tone(2, 220, 2));
  assert.equal(t.noiseBlocks, 0);
  assert.ok(!t.noisy && t.meanFlatness < 0.5, `tone flatness ${t.meanFlatness}`);
  // one noisy block is enough to refuse an opening
  const m = judgeOpening(noiseThenTone(2, 0.5, 3));
  assert.deepEqual(
    m.blocks.map((v) => v >= 0.85),
    [true, false, false, false],
  );
  assert.ok(m.noisy);
  // too short for a whole block: nothing to judge, not noisy
  assert.equal(judgeOpening(noise(0.3, 4)).refused, false);
  // a drone at -73 dBFS is tonal but near silence; a DC offset does not make it loud
  const q = tone(2, 220, 5, 0.001);
  for (let i = 0; i < q.length; i++) q[i] += 0.2;
  const qv = judgeOpening(q);
  assert.ok(!qv.noisy && qv.quiet && qv.refused, `quiet: ${qv.rmsDbfs} dBFS`);
  assert.ok(Math.abs(qv.rmsDbfs - -73) < 1, `${qv.rmsDbfs}`); // 0.0003 and 0.0001 sines: RMS 0.00022
  // the bundled model's quiet drone (about -47 dBFS) is not near silence
  assert.equal(judgeOpening(tone(2, 220, 6, 0.02)).quiet, false);
  assert.equal(t.quiet, false);
});

test('audition keeps the first opening that is not noise, drops the ones before, opens no more', async () => {
  const r = await run([noise(2, 10), noiseThenTone(2, 1, 11), tone(2, 330, 12), tone(2, 440, 13)], 8);
  assert.equal(r.index, 2);
  assert.equal(r.kept?.i, 2);
  assert.equal(r.allNoisy, false);
  assert.deepEqual(r.opened, [0, 1, 2], 'stops at the first clean opening');
  assert.deepEqual(r.dropped.sort(), [0, 1], 'every candidate not kept is dropped');
  assert.deepEqual(
    r.verdicts.map((v) => v.noisy),
    [true, true, false],
  );
  // a clean first opening is kept as it is
  const first = await run([tone(2, 220, 14), noise(2, 15)], 8);
  assert.equal(first.index, 0);
  assert.deepEqual(first.opened, [0]);
  assert.deepEqual(first.dropped, []);
  // near silence is refused too, and a loud tone after it kept
  const quiet = await run([tone(2, 220, 16, 0.001), noise(2, 17), tone(2, 220, 18)], 8);
  assert.equal(quiet.index, 2);
  assert.deepEqual(
    quiet.verdicts.map((v) => [v.noisy, v.quiet]),
    [
      [false, true],
      [true, false],
      [false, false],
    ],
  );
});

test('when every opening is noise, the least noisy is kept and allNoisy says so', async () => {
  // candidate 1 has 2 noise blocks of 4, the others 4 of 4
  const r = await run([noise(2, 20), noiseThenTone(2, 1, 21), noise(2, 22), noise(2, 23)], 4);
  assert.equal(r.allNoisy, true);
  assert.equal(r.allRefused, true);
  assert.equal(r.index, 1);
  assert.equal(r.kept?.i, 1);
  assert.deepEqual(r.opened, [0, 1, 2, 3], 'bounded: exactly `count` candidates');
  assert.deepEqual(r.dropped.sort(), [0, 2, 3]);
  assert.deepEqual(
    r.verdicts.map((v) => v.noiseBlocks),
    [4, 2, 4, 4],
  );
  // noise and near silence only: the quiet tone (no noise block) is the least noisy; not all noise
  const m = await run([noise(2, 24), tone(2, 220, 25, 0.001), noise(2, 26)], 3);
  assert.deepEqual([m.index, m.allRefused, m.allNoisy], [1, true, false]);
});

test('count 0 or 1 opens only the take itself; a stop keeps the best so far', async () => {
  for (const count of [0, 1]) {
    const r = await run([noise(2, 30), tone(2, 220, 31)], count);
    assert.deepEqual(r.opened, [0]);
    assert.equal(r.index, 0);
    assert.equal(r.allNoisy, true);
    assert.equal(r.allRefused, true);
  }
  // open() returns null (Ctrl-C) at candidate 2: the less noisy of 0 and 1 is kept
  const s = await run([noise(2, 32), noiseThenTone(2, 1.5, 33)], 8);
  assert.deepEqual(s.opened, [0, 1, 2]);
  assert.equal(s.index, 1);
  const none = await run([], 8);
  assert.equal(none.kept, null);
  assert.equal(none.allNoisy, false);
  assert.equal(none.allRefused, false);
});

test("candidate seeds: 0 is the take's seed, the others are fixed, distinct, below 2^53 and not the neighbours' seeds", () => {
  assert.equal(candidateSeed(7n, 0), 7n);
  assert.equal(candidateSeed(7n, 1), candidateSeed(7n, 1));
  const all = new Set<bigint>();
  for (let s = 1n; s <= 10n; s++) {
    for (let i = 0; i < 8; i++) {
      const c = candidateSeed(s, i);
      assert.ok(c >= 0n && c < 2n ** 53n);
      all.add(c);
    }
  }
  assert.equal(all.size, 80, 'no two takes of seeds 1..10 share a candidate');
  assert.ok(candidateSeed(2n ** 64n - 1n, 3) < 2n ** 53n);
});
