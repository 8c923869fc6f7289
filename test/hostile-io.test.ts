// Issue 16, families 3 (I/O errors), 5 (ingest cleanup), 6 (folders that cannot be created),
// 7 (partial WAV after a failed write) and 8 (info and manifests that are broken).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { WavWriter } from '../src/audio/wav-writer.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { makeDirs } from '../src/util/io-errors.js';
import { ingest } from '../src/dataset/ingest.js';
import { readManifest } from '../src/dataset/manifest.js';
import { checkName, checkNameCollisions, checkTexturePaths, MAX_SEGMENT_BYTES } from '../src/render/spec.js';
import { UserError } from '../src/util/errors.js';
import { SMALL, makeRun, writeCheckpoint, cliAll, errorLines } from './helpers/hostile.js';
import { tempDir, writeDataset, periodic } from './train-cli-helpers.js';
import { writeWav16, noise } from './helpers/audio.js';

const oneLine = (re: RegExp) => (e: unknown) =>
  e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

/** The data size a WAV's header declares, and the bytes after the header. */
function wavSizes(path: string) {
  const b = readFileSync(path);
  const dataOff = b.indexOf('data', 12, 'latin1');
  return {
    declared: b.readUInt32LE(dataOff + 4),
    held: b.length - dataOff - 8,
    riff: b.readUInt32LE(4),
    size: b.length,
  };
}

test('WavWriter: after a failed write (disk full mid-block or on the header) the header declares only what is on disk', () => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  try {
    for (const failAt of ['data-first', 'data-partial', 'header']) {
      for (const format of ['s16', 'f32'] as const) {
        const path = join(dir, `${failAt}-${format}.wav`);
        let calls = 0;
        let armed = false;
        let partialDone = false;
        const w = new WavWriter(path, 16000, format, {
          writeSync: (fd, b, off, len, pos) => {
            calls++;
            if (!armed) return spawnWrite(fd, b, off, len, pos);
            if (failAt === 'data-first') throw enospc();
            if (failAt === 'data-partial') {
              if (pos === 0) return spawnWrite(fd, b, off, len, pos); // header updates still work
              if (!partialDone) {
                partialDone = true;
                return spawnWrite(fd, b, off, 1001, pos); // a short write: 1001 bytes land
              }
              throw enospc();
            }
            // header: the data lands, then the header update fails
            if (pos === 0) throw enospc();
            return spawnWrite(fd, b, off, len, pos);
          },
        });
        w.write(new Float32Array(4096).fill(0.25));
        armed = true;
        assert.throws(
          () => w.write(new Float32Array(4096).fill(0.5)),
          oneLine(/cannot write .*: the disk is full \(needed/),
          `${failAt} ${format}`,
        );
        w.close();
        const s = wavSizes(path);
        const bps = format === 'f32' ? 4 : 2;
        assert.ok(
          s.declared <= s.held,
          `${failAt} ${format}: header declares ${s.declared} bytes, file holds ${s.held}`,
        );
        assert.equal(s.declared % bps, 0);
        assert.equal(s.riff, s.size - 8 - (s.held - s.declared), `${failAt} ${format}: RIFF size`);
        if (failAt === 'data-first') assert.equal(s.declared, 4096 * bps);
        if (failAt === 'data-partial') assert.equal(s.declared, 4096 * bps + Math.floor(1001 / bps) * bps);
        assert.ok(calls > 0);
      }
    }
  } finally {
    cleanup();
  }
});

import { writeSync as spawnWrite } from 'node:fs';

test('writeFileAtomic: I/O errors become one line naming the file (folder in the way, name too long, missing folder)', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  mkdirSync(join(dir, 'x.wav'));
  await assert.rejects(writeFileAtomic(join(dir, 'x.wav'), 'data'), oneLine(/cannot write .*x\.wav: it is a folder/));
  await assert.rejects(
    writeFileAtomic(join(dir, 'a'.repeat(300)), 'data'),
    oneLine(/the name is too long for the file system/),
  );
  await assert.rejects(
    writeFileAtomic(join(dir, 'no', 'such', 'f'), 'data'),
    oneLine(/a folder on its path does not exist/),
  );
  assert.deepEqual(readdirSync(dir), ['x.wav'], 'no temporary left behind');
});

test('folders that can never be created: makeDirs ends with one line (no endless retry)', {
  skip: !existsSync('/proc/self') && 'no /proc here',
}, () => {
  const t0 = Date.now();
  for (const p of ['/proc/x', '/proc/x/y/z', '/proc/self/x'])
    assert.throws(() => makeDirs(p, '--out-dir'), oneLine(/cannot create the folder --out-dir/), p);
  const { dir, cleanup } = tempDir('wn-hostile-');
  try {
    writeFileSync(join(dir, 'file'), 'x');
    assert.throws(() => makeDirs(join(dir, 'file', 'sub')), oneLine(/exists and is not a folder/));
    makeDirs(join(dir, 'a', 'b', 'c'));
    assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
  } finally {
    cleanup();
  }
  assert.ok(Date.now() - t0 < 2000);
});

