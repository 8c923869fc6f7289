/**
 * Several files per ffmpeg process (src/audio/decode-batch.ts) give exactly the dataset that one
 * process per file gives: the same chunk bytes, sources, rejections and reasons, with a corrupt file
 * in a batch (the batch is then decoded file by file), a format whose channel count the header reader
 * does not know (m4a), three channels, a duplicate and a multi-chunk source.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ingest } from '../src/dataset/ingest.js';
import { readManifest } from '../src/dataset/manifest.js';
import { ffmpegOutputArgs } from '../src/audio/decode.js';
import { elfWithoutInterpreter, ffmpegStarts, isStaticElf, resetFfmpegCache } from '../src/audio/ffmpeg.js';
import { FFMPEG, genAudio, rmDir, tmpDir } from './helpers/audio.js';
import { lavfi } from './helpers/lavfi.js';

const ROOT = join(import.meta.dirname, '..');
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

test('the ELF reader tells a statically linked binary from a dynamically linked one', () => {
  // a minimal 64-bit little-endian header with two program headers at offset 64
  const elf = (types: number[]) => {
    const b = Buffer.alloc(64 + 56 * types.length);
    b.writeUInt32BE(0x7f454c46, 0);
    b[4] = 2; // 64-bit
    b[5] = 1; // little-endian
    b.writeUInt16LE(2, 16); // ET_EXEC
    b.writeBigUInt64LE(64n, 32); // e_phoff
    b.writeUInt16LE(56, 54); // e_phentsize
    b.writeUInt16LE(types.length, 56); // e_phnum
    types.forEach((t, i) => b.writeUInt32LE(t, 64 + 56 * i));
    return b;
  };
  assert.equal(elfWithoutInterpreter(elf([6, 1, 1])), true, 'PHDR, LOAD, LOAD: static');
  assert.equal(elfWithoutInterpreter(elf([6, 3, 1])), false, 'with PT_INTERP: dynamic');
  assert.equal(elfWithoutInterpreter(Buffer.from('#!/bin/sh\nexec ffmpeg "$@"\n'.padEnd(80))), false, 'a script');
  assert.equal(elfWithoutInterpreter(elf([1]).subarray(0, 100)), false, 'headers cut short');
  // node itself is linked dynamically on every platform these tests run on
  if (process.platform === 'linux') assert.equal(isStaticElf({ path: process.execPath, source: 'PATH' }), false);
  const npmStatic = createRequire(import.meta.url).resolve('@ffmpeg-installer/linux-x64/ffmpeg', { paths: [ROOT] });
  if (existsSync(npmStatic)) assert.equal(isStaticElf({ path: npmStatic, source: 'WAVENET_FFMPEG' }), true);
});

test('with a statically linked ffmpeg, ingest starts one ffmpeg per file by default (batches when asked)', {
  skip: noFfmpeg || !staticFfmpeg() ? 'needs ffmpeg and the static ffmpeg of @ffmpeg-installer/linux-x64' : false,
}, async () => {
  const dir = join(work, 'static');
  mkdirSync(dir);
  for (let i = 0; i < 4; i++)
    genAudio(join(dir, `s${i}.ogg`), {
      channels: [`0.3*sin(2*PI*${300 + 40 * i}*t)`],
      rate: 44100,
      seconds: 0.5,
      container: 'ogg',
    });
  const old = process.env.WAVENET_FFMPEG;
  process.env.WAVENET_FFMPEG = staticFfmpeg()!;
  resetFfmpegCache();
  try {
    const n0 = ffmpegStarts();
    const one = await ingest({ inputs: [dir], out: join(work, 'static-one'), jobs: 2, onMessage: () => undefined });
    const n1 = ffmpegStarts();
    const many = await ingest({
      inputs: [dir],
      out: join(work, 'static-many'),
      jobs: 2,
      batch: true,
      onMessage: () => undefined,
    });
    assert.equal(n1 - n0, 4, 'one process per file');
    assert.ok(ffmpegStarts() - n1 <= 2, `${ffmpegStarts() - n1} processes when batches are asked for`);
    assert.equal(one.run.added, 4);
    assert.deepEqual(chunkBytes(join(work, 'static-one')), chunkBytes(join(work, 'static-many')));
    assert.deepEqual(readManifest(join(work, 'static-one')).sources, readManifest(join(work, 'static-many')).sources);
    assert.equal(many.run.added, 4);
  } finally {
    if (old === undefined) delete process.env.WAVENET_FFMPEG;
    else process.env.WAVENET_FFMPEG = old;
    resetFfmpegCache();
  }
});

function staticFfmpeg(): string | null {
  try {
    const p = createRequire(import.meta.url).resolve('@ffmpeg-installer/linux-x64/ffmpeg', { paths: [ROOT] });
    return process.platform === 'linux' && process.arch === 'x64' && existsSync(p) ? p : null;
  } catch {
    return null;
  }
}

test("ffmpeg's float WAV output puts its samples 4-byte aligned (no realigning copy of every read)", {
  skip: noFfmpeg,
}, () => {
  const src = genAudio(join(work, 'align.ogg'), { rate: 44100, seconds: 0.3, container: 'ogg' });
  for (const path of [FFMPEG!, staticFfmpeg()].filter((p): p is string => p !== null)) {
    const out = join(work, 'align.wav');
    const args = [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-i',
      src,
      ...ffmpegOutputArgs({ path, source: 'PATH' }, null, 16000, 0, out),
    ];
    const r = spawnSync(path, args, { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const b = readFileSync(out);
    const data = b.indexOf('data', 12, 'latin1');
    assert.ok(data > 0, 'a data chunk');
    assert.equal((data + 8) % 4, 0, `${path}: samples start at byte ${data + 8}`);
  }
});
