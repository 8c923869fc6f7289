import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { BUNDLED_MODEL, resolveModelOrBundled } from '../src/model/bundled.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { receptiveField } from '../src/model/config.js';

const cli = resolve('bin/wavenet.js');

test('the bundled demo model is present, loads, and is small', async () => {
  assert.ok(existsSync(BUNDLED_MODEL), BUNDLED_MODEL);
  const ck = await loadCheckpoint(BUNDLED_MODEL);
  assert.equal(ck.step, 6000);
  assert.equal(receptiveField(ck.config), 2048);
  assert.ok(ck.params.every((v) => Number.isFinite(v)));
  assert.ok(readFileSync(BUNDLED_MODEL).length < 10 * 2 ** 20);
});

test('without --model and without runs, the bundled model is chosen with a note; --model still wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wn-bundled-'));
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    const r = resolveModelOrBundled(undefined);
    assert.equal(r.path, BUNDLED_MODEL);
    assert.match(r.note ?? '', /bundled demo model/);
    assert.throws(() => resolveModelOrBundled('nope.safetensors'), /--model nope.safetensors: no such file/);
    // no bundled model: the original error stands
    assert.throws(() => resolveModelOrBundled(undefined, 'runs', join(dir, 'missing.safetensors')), /no runs found/);
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('`wavenet synth` in a folder with no runs uses the bundled model and says so in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wn-bundled-cli-'));
  try {
    const r = spawnSync(process.execPath, [cli, 'synth', '--seconds', '0.5', '--out', 'a.wav', '--seed', '5'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const notes = r.stderr.split('\n').filter((l) => l.includes('bundled demo model'));
    assert.equal(notes.length, 1, r.stderr);
    const wav = readFileSync(join(dir, 'a.wav'));
    assert.equal(wav.toString('ascii', 0, 4), 'RIFF');
    assert.equal(wav.length, 44 + 0.5 * 16000 * 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
