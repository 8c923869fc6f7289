// The Synthesizer class (src/synth/synthesizer.ts): batches of streams with their own seeds,
// temperatures and primes, usable without the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Synthesizer, parseSeed, primeFromAudio } from '../src/synth/synthesizer.js';
import { parseDilations, paramLayout, type ModelConfig } from '../src/model/config.js';
import { native } from '../src/native.js';

const config: ModelConfig = {
  dilations: parseDilations('6x2'),
  residual: 32,
  dilation: 32,
  skip: 64,
  head: 64,
  classes: 256,
};

function params(seed: number): Float32Array {
  const layout = paramLayout(config);
  const p = new Float32Array(layout[layout.length - 1].offset + layout[layout.length - 1].size);
  let s = seed >>> 0;
  for (const t of layout) {
    const scale = t.name === 'input.embed' ? 1 : t.shape.length === 2 ? Math.sqrt(3 / t.shape[1]) : 0.1;
    for (let i = 0; i < t.size; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      p[t.offset + i] = ((s / 4294967296) * 2 - 1) * scale;
    }
  }
  return p;
}

test('a batch of streams equals the same streams run one by one (own seed, temperature, prime)', async () => {
  const p = params(2);
  const prime = new Uint8Array(500).map((_, i) => 128 + Math.round(60 * Math.sin(i / 9)));
  const streams = [
    { seed: 1n, temperature: 1, prime },
    { seed: 2n, temperature: 0.6, prime },
    { seed: 3n, temperature: 0, prime },
  ];
  const batch = new Synthesizer({ config, params: p, device: 'cpu', streams });
  await batch.start();
  const a = await batch.generate(300);
  const b = await batch.generate(200);
  batch.free();
  for (let i = 0; i < streams.length; i++) {
    const one = new Synthesizer({ config, params: p, device: 'cpu', streams: [streams[i]] });
    const r = await one.generate(500); // generate() starts (and primes) on first use
    one.free();
    assert.deepEqual(r.classes[0], Uint8Array.from([...a.classes[i], ...b.classes[i]]), `stream ${i}`);
    assert.equal(r.audio[0].length, 500);
    assert.deepEqual(r.audio[0], native().mulawDecode(r.classes[0]));
  }
});

test('priming in blocks (overlapping by one class) equals priming in one call', async () => {
  const p = params(4);
  const prime = new Uint8Array(1000).map((_, i) => (i * 13) % 256);
  const run = async (primeBlock: number) => {
    const s = new Synthesizer({
      config,
      params: p,
      device: 'cpu',
      streams: [{ seed: 9n, temperature: 1, prime }],
      primeBlock,
    });
    assert.equal(await s.start(), true);
    const r = await s.generate(400);
    s.free();
    return r.classes[0];
  };
  const whole = await run(1_000_000);
  assert.deepEqual(await run(7), whole);
  assert.deepEqual(await run(999), whole);
  assert.deepEqual(await run(1), whole);
});

test('start() honours stop() between prime blocks', async () => {
  const s = new Synthesizer({
    config,
    params: params(5),
    device: 'cpu',
    streams: [{ seed: 1n, temperature: 1, prime: new Uint8Array(100).fill(100) }],
    primeBlock: 10,
  });
  let calls = 0;
  assert.equal(await s.start({ stop: () => ++calls >= 2 }), false);
  assert.equal(calls, 2);
  s.free();
});

test('seeds and primes: parseSeed and primeFromAudio', () => {
  assert.equal(parseSeed('42'), 42n);
  assert.equal(parseSeed('0xff'), 255n);
  assert.equal(parseSeed('18446744073709551615'), 2n ** 64n - 1n);
  assert.throws(() => parseSeed('18446744073709551616'), /at most/);
  assert.throws(() => parseSeed('-1'), /--seed '-1'/);
  const x = new Float32Array(48000).map((_, i) => Math.sin(i / 10) * 0.5);
  const c = primeFromAudio(x, 1);
  assert.equal(c.length, 16000);
  assert.deepEqual(c, native().mulawEncode(x.subarray(32000)));
  assert.equal(primeFromAudio(x.subarray(0, 100), 1).length, 100);
  assert.throws(
    () => new Synthesizer({ config, params: params(1), device: 'cpu', streams: [{ seed: 1n, temperature: -1 }] }),
    /temperature -1/,
  );
});
