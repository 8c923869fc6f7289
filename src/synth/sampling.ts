/**
 * Sampling defaults shared by `synth` and `render`, chosen by measurement (docs/audio.md, produced by
 * scripts/bench-audio.ts), and the checks of --top-p / --top-k.
 */
import { UserError } from '../util/errors.js';

export const SAMPLING_DEFAULTS = {
  temperature: 1,
  /** Nucleus mass kept; 1 = no cut. */
  topP: 0.95,
  /** 0 = no limit. */
  topK: 0,
  /** What a take is primed with when --prime is not given: 'dataset' or 'none'. */
  prime: 'dataset' as 'dataset' | 'none',
  /** Seconds generated and dropped before the output starts. */
  warmup: 0,
};

function number(v: unknown, flag: string, what: string): number {
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (typeof v === 'boolean' || String(v).trim() === '' || !Number.isFinite(n))
    throw new UserError(`${flag} '${String(v)}': expected ${what}`);
  return n;
}

/** --top-p in (0, 1], --top-k a whole number 0 (no limit) .. 256. */
export function checkCut(p: unknown, k: unknown): { topP: number; topK: number } {
  const what = 'a number above 0 and at most 1 (the share of probability kept; 1 = no cut)';
  const topP = number(p, '--top-p', what);
  if (!(topP > 0 && topP <= 1)) throw new UserError(`--top-p ${String(p)}: expected ${what}`);
  const kw = 'a whole number from 0 (no limit) to 256';
  const topK = number(k, '--top-k', kw);
  if (!Number.isInteger(topK) || topK < 0 || topK > 256) throw new UserError(`--top-k ${String(k)}: expected ${kw}`);
  return { topP, topK };
}
