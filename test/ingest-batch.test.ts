/**
 * Several files per ffmpeg process (src/audio/decode-batch.ts) give exactly the dataset that one
 * process per file gives: the same chunk bytes, sources, rejections and reasons, with a corrupt file
 * in a batch (the batch is then decoded file by file), a format whose channel count the header reader
 * does not know (m4a), three channels, a duplicate and a multi-chunk source.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest } from '../src/dataset/ingest.js';
import { readManifest } from '../src/dataset/manifest.js';
import { ffmpegStarts } from '../src/audio/ffmpeg.js';
import { FFMPEG, genAudio, rmDir, tmpDir } from './helpers/audio.js';
import { lavfi } from './helpers/lavfi.js';

const noFfmpeg = FFMPEG ? false : 'ffmpeg is not installed: cannot generate test audio';
let work: string;
before(() => {
  work = tmpDir();
});
after(() => rmDir(work));

async function ingestCounting(dir: string, out: string, batch: boolean) {
  const n0 = ffmpegStarts();
  const r = await ingest({ inputs: [dir], out, jobs: 2, batch, onMessage: () => undefined });
  return { r, starts: ffmpegStarts() - n0 };
}

function chunkBytes(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of readdirSync(join(out, 'chunks')).sort())
    m.set(f, readFileSync(join(out, 'chunks', f)).toString('base64'));
  return m;
}

test('batched decoding gives byte-identical datasets to one ffmpeg per file, bad files included', {
  skip: noFfmpeg,
}, async () => {
  const dir = join(work, 'mix');
  mkdirSync(dir);
  genAudio(join(dir, 'a.mp3'), {
    channels: ['0.5*sin(2*PI*440*t)', '0.3*sin(2*PI*660*t)'],
    rate: 44100,
    seconds: 2,
    container: 'mp3',
  });
  genAudio(join(dir, 'b.ogg'), { rate: 48000, seconds: 1.5, container: 'ogg' });
  genAudio(join(dir, 'c.flac'), {
    channels: ['0.6*sin(2*PI*300*t)', '0', '0.2'],
    rate: 22050,
    seconds: 1,
    container: 'flac',
  });
  genAudio(join(dir, 'd.wav'), { rate: 8000, seconds: 0.5 });
  copyFileSync(join(dir, 'd.wav'), join(dir, 'd-copy.wav'));
  genAudio(join(dir, 'g.wav'), { noise: 0.2, rate: 16000, seconds: 20, depth: 'f32' });
  lavfi(FFMPEG!, 'aevalsrc=0.4*sin(2*PI*500*t)|0.1:s=44100:d=1', ['-c:a', 'aac', join(dir, 'e.m4a')]);
  const full = readFileSync(
    genAudio(join(work, 'full.flac'), { noise: 0.3, rate: 44100, seconds: 3, container: 'flac' }),
  );
  writeFileSync(join(dir, 'f-truncated.flac'), full.subarray(0, Math.floor(full.length / 2)));
  writeFileSync(join(dir, 'h-text.mp3'), 'not audio\n'.repeat(50));

  const one = await ingestCounting(dir, join(work, 'one'), false);
  const many = await ingestCounting(dir, join(work, 'many'), true);
  // (a batch with a bad file is decoded again file by file, so this run need not start fewer processes)
  assert.ok(many.starts >= 1 && one.starts >= 8, `${many.starts} and ${one.starts} ffmpeg processes`);
  assert.equal(one.r.run.added, 6);
  assert.deepEqual(chunkBytes(join(work, 'many')), chunkBytes(join(work, 'one')));
  const [m1, m2] = [readManifest(join(work, 'one')), readManifest(join(work, 'many'))];
  assert.deepEqual(m2.sources, m1.sources);
  assert.deepEqual(m2.chunks, m1.chunks);
  assert.deepEqual(m2.rejected, m1.rejected);
  assert.deepEqual(many.r.run.rejected.map((x) => x.reason).sort(), one.r.run.rejected.map((x) => x.reason).sort());
  assert.ok(
    m1.rejected.some((x) => x.path.endsWith('f-truncated.flac')) &&
      m1.rejected.some((x) => x.path.endsWith('h-text.mp3')),
  );
  assert.equal(many.r.run.audioSeconds, one.r.run.audioSeconds, 'a batch decoded again file by file is counted once');

  // good files only (one m4a: every channel decoded and averaged here; one with three channels): no
  // batch falls back, so fewer processes than files
  const good = join(work, 'good');
  mkdirSync(good);
  for (let i = 0; i < 6; i++)
    genAudio(join(good, `t${i}.ogg`), {
      channels: [`0.3*sin(2*PI*${200 + 50 * i}*t)`],
      rate: 44100,
      seconds: 0.5,
      container: 'ogg',
    });
  copyFileSync(join(dir, 'e.m4a'), join(good, 't6.m4a'));
  copyFileSync(join(dir, 'c.flac'), join(good, 't7.flac'));
  const g1 = await ingestCounting(good, join(work, 'good-one'), false);
  const g2 = await ingestCounting(good, join(work, 'good-many'), true);
  assert.equal(g1.starts, 8);
  assert.ok(g2.starts <= 4, `8 files in ${g2.starts} ffmpeg processes`);
  assert.deepEqual(chunkBytes(join(work, 'good-many')), chunkBytes(join(work, 'good-one')));
  assert.deepEqual(readManifest(join(work, 'good-many')).sources, readManifest(join(work, 'good-one')).sources);
});