test('render job names: too long for the file system and file/folder collisions are refused at plan time', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  assert.throws(
    () => checkName('é'.repeat(MAX_SEGMENT_BYTES / 2 + 1), 'job'),
    oneLine(/is 202 bytes; file systems allow/),
  ); // 101 characters
  assert.throws(() => checkName(`ok/${'ж'.repeat(120)}`, 'job'), oneLine(/is 240 bytes/));
  checkName('é'.repeat(MAX_SEGMENT_BYTES / 2), 'job');
  assert.throws(() => checkName('index.json/x', 'job'), oneLine(/is a file render writes itself/));
  assert.throws(
    () => checkNameCollisions(['x', 'x.wav/y'], 'job'),
    oneLine(/texture "x" writes the file x\.wav, which texture "x\.wav\/y" needs as a folder/),
  );
  assert.throws(() => checkNameCollisions(['a/b/X', 'a/b/x.WAV/c'], 'job'), oneLine(/needs as a folder/));
  checkNameCollisions(['x', 'x/y', 'x.wav2/z'], 'job');
  // on disk: a folder where a WAV goes, a file where a folder goes
  mkdirSync(join(dir, 'taken.wav'));
  writeFileSync(join(dir, 'sub'), 'x');
  assert.throws(
    () => checkTexturePaths(dir, ['ok', 'taken']),
    oneLine(/texture "taken" would be written to .*taken\.wav, which is a folder/),
  );
  assert.throws(() => checkTexturePaths(dir, ['sub/a']), oneLine(/needs the folder .*sub, which is a regular file/));
  checkTexturePaths(dir, ['ok', 'new/deeper/x']);
});

test('ingest: a chunks folder that is a symlink or a file is refused, and cleanup removes only its own leftover chunks', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const a = writeWav16(join(dir, 'a.wav'), noise(24000, 1), 16000);
  const b = writeWav16(join(dir, 'b.wav'), noise(24000, 2), 16000);
  const ds = join(dir, 'ds');
  await ingest({ inputs: [a], out: ds, chunkSeconds: 0.5, jobs: 1, onMessage: () => {} });
  // chunks replaced by a symlink to a folder of unrelated files
  const other = join(dir, 'other');
  mkdirSync(other);
  for (const f of ['notes.txt', 'x.mulaw', '0123456789abcdef-00000.mulaw']) writeFileSync(join(other, f), 'keep me');
  rmSync(join(ds, 'chunks.real'), { force: true, recursive: true });
  const { renameSync } = await import('node:fs');
  renameSync(join(ds, 'chunks'), join(ds, 'chunks.real'));
  symlinkSync(other, join(ds, 'chunks'));
  await assert.rejects(
    ingest({ inputs: [b], out: ds, jobs: 1, onMessage: () => {} }),
    oneLine(/chunks is a symbolic link/),
  );
  assert.deepEqual(
    readdirSync(other).sort(),
    ['0123456789abcdef-00000.mulaw', 'notes.txt', 'x.mulaw'],
    'nothing outside the dataset is deleted',
  );
  unlinkSync(join(ds, 'chunks'));
  writeFileSync(join(ds, 'chunks'), 'a file');
  await assert.rejects(
    ingest({ inputs: [b], out: ds, jobs: 1, onMessage: () => {} }),
    oneLine(/chunks is a regular file/),
  );
  unlinkSync(join(ds, 'chunks'));
  renameSync(join(ds, 'chunks.real'), join(ds, 'chunks'));
  // inside the real chunks folder: a leftover chunk (ingest's name pattern) goes, anything else stays
  writeFileSync(join(ds, 'chunks', 'fedcba9876543210-00003.mulaw'), 'leftover');
  writeFileSync(join(ds, 'chunks', 'fedcba9876543210-00004.mulaw.tmp'), 'leftover');
  writeFileSync(join(ds, 'chunks', 'README.txt'), 'mine');
  mkdirSync(join(ds, 'chunks', 'sub'));
  const r = await ingest({ inputs: [b], out: ds, jobs: 1, onMessage: () => {} });
  assert.equal(r.run.added, 1);
  const left = readdirSync(join(ds, 'chunks'));
  assert.ok(left.includes('README.txt') && left.includes('sub'));
  assert.ok(!left.includes('fedcba9876543210-00003.mulaw') && !left.includes('fedcba9876543210-00004.mulaw.tmp'));
});

