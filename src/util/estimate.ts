/**
 * "How long will this take?" before long synthesis work, from a short measured warm-up (never a
 * guess from a table): synth and render time their first generate calls, and when the whole job
 * would take more than a minute they say so up front, with what would make it faster.
 *
 *   const est = new DurationEstimate({ what: 'synth', total, hints });
 *   n = est.nextBlock(BLOCK, total - done);       // small blocks while warming up (synth)
 *   ... generate n ...; const line = est.record(done, performance.now()); if (line) log(line);
 *
 * The first call is left out of the measurement (it pays for thread start-up and priming), and the
 * warm-up spans at least 3 s and three calls (the rate is taken over its later half), so one stall
 * of a busy machine does not decide it.
 */
import type { ModelConfig } from '../model/config.js';
import { formatEta } from './progress.js';

export interface EstimateOptions {
  /** Command name at the start of the line. */
  what: string;
  /** Units of work in all (samples, seconds of audio). */
  total: number;
  /** Say something only when the expected time left is above this (default 60 s). */
  thresholdSeconds?: number;
  /** Measure at least this long after the first call (default 3 s; the first calls are often slow). */
  warmupSeconds?: number;
  /** What would be faster, e.g. from fasterHints(). */
  hints?: string[];
  /** Describes the measured rate for the line, e.g. (r) => `${r.toFixed(0)} samples/s`. */
  rateText?: (unitsPerSecond: number) => string;
}

export class DurationEstimate {
  private ref: { t: number; done: number } | null = null;
  private points: { t: number; done: number }[] = [];
  private finished = false;
  private emitted = 0;
  private calls = 0;

  constructor(private readonly o: EstimateOptions) {}

  /** Whether the warm-up measurement is over. */
  get measured(): boolean {
    return this.finished;
  }

  /**
   * Block size for the next generate call: 1024, 1024, 2048, then `full` (when full is 4096):
   * smaller calls first so the measurement starts soon, adding up to exactly one `full` block so
   * that later blocks stay on multiples of `full`.
   */
  nextBlock(full: number, left: number): number {
    const first = Math.max(1, Math.floor(full / 4));
    const n = this.emitted >= full ? full : this.emitted === 0 ? first : Math.min(this.emitted, full - this.emitted);
    const take = Math.min(n, left);
    this.emitted += take;
    return take;
  }

  /**
   * Records that `done` units are finished at time `tMs` (performance.now()). Returns the estimate
   * line once, when the warm-up is over (at least warmupSeconds and three calls after the first) and
   * the time left is above the threshold.
   */
  record(done: number, tMs: number): string | undefined {
    if (this.finished || done <= 0) return undefined;
    if (!this.ref) {
      this.ref = { t: tMs, done };
      return undefined;
    }
    this.calls++;
    this.points.push({ t: tMs, done });
    const dt = (tMs - this.ref.t) / 1000;
    if (done >= this.o.total) {
      this.finished = true;
      return undefined;
    }
    if (dt < (this.o.warmupSeconds ?? 3) || this.calls < 3 || done <= this.ref.done) return undefined;
    this.finished = true;
    // The rate over the later half of the warm-up: the first calls are slower (thread start-up,
    // caches; render grows its calls), so the later half is closer to the pace that follows.
    const half = tMs - (dt * 1000) / 2;
    let from = this.ref;
    for (const p of this.points) if (p.t <= half && p !== this.points[this.points.length - 1]) from = p;
    const rate = (done - from.done) / ((tMs - from.t) / 1000);
    const left = (this.o.total - done) / rate;
    if (!(left > (this.o.thresholdSeconds ?? 60))) return undefined;
    const hints = this.o.hints ?? [];
    return (
      `${this.o.what}: this will take about ${formatEta(left)} ` +
      `(measured ${this.o.rateText ? this.o.rateText(rate) : `${rate.toFixed(1)}/s`} over ${dt.toFixed(1)} s)` +
      (hints.length ? `; faster: ${hints.join(', ')}` : '')
    );
  }
}

/** What would make synthesis of this model faster here (for the estimate line). */
export function fasterHints(config: ModelConfig, device: 'cpu' | 'cuda'): string[] {
  const hints: string[] = [];
  // Only what is smaller than this model: halve the channels, fewer layers.
  const smaller: string[] = [];
  if (config.dilations.length > 16) smaller.push('fewer --dilations');
  if (config.residual > 32) smaller.push(`--residual-channels ${Math.ceil(config.residual / 2)}`);
  if (config.skip > 128) smaller.push(`--skip-channels ${Math.ceil(config.skip / 2)}`);
  if (smaller.length > 0) {
    hints.push(
      `a smaller model (this one: ${config.dilations.length} layers, residual ${config.residual}, skip ${config.skip}; train with ${smaller.join(', ')})`,
    );
  }
  if (device === 'cpu') {
    const p = process.env.WAVENET_SYNTH_PRECISION;
    if (p !== 'bf16' && p !== 'fp16')
      hints.push('WAVENET_SYNTH_PRECISION=fp16 or bf16 (half-size weights; bf16 on CPUs with AVX512-BF16)');
    hints.push('--device cuda (an NVIDIA GPU)');
  }
  return hints;
}

/** A temperature for display: at most 3 decimals, no trailing zeros (0.966667 -> 0.967). */
export function formatTemperature(t: number): string {
  return String(Number(t.toFixed(3)));
}
