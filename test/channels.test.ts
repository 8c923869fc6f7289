/**
 * The channel count read from file headers (src/audio/channels.ts), which sets ingest's equal-weight
 * pan filter before the resampler, and the downmix it gives: for every container ffmpeg writes here and
 * 1 to 3 channels, the header count is right, and channels with different signals mix with weights 1/N.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { channelsFromHead, panFilter, probeChannels } from '../src/audio/channels.js';
import { AudioDecoder, layoutChannels } from '../src/audio/decode.js';
import { FFMPEG, genAudio, rmDir, tmpDir, toneAmplitude, type Container } from './helpers/audio.js';

const noFfmpeg = FFMPEG ? false : 'ffmpeg is not installed: cannot generate test audio';
let work: string;
before(() => {
  work = tmpDir();
});
after(() => rmDir(work));

test('header channel count for wav, flac, mp3 and ogg with 1, 2 and 3 channels', { skip: noFfmpeg }, async () => {
  const containers: Container[] = ['wav', 'flac', 'mp3', 'ogg'];
  for (const c of containers)
    for (const n of [1, 2, 3]) {
      if (c === 'mp3' && n > 2) continue; // MPEG audio holds at most two channels
      const p = join(work, `t${n}.${c}`);
      genAudio(p, {
        channels: Array.from({ length: n }, (_, i) => `0.3*sin(2*PI*${500 * (i + 1)}*t)`),
        rate: 44100,
        seconds: 0.5,
        container: c,
      });
      assert.equal(await probeChannels(p), n, `${c} with ${n} channels`);
    }
});

test('unknown or garbled headers give null (the caller then decodes every channel)', () => {
  assert.equal(channelsFromHead(Buffer.from('this is not audio at all, just text')), null);
  assert.equal(channelsFromHead(Buffer.alloc(3)), null);
  // a lone MPEG sync word without a second frame where the first one says it ends
  const fake = Buffer.alloc(4096);
  fake.set([0xff, 0xfb, 0x90, 0x44], 100);
  assert.equal(channelsFromHead(fake), null);
  assert.equal(layoutChannels('5.1(side)'), 6);
  assert.equal(layoutChannels('3 channels (FL+FR+LFE)'), 3);
  assert.equal(layoutChannels('weird'), null);
  assert.equal(panFilter(1), null);
  assert.equal(panFilter(2), 'pan=mono|c0=0.5*c0+0.5*c1');
  assert.match(panFilter(3)!, /^pan=mono\|c0=0\.333333333\*c0\+0\.333333333\*c1\+0\.333333333\*c2$/);
});

test('three channels with different tones mix with weight 1/3 each (pan before the resampler)', {
  skip: noFfmpeg,
}, async () => {
  const p = join(work, 'three.flac');
  genAudio(p, {
    channels: ['0.6*sin(2*PI*500*t)', '0.6*sin(2*PI*1500*t)', '0.6*sin(2*PI*2500*t)'],
    rate: 48000,
    seconds: 1,
    container: 'flac',
  });
  const blocks: Float32Array[] = [];
  const d = new AudioDecoder(p, { rate: 16000 });
  for await (const b of d) blocks.push(b);
  const x = new Float32Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) x.set(b, (o += b.length) - b.length);
  assert.equal(d.info?.channels, 3);
  for (const f of [500, 1500, 2500]) {
    const a = toneAmplitude(x.subarray(1600, x.length - 1600), f, 16000);
    assert.ok(Math.abs(a - 0.2) < 0.01, `${f} Hz: amplitude ${a.toFixed(4)}, expected 0.2`);
  }
});