test('ingest: a failed (disk-full) append removes its unlisted partial chunks and keeps the manifest', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const ds = join(dir, 'ds');
  await ingest({
    inputs: [writeWav16(join(dir, 'a.wav'), noise(24000, 1), 16000)],
    out: ds,
    chunkSeconds: 0.25,
    jobs: 1,
    onMessage: () => {},
  });
  const before = readFileSync(join(ds, 'manifest.json'), 'utf8');
  const chunksBefore = readdirSync(join(ds, 'chunks')).sort();
  const inputs = [1, 2, 3].map((i) => writeWav16(join(dir, `n${i}.wav`), noise(48000, 10 + i), 16000));
  // jobs 1: the 5th chunk is written while the first two files decode through one ffmpeg (where ffmpeg
  // is installed): the failure must end the run there too, not send the group to be decoded again
  for (const jobs of [2, 1]) {
    let n = 0;
    await assert.rejects(
      ingest({
        inputs,
        out: ds,
        jobs,
        onMessage: () => {},
        beforeChunkWrite: () => {
          if (++n === 5) throw enospc();
        },
      }),
      oneLine(/cannot write .*\.mulaw: the disk is full/),
      `jobs ${jobs}`,
    );
    assert.equal(readFileSync(join(ds, 'manifest.json'), 'utf8'), before, 'the manifest is the last complete one');
    assert.deepEqual(readdirSync(join(ds, 'chunks')).sort(), chunksBefore, 'no unlisted partial chunk stays');
    assert.ok(!existsSync(join(ds, '.ingest.lock')));
  }
  // a new dataset that fails is removed whole (only ingest's own files were in it)
  const ds2 = join(dir, 'ds2');
  await assert.rejects(
    ingest({
      inputs,
      out: ds2,
      jobs: 1,
      onMessage: () => {},
      beforeChunkWrite: () => {
        throw enospc();
      },
    }),
    oneLine(/disk is full/),
  );
  assert.ok(!existsSync(ds2));
});

test('manifests with unknown or missing versions, impossible rates or fractions are refused', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-');
  t.after(cleanup);
  const ds = writeDataset(join(dir, 'ds'), [
    { split: 'train', data: periodic(4000, 50) },
    { split: 'val', data: periodic(4000, 50) },
  ]);
  const good = JSON.parse(readFileSync(join(ds, 'manifest.json'), 'utf8'));
  readManifest(ds);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ version: undefined }, /no version field/],
    [{ version: 2 }, /version 2 is not one this wavenet knows.*upgrade/],
    [{ version: '1' }, /version "1" is not one/],
    [{ version: 0 }, /version 0/],
    [{ sampleRate: 5 }, /sampleRate 5/],
    [{ sampleRate: 1e9 }, /sampleRate 1000000000/],
    [{ valFraction: 5 }, /valFraction 5/],
    [{ valFraction: -0.1 }, /valFraction -0.1/],
    [{ valFraction: 'x' }, /valFraction "x"/],
    [{ chunkSamples: 2 ** 40 }, /chunkSamples/],
    [{ trimSilenceDb: 3 }, /trimSilenceDb 3/],
    [{ mu: 2 ** 20, classes: 2 ** 20 + 1 }, /mu\/classes/],
    [{ chunks: [{ ...good.chunks[0], samples: 999999 }] }, /from 1 to chunkSamples/],
    [{ chunks: [good.chunks[0], good.chunks[0]] }, /listed twice/],
    [{ chunks: [{ ...good.chunks[0], file: '.mulaw' }] }, /must be a file name ending in \.mulaw/],
  ];
  for (const [over, re] of cases) {
    writeFileSync(join(ds, 'manifest.json'), JSON.stringify({ ...good, ...over }));
    assert.throws(() => readManifest(ds), oneLine(re), JSON.stringify(over).slice(0, 60));
  }
});

