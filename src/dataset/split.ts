/**
 * The train/validation split of a dataset (datasets/README.md, "The split").
 *
 * Chunks already in a dataset keep their split; the chunks of the sources added by one ingest are
 * split so that the validation share of the whole dataset comes as close as it can to the fraction
 * asked for (--val):
 *
 * - by source when that lands within a quarter of the fraction (e.g. 7.5 % to 12.5 % for 0.1): whole
 *   recordings are held out, so the validation loss measures audio the model never heard;
 * - by chunk otherwise (too few sources, or sources of very different lengths).
 *
 * Either way the choice is deterministic: sources are taken in the order of a hash of their
 * content and chunks in the order of a hash of (content, offset), each one only when it brings the
 * validation share closer to the target. The input order and the machine do not matter.
 */
import { createHash } from 'node:crypto';
import type { Manifest } from './manifest.js';

/** A hash of `text` as a number in [0, 1). */
function unitHash(text: string): number {
  return createHash('sha256').update(text).digest().readUIntBE(0, 6) / 2 ** 48;
}

/** Order key of a chunk: a hash of its source's content and its offset, in [0, 1). */
export function splitKey(sourceSha: string, offset: number): number {
  return unitHash(`${sourceSha}:${offset}`);
}

/** Order key of a whole source. */
export function sourceKey(sourceSha: string): number {
  return unitHash(`${sourceSha}:source`);
}

/** How far the validation share may land from the fraction asked for, relative to it, for a split by source. */
export const SOURCE_SPLIT_TOLERANCE = 0.25;

/** Greedy: walk `items` in order, taking each one that brings `sum` closer to `need`. */
function pick<T extends { samples: number }>(items: T[], need: number): { taken: T[]; sum: number } {
  const taken: T[] = [];
  let sum = 0;
  for (const it of items) {
    if (Math.abs(sum + it.samples - need) < Math.abs(sum - need)) {
      taken.push(it);
      sum += it.samples;
    }
  }
  return { taken, sum };
}

/**
 * Sets the split of chunks[firstNew..] (the chunks added by this ingest); earlier chunks keep theirs.
 * Returns how the new chunks were split.
 */
export function assignSplits(m: Manifest, firstNew: number): 'source' | 'chunk' | 'none' {
  const fresh = m.chunks.slice(firstNew);
  for (const c of fresh) c.split = 'train';
  if (fresh.length === 0 || m.valFraction <= 0) return 'none';
  const total = m.chunks.reduce((a, c) => a + c.samples, 0);
  const have = m.chunks.slice(0, firstNew).reduce((a, c) => a + (c.split === 'val' ? c.samples : 0), 0);
  const target = m.valFraction * total;
  const need = target - have;
  if (need <= 0) return 'none';
  if (m.valFraction >= 1) {
    for (const c of fresh) c.split = 'val';
    return 'chunk';
  }

  // By source: whole new recordings.
  const bySource = new Map<number, { source: number; samples: number; key: number }>();
  for (const c of fresh) {
    const s = bySource.get(c.source) ?? { source: c.source, samples: 0, key: sourceKey(m.sources[c.source].sha256) };
    s.samples += c.samples;
    bySource.set(c.source, s);
  }
  const sources = [...bySource.values()].sort((a, b) => a.key - b.key || a.source - b.source);
  const s = pick(sources, need);
  const trainLeft = total - have - s.sum;
  const closeEnough = Math.abs(have + s.sum - target) <= SOURCE_SPLIT_TOLERANCE * target;
  if (s.taken.length > 0 && trainLeft > 0 && closeEnough) {
    const held = new Set(s.taken.map((x) => x.source));
    for (const c of fresh) if (held.has(c.source)) c.split = 'val';
    return 'source';
  }

  // By chunk.
  const chunks = fresh
    .map((c) => ({ c, samples: c.samples, key: splitKey(m.sources[c.source].sha256, c.offset) }))
    .sort((a, b) => a.key - b.key);
  for (const x of pick(chunks, need).taken) x.c.split = 'val';
  return 'chunk';
}

/** Per source: how many of its chunks (and samples) are in validation. */
export interface SourceSplit {
  path: string;
  chunks: number;
  valChunks: number;
  valSeconds: number;
}

/** The sources with chunks in validation, in manifest order. */
export function validationSources(m: Manifest): SourceSplit[] {
  const out = new Map<number, SourceSplit>();
  const counts = new Map<number, number>();
  for (const c of m.chunks) counts.set(c.source, (counts.get(c.source) ?? 0) + 1);
  for (const c of m.chunks) {
    if (c.split !== 'val') continue;
    const s = out.get(c.source) ?? {
      path: m.sources[c.source].path,
      chunks: counts.get(c.source) ?? 0,
      valChunks: 0,
      valSeconds: 0,
    };
    s.valChunks++;
    s.valSeconds += c.samples / m.sampleRate;
    out.set(c.source, s);
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}
