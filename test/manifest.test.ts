/**
 * The dataset manifest is written with the shared atomic writer (src/util/atomic.ts): a complete file,
 * no temporary left beside it, and leftovers of an interrupted write removed by the next write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emptyManifest, manifestPath, readManifest, writeManifest } from '../src/dataset/manifest.js';
import { isAtomicTemp } from '../src/util/atomic.js';

test('writeManifest writes the manifest atomically and removes leftover temporaries of it, and only those', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wn-manifest-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const m = emptyManifest({ sampleRate: 16000, mu: 255, chunkSamples: 16000, valFraction: 0.1, trimSilenceDb: null });
  writeManifest(dir, m);
  assert.deepEqual(readdirSync(dir), ['manifest.json']);
  assert.deepEqual(readManifest(dir), m);

  const stale = '.manifest.json.tmp-123-deadbeef';
  assert.ok(isAtomicTemp(stale));
  writeFileSync(join(dir, stale), '{"half a manifest');
  writeFileSync(join(dir, '.other.json.tmp-123-deadbeef'), 'not ours');
  writeFileSync(manifestPath(dir), 'garbage'); // replaced as a whole
  writeManifest(dir, { ...m, updated: 'later' });
  assert.deepEqual(readdirSync(dir).sort(), ['.other.json.tmp-123-deadbeef', 'manifest.json']);
  assert.equal(readManifest(dir).updated, 'later');
});
