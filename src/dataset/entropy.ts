/**
 * The "knows nothing" level of a dataset: the unigram entropy of its validation data in bits per
 * sample, -sum p(c) log2 p(c) over the mu-law classes' frequencies. A model that learned only how
 * often each class occurs, and nothing about what follows what, scores exactly this cross-entropy;
 * a model whose validation loss is not clearly below it has learned nothing a listener would hear.
 * Recorded at ingest in manifest.json as `valEntropyBits` (datasets/README.md).
 */
import { closeSync, existsSync, readSync } from 'node:fs';
import { openRegular } from '../util/files.js';
import { join } from 'node:path';
import { CHUNKS_DIR, type Manifest } from './manifest.js';

/** Entropy in bits of the distribution given by counts (0 for none). */
export function entropyBits(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total <= 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    if (c > 0) h -= (c / total) * Math.log2(c / total);
  }
  return h;
}

/** Class counts of the chunk files of one split (streamed in 1 MiB reads). */
export function classCounts(dir: string, m: Manifest, split: 'train' | 'val'): Float64Array {
  const counts = new Float64Array(m.classes);
  const buf = Buffer.alloc(1 << 20);
  for (const c of m.chunks) {
    if (c.split !== split) continue;
    const p = join(dir, CHUNKS_DIR, c.file);
    if (!existsSync(p)) continue;
    const fd = openRegular(p, { what: 'chunk', maxBytes: c.samples }).fd;
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        for (let i = 0; i < n; i++) counts[buf[i]]++;
      }
    } finally {
      closeSync(fd);
    }
  }
  return counts;
}

/**
 * Sets m.valEntropyBits from the validation chunks (the training chunks when there are none;
 * null for an empty dataset). Returns whether the value changed.
 */
export function recordValEntropy(dir: string, m: Manifest): boolean {
  let counts = classCounts(dir, m, 'val');
  if (counts.every((c) => c === 0)) counts = classCounts(dir, m, 'train');
  const v = counts.some((c) => c > 0) ? Math.round(entropyBits(counts) * 10000) / 10000 : null;
  const changed = m.valEntropyBits !== v;
  m.valEntropyBits = v;
  return changed;
}
