/**
 * Auditioned openings: a take should start in its texture, not in broadband noise nor in near
 * silence (issue 13). The caller opens candidates one at a time (candidate i: seed
 * candidateSeed(seed, i), its own dataset prime), each generating only its opening; the opening is
 * judged with the measure of docs/audio.md (0.5 s blocks, whitened spectral flatness >=
 * NOISE_FLATNESS = broadband noise) and its level (RMS of the opening less its mean, below
 * QUIET_DBFS = near silence); the first candidate whose opening is neither is kept and its stream
 * continues (nothing is computed twice). After `count` candidates all refused, the least noisy is
 * kept and the caller says so: a model whose texture is noise is told, not looped on.
 *
 * Deterministic: the candidates, their order and the verdicts depend only on the take's seed, the
 * settings and the weights. Candidate 0 is the take's own seed, so a take that opens cleanly is the
 * same with or without auditions.
 */
import { blockFlatness, NOISE_FLATNESS } from './audio-metrics.js';
import { MODEL_RATE } from './synthesizer.js';

export const AUDITION_DEFAULTS = {
  /** Candidates tried at most; 0 or 1 = off (the take's own seed is used as it comes). */
  count: 8,
  /** Seconds of each candidate's opening that are judged (whole 0.5 s blocks). */
  seconds: 2,
};

/**
 * An opening quieter than this (RMS, dBFS, its mean removed) is near silence: 40 dB and more below
 * the level of the recordings. The bundled model's quiet drone (-42 to -47 dBFS, 4 of 10 takes of
 * the defaults) is its texture and stays above it; refusing it too would leave about 1 candidate in
 * 10 acceptable (docs/audio.md).
 */
export const QUIET_DBFS = -60;

/** Largest --auditions accepted. */
export const MAX_AUDITIONS = 64;

const MASK64 = (1n << 64n) - 1n;
/** Seeds are printed and recorded as JSON numbers: derived seeds stay below 2^53. */
const MASK53 = (1n << 53n) - 1n;

/**
 * The seed of candidate i of a take with `seed`: the seed itself for i = 0, then splitmix64 of
 * (seed, i), cut to 53 bits so it prints and reproduces as a plain number (`--seed N --auditions 0`
 * gives that candidate alone). Neighbouring take seeds (render's BASE, BASE+1, ...) do not share
 * candidates.
 */
export function candidateSeed(seed: bigint, i: number): bigint {
  if (i === 0) return seed;
  let z = (seed + BigInt(i) * 0x9e3779b97f4a7c15n) & MASK64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  z ^= z >> 31n;
  return z & MASK53;
}

export interface OpeningVerdict {
  /** Flatness of each whole 0.5 s block of the opening. */
  blocks: number[];
  /** Blocks at or above NOISE_FLATNESS. */
  noiseBlocks: number;
  /** Any block is broadband noise. */
  noisy: boolean;
  meanFlatness: number;
  /** RMS of the opening less its mean (the model's DC), dBFS; -Infinity for silence. */
  rmsDbfs: number;
  /** Below QUIET_DBFS. */
  quiet: boolean;
  /** Noisy or quiet: another candidate is tried. */
  refused: boolean;
}

/**
 * Judges an opening (mono, MODEL_RATE): noisy when any of its whole 0.5 s blocks is broadband
 * noise, quiet when its RMS (mean removed) is below QUIET_DBFS. An opening shorter than one block
 * is not judged (never refused).
 */
export function judgeOpening(x: Float32Array, threshold = NOISE_FLATNESS): OpeningVerdict {
  const blocks = blockFlatness(x, MODEL_RATE);
  const noiseBlocks = blocks.filter((v) => v >= threshold).length;
  const meanFlatness = blocks.length ? blocks.reduce((a, b) => a + b, 0) / blocks.length : 0;
  let mean = 0;
  for (const v of x) mean += v / x.length;
  let ss = 0;
  for (const v of x) ss += (v - mean) ** 2;
  const rmsDbfs = x.length ? 20 * Math.log10(Math.sqrt(ss / x.length)) : -Infinity;
  const quiet = blocks.length > 0 && !(rmsDbfs >= QUIET_DBFS);
  return {
    blocks,
    noiseBlocks,
    noisy: noiseBlocks > 0,
    meanFlatness,
    rmsDbfs,
    quiet,
    refused: noiseBlocks > 0 || quiet,
  };
}

/** Whether verdict a is better than b: fewer noise blocks, then not quiet, then lower mean flatness. */
export function lessNoisy(a: OpeningVerdict, b: OpeningVerdict): boolean {
  if (a.noiseBlocks !== b.noiseBlocks) return a.noiseBlocks < b.noiseBlocks;
  if (a.quiet !== b.quiet) return !a.quiet;
  return a.meanFlatness < b.meanFlatness;
}

export interface Candidate {
  /** The opening generated (model rate, before any DC blocker). */
  opening: Float32Array;
}

export interface AuditionResult<C extends Candidate> {
  /** The candidate kept (its stream continues), null when stopped before the first one opened. */
  kept: C | null;
  /** Its index (0 = the take's own seed). */
  index: number;
  /** One verdict per candidate opened, in order. */
  verdicts: OpeningVerdict[];
  /** Every candidate opened was refused (the least noisy was kept). */
  allRefused: boolean;
  /** Every candidate opened was broadband noise. */
  allNoisy: boolean;
}

/**
 * Opens candidates 0, 1, ... (at most max(1, count)) and keeps the first whose opening is neither
 * noise nor quiet, else the least noisy (the first of equals). `open(i)` returns null when stopped (Ctrl-C):
 * the best so far is kept. Every candidate not kept is passed to `drop` (to free it) as soon as it
 * is out of the running, so at most two are alive at once.
 */
export async function audition<C extends Candidate>(
  count: number,
  open: (i: number) => Promise<C | null>,
  drop: (c: C) => void,
): Promise<AuditionResult<C>> {
  const n = Math.max(1, Math.floor(count));
  const verdicts: OpeningVerdict[] = [];
  let best: { c: C; v: OpeningVerdict; i: number } | null = null;
  for (let i = 0; i < n; i++) {
    const c = await open(i);
    if (!c) break;
    const v = judgeOpening(c.opening);
    verdicts.push(v);
    if (!v.refused) {
      if (best) drop(best.c);
      return { kept: c, index: i, verdicts, allRefused: false, allNoisy: false };
    }
    if (!best || lessNoisy(v, best.v)) {
      if (best) drop(best.c);
      best = { c, v, i };
    } else {
      drop(c);
    }
  }
  const any = verdicts.length > 0;
  return {
    kept: best?.c ?? null,
    index: best?.i ?? 0,
    verdicts,
    allRefused: any,
    allNoisy: any && verdicts.every((v) => v.noisy),
  };
}
