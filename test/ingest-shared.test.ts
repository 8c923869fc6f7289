/**
 * Ingest of ../shared/audio (skipped with a message when absent): every music and speech file becomes a
 * source; every file in broken/ is either a source or rejected with a reason; the run never crashes.
 * One run over the whole folder with --jobs 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '../src/dataset/manifest.js';
import { FFMPEG, HAVE_SHARED_AUDIO, SHARED_AUDIO, rmDir, tmpDir } from './helpers/audio.js';

const ROOT = join(import.meta.dirname, '..');
const skip = !HAVE_SHARED_AUDIO
  ? `${SHARED_AUDIO} is absent: shared audio test skipped`
  : !FFMPEG
    ? 'ffmpeg is not installed: the shared audio (mp3, ogg, opus) needs it'
    : false;

const files = (sub: string) =>
  readdirSync(join(SHARED_AUDIO, sub))
    .filter((f) => !f.startsWith('.'))
    .map((f) => join(SHARED_AUDIO, sub, f));

test('../shared/audio: music and speech all ingested, broken/ ingested or rejected with a reason, no crash', {
  skip,
}, () => {
  const work = tmpDir('wavenet-ingest-shared-');
  try {
    const out = join(work, 'ds');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli.ts'), 'ingest', SHARED_AUDIO, '--out', out, '--jobs', '2', '--json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
    );
    assert.equal(r.status, 0, `exit ${r.status}, signal ${r.signal}\n${r.stderr.slice(-3000)}`);
    assert.doesNotMatch(r.stderr, /internal error/);
    const j = JSON.parse(r.stdout);
    const m = readManifest(out);
    const sources = new Map(m.sources.map((s) => [s.path, s]));
    const rejected = new Map(m.rejected.map((x) => [x.path, x.reason]));
    for (const f of [...files('music'), ...files('speech')]) {
      const s = sources.get(f);
      assert.ok(s, `${f} was not ingested: ${rejected.get(f) ?? 'missing from the manifest'}`);
      assert.ok(
        s.durationSeconds > 0 && m.chunks.some((c) => sources.get(m.sources[c.source].path) === s),
        `${f} has no chunks`,
      );
    }
    for (const f of files('broken')) {
      if (statSync(f).isDirectory()) continue;
      const inSources = sources.has(f);
      const reason = rejected.get(f);
      assert.ok(inSources !== (reason !== undefined), `${f} must be in exactly one of sources and rejected`);
      if (reason !== undefined) {
        assert.ok(reason.length > 3, `${f}: empty reason`);
        // one stderr line names it
        assert.equal(
          r.stderr.split('\n').filter((l) => l.includes(f + ':')).length,
          1,
          `${f}: expected one stderr line`,
        );
      }
    }
    assert.equal(j.sources, m.sources.length);
    assert.equal(j.rejected, m.rejected.length);
    for (const c of m.chunks) assert.equal(statSync(join(out, 'chunks', c.file)).size, c.samples);
  } finally {
    rmDir(work);
  }
});
