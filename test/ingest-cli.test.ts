/**
 * `wavenet ingest` as a process: exit codes, --json, kill -9 in the middle of a run, and flat memory
 * on a 3-hour input (with ffmpeg and with the built-in WAV reader).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../src/dataset/manifest.js';
import { FFMPEG, noise, rmDir, tmpDir, writeWav16 } from './helpers/audio.js';
import { lavfi } from './helpers/lavfi.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'cli.ts')];
let work: string;

before(() => {
  work = tmpDir('wavenet-ingest-cli-');
});
after(() => rmDir(work));

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
}

/** The manifest is valid and every chunk it names is complete. Returns it. */
function checkDataset(dir: string) {
  const m = readManifest(dir);
  for (const c of m.chunks) {
    const p = join(dir, 'chunks', c.file);
    assert.ok(existsSync(p), `${c.file} named by the manifest is missing`);
    assert.equal(statSync(p).size, c.samples, `${c.file} is incomplete`);
  }
  return m;
}

test('exit codes: 0 with something ingested, 1 with one error line when everything was rejected; --json summary', async () => {
  const good = writeWav16(join(work, 'good.wav'), noise(16000 * 2, 1), 16000);
  const bad = join(work, 'bad.wav');
  writeFileSync(bad, 'RIFF nonsense');
  const out = join(work, 'ds-exit');
  const r1 = cli(['ingest', good, bad, '--out', out, '--json']);
  assert.equal(r1.status, 0, r1.stderr);
  const j = JSON.parse(r1.stdout);
  assert.equal(j.sources, 1);
  assert.equal(j.rejected, 1);
  assert.equal(j.chunks.total, 1);
  assert.ok(Math.abs(j.seconds.total - 2) < 1e-9);
  assert.equal(j.run.added, 1);
  assert.equal(r1.stderr.split('\n').filter((l) => l.includes(bad)).length, 1, r1.stderr);
  // info prints the same summary
  const info = cli(['info', out, '--json']);
  assert.equal(info.status, 0, info.stderr);
  const { run: _run, ...summary } = j;
  assert.deepEqual(JSON.parse(info.stdout), summary);
  const text = cli(['info', out]);
  assert.match(text.stdout, /sources: +1/);

  const r2 = cli(['ingest', bad, '--out', join(work, 'ds-none')]);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /nothing was ingested: 1 input\(s\) rejected .*no dataset was created/);
  assert.equal(r2.stdout, '', 'no summary of zeros after a failed ingest');
  assert.ok(!existsSync(join(work, 'ds-none')), 'a new dataset that got nothing is not left behind');
  // a bad option is one line naming the flag
  const r3 = cli(['ingest', good, '--chunk', 'soon', '--out', join(work, 'ds-x')]);
  assert.equal(r3.status, 1);
  assert.equal(r3.stderr.trim(), 'wavenet: --chunk soon: expected a duration like 16s, 500ms, 2m or plain seconds');
});

test('default --out is datasets/<name of the first input>', () => {
  const dir = join(work, 'my-sounds');
  mkdirSync(dir);
  writeWav16(join(dir, 'a.wav'), noise(16000, 2), 16000);
  const r = spawnSync(process.execPath, [...CLI, 'ingest', dir, '--json'], { cwd: work, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).dataset, join(work, 'datasets', 'my-sounds'));
  assert.ok(existsSync(join(work, 'datasets', 'my-sounds', 'manifest.json')));
});

test('kill -9 at any moment leaves a valid dataset; a rerun completes and cleans leftovers', async (t) => {
  const dir = join(work, 'many');
  mkdirSync(dir);
  const files: string[] = [];
  for (let i = 0; i < 30; i++)
    files.push(writeWav16(join(dir, `n${String(i).padStart(2, '0')}.wav`), noise(22050 * 4, 100 + i), 22050));
  const out = join(work, 'ds-kill');
  // a previous, complete dataset
  const first = cli(['ingest', files[0], files[1], '--out', out, '--chunk', '1s']);
  assert.equal(first.status, 0, first.stderr);
  const before = readManifest(out);
  let killed = 0;
  for (const delay of [0, 400, 2300]) {
    const child = spawn(process.execPath, [...CLI, 'ingest', dir, '--out', out, '--jobs', '1'], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    // listen from the start: a run that ends before the kill must not leave the wait below hanging
    const closed = new Promise((r) => child.on('close', (_code, sig) => r(sig)));
    // wait until this run has started writing chunks, then a little longer
    const n0 = readdirSync(join(out, 'chunks')).length;
    const t0 = Date.now();
    while (readdirSync(join(out, 'chunks')).length <= n0 && child.exitCode === null && Date.now() - t0 < 30000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    const signal = await closed;
    if (signal === 'SIGKILL') killed++;
    const m = checkDataset(out);
    const left = readdirSync(join(out, 'chunks')).length - m.chunks.length;
    t.diagnostic(
      `killed ${delay} ms after the first chunk: ${m.sources.length} sources in the manifest, ${left} leftover chunk files`,
    );
    // the previous sources are all still there, unchanged
    assert.deepEqual(m.sources.slice(0, 2), before.sources);
    assert.equal(m.chunkSamples, 16000);
  }
  assert.ok(killed >= 2, `only ${killed} of the runs were still running when killed`);
  const r = cli(['ingest', dir, '--out', out, '--jobs', '2', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const m = checkDataset(out);
  assert.equal(m.sources.length, 30);
  assert.deepEqual(new Set(m.sources.map((s) => s.path)), new Set(files));
  // no leftovers: the chunk folder holds exactly the named chunks
  assert.deepEqual(readdirSync(join(out, 'chunks')).sort(), m.chunks.map((c) => c.file).sort());
  assert.ok(!existsSync(join(out, '.ingest.lock')));
  assert.equal(JSON.parse(r.stdout).sources, 30);
});

for (const which of ['ffmpeg', 'none'] as const) {
  test(`memory stays flat on a 3-hour input (decoder: ${which})`, {
    skip: FFMPEG ? false : 'ffmpeg is not installed: cannot generate the long input',
  }, () => {
    const long = join(work, `long-${which}.wav`);
    // 3 h of a 440 Hz tone, 8 kHz unsigned 8-bit: an 86 MB file
    lavfi(FFMPEG!, 'sine=f=440:r=8000:d=10800', ['-c:a', 'pcm_u8', long]);
    const out = join(work, `ds-long-${which}`);
    // with ffmpeg: resampled to 16 kHz (173 M samples); without: kept at 8 kHz (the built-in resampler is slower)
    const rate = which === 'ffmpeg' ? '16000' : '8000';
    const r = cli(
      ['ingest', long, '--out', out, '--rate', rate, '--json'],
      which === 'none' ? { WAVENET_FFMPEG: 'none' } : {},
    );
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(Math.abs(j.sourceSeconds - 10800) < 1e-3, `decoded ${j.sourceSeconds} s`);
    assert.equal(j.chunks.total, 10800 / 16);
    // holding the whole input would need >= 690 MB as floats (or 173 MB as mu-law bytes on top of the baseline)
    assert.ok(j.run.maxRssMB < 250, `peak RSS ${j.run.maxRssMB} MB for a 3-hour input`);
    rmDir(out);
    rmDir(long);
  });
}