test('CLI: info exits 1 on broken checkpoints and datasets; render/ingest/train into folders that cannot be created end at once', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-cli-');
  t.after(cleanup);
  const jobs: { args: string[]; re: RegExp; maxMs?: number }[] = [];
  for (const [i, d] of [
    [0, [1, 0, 4]],
    [1, [1, -2, 4]],
    [2, [3.5]],
  ] as const) {
    writeCheckpoint(join(dir, `c${i}.safetensors`), { config: JSON.stringify({ ...SMALL, dilations: d }) });
    jobs.push({ args: ['info', `c${i}.safetensors`], re: /its config is invalid/ });
  }
  const chunk = (n: string) => join(dir, n, 'chunks', '000000.mulaw');
  for (const n of ['missing', 'empty', 'short'])
    writeDataset(join(dir, n), [
      { split: 'train', data: periodic(4000, 50) },
      { split: 'val', data: periodic(4000, 50) },
    ]);
  unlinkSync(chunk('missing'));
  truncateSync(chunk('empty'), 0);
  truncateSync(chunk('short'), 100);
  jobs.push({ args: ['info', 'missing'], re: /broken dataset: 1 problem .*000000\.mulaw is missing/ });
  jobs.push({ args: ['info', 'empty'], re: /broken dataset: .*holds 0 bytes, the manifest says 4000/ });
  jobs.push({ args: ['info', 'short'], re: /broken dataset: .*holds 100 bytes/ });
  if (existsSync('/proc/self')) {
    await makeRun(join(dir, 'run'));
    writeWav16(join(dir, 'in.wav'), noise(8000, 3), 16000);
    writeDataset(join(dir, 'datasets', 'd'), [
      { split: 'train', data: periodic(4000, 50) },
      { split: 'val', data: periodic(4000, 50) },
    ]);
    const cannot = /cannot create the folder .*\/proc\/x/;
    jobs.push({
      args: ['render', '--model', 'run', '--count', '1', '--seconds', '0.05', '--out-dir', '/proc/x'],
      re: cannot,
      maxMs: 60_000,
    });
    jobs.push({ args: ['ingest', 'in.wav', '--out', '/proc/x'], re: cannot, maxMs: 60_000 });
    jobs.push({
      args: [
        'train',
        '--data',
        'datasets/d',
        '--run',
        '/proc/x',
        '--steps',
        '1',
        '--dilations',
        '1,2',
        '--window',
        '32',
        '--batch',
        '2',
      ],
      re: cannot,
      maxMs: 60_000,
    });
  }
  const rs = await cliAll(
    jobs.map((j) => ({ args: j.args, cwd: dir })),
    4,
  );
  rs.forEach((r, i) => {
    const label = `${jobs[i].args.join(' ')}: exit ${r.status} ${r.signal}\n${r.stderr}`;
    assert.equal(r.status, 1, label);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, label);
    assert.match(errs[0], jobs[i].re, label);
  });
});

/** A tiny tmpfs (root only, Linux): real ENOSPC for synth, render and train. Skipped elsewhere. */
function mountTiny(at: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  mkdirSync(at, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at]).status === 0;
}

test('CLI on a full disk (tmpfs): synth keeps a WAV whose header matches its data; render and train say how much was needed', async (t) => {
  const { dir, cleanup } = tempDir('wn-hostile-full-');
  const full = join(dir, 'full');
  if (!mountTiny(full, '96k')) {
    cleanup();
    t.skip('needs root and tmpfs to make a full disk (the fault-injection tests above cover the logic)');
    return;
  }
  t.after(() => {
    spawnSync('umount', [full]);
    cleanup();
  });
  await makeRun(join(dir, 'run'));
  writeDataset(join(dir, 'datasets', 'd'), [
    { split: 'train', data: periodic(4000, 50) },
    { split: 'val', data: periodic(4000, 50) },
  ]);
  const check = (r: { status: number | null; signal: string | null; stderr: string }) => {
    const label = `exit ${r.status} ${r.signal}\n${r.stderr}`;
    assert.equal(r.status, 1, label);
    const errs = errorLines(r.stderr);
    assert.equal(errs.length, 1, label);
    assert.match(
      errs[0],
      /the disk is full \(needed [\d.]+ (bytes|KiB|MiB), [\d.]+ (bytes|KiB) free\); free some space/,
      label,
    );
  };
  // one command at a time, each on the emptied disk
  const [synth] = await cliAll(
    [{ args: ['synth', '--model', 'run', '--seconds', '20', '--out', join(full, 'a.wav'), '--seed', '1'], cwd: dir }],
    1,
  );
  check(synth);
  const s = wavSizes(join(full, 'a.wav'));
  assert.ok(s.declared > 0 && s.declared <= s.held, `synth WAV header declares ${s.declared} bytes, holds ${s.held}`);
  rmSync(join(full, 'a.wav'));
  const [render] = await cliAll(
    [
      {
        args: [
          'render',
          '--model',
          'run',
          '--count',
          '1',
          '--seconds',
          '20',
          '--out-dir',
          join(full, 'r'),
          '--no-sheet',
        ],
        cwd: dir,
      },
    ],
    1,
  );
  check(render);
  assert.ok(!existsSync(join(full, 'r', '.render.lock')));
  rmSync(join(full, 'r'), { recursive: true, force: true });
  const [train] = await cliAll(
    [
      {
        args: [
          'train',
          '--data',
          'datasets/d',
          '--run',
          join(full, 'run'),
          '--steps',
          '2',
          '--dilations',
          '1,2,4,8,16,32,64,128',
          '--residual-channels',
          '32',
          '--dilation-channels',
          '32',
          '--skip-channels',
          '64',
          '--head-channels',
          '64',
          '--window',
          '32',
          '--batch',
          '2',
        ],
        cwd: dir,
      },
    ],
    1,
  );
  check(train);
});
