/**
 * A shared progress line for long commands (ingest, train, render), built on cli-progress.
 *
 *   const p = createProgress({ label: 'ingest', total: files.length, unit: 'files', silent: argv.json });
 *   p.update(done, 'extra text: 12.0 s audio, 80x real time');   // or p.increment(1, '...')
 *   p.log('a message line');                                   // printed above the bar, never torn
 *   p.stop();                                                  // final render, then a newline
 *
 * - On a TTY (stderr by default) it is a bar redrawn in place, at most every 100 ms.
 * - On a pipe or file it prints one plain line every `intervalMs` (default 5 s) and one at stop,
 *   so CI logs show progress without control characters.
 * - `silent: true` (use it for --json) prints nothing at all; log() lines still go to the stream
 *   because they are messages the user must see (warnings, rejected files).
 * - The line shows `label [bar] done/total unit | rate unit/s | ETA` plus the caller's extra text.
 *   A total of 0 or undefined hides bar and ETA.
 * - Rate and ETA do not swing: the rate is measured only when the count changes, over a recent
 *   window (RateMeter: start-up and the first slow calls drop out); between updates the ETA counts
 *   down with the clock instead of being recomputed from a rate that decays until the next block lands.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** Short name at the start of the line, e.g. 'ingest'. */
  label: string;
  /** Number of units in all; 0/undefined when unknown (no bar, no ETA). */
  total?: number;
  /** Name of the unit counted, e.g. 'files' or 'steps'. */
  unit?: string;
  /** Print nothing (for --json). */
  silent?: boolean;
  /** Where to draw (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when the stream is not a TTY (default 5). */
  intervalSeconds?: number;
  /** Clock in milliseconds (default Date.now; tests pass a fake one). */
  now?: () => number;
}

export interface Progress {
  /** Set the number of units done, with optional extra text shown after the standard fields. */
  update(done: number, extra?: string): void;
  /** Add `n` units done (default 1). */
  increment(n?: number, extra?: string): void;
  /** Change the total (e.g. once a folder walk has finished). */
  setTotal(total: number): void;
  /** Print a message line without tearing the bar. */
  log(line: string): void;
  /** Final render and newline; idempotent. `{ clear: true }` removes the line instead (nothing worth keeping). */
  stop(opts?: { clear?: boolean }): void;
}

/** Human duration for an ETA: 42s, 3m05s, 1h02m. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(r: number): string {
  if (!Number.isFinite(r)) return '--';
  if (r >= 100) return r.toFixed(0);
  if (r >= 10) return r.toFixed(1);
  return r.toFixed(2);
}

/**
 * Rate of a count that advances in steps (blocks of samples, files), measured at the moments it
 * advances, over a recent window (the last 10 s, or the last quarter of the run when that is
 * longer): start-up and the first slow calls drop out, a stall is averaged over several blocks.
 * Before a second advance it is the count over the time since the start. eta() counts down with
 * the clock between advances.
 */
export class RateMeter {
  private points: { t: number; done: number }[] = [];
  private firstT: number | null = null;

  constructor(private readonly start: number) {}

  /** Record the count `done` at time `t` (ms); a count that did not change is ignored. */
  observe(done: number, t: number): void {
    const last = this.points[this.points.length - 1];
    if (done <= 0 || (last && done === last.done)) return;
    if (last && done < last.done) this.points = []; // restarted
    this.points.push({ t, done });
    this.firstT ??= t;
    // Keep one point before the window; older ones can never be in a later window.
    const from = t - this.windowMs(t);
    let k = 0;
    while (k + 1 < this.points.length && this.points[k + 1].t <= from) k++;
    if (k > 0) this.points.splice(0, k);
  }

  private windowMs(t: number): number {
    return Math.max(10_000, 0.25 * (t - (this.firstT ?? t)));
  }

  /** Units per second, NaN before the first advance. */
  rate(): number {
    const n = this.points.length;
    if (n === 0) return NaN;
    const l = this.points[n - 1];
    if (n === 1) return l.t > this.start ? l.done / ((l.t - this.start) / 1000) : NaN;
    const from = l.t - this.windowMs(l.t);
    let i = 0;
    while (i < n - 2 && this.points[i + 1].t <= from) i++;
    const p = this.points[i];
    return l.t > p.t ? (l.done - p.done) / ((l.t - p.t) / 1000) : NaN;
  }

  /** Seconds until `total`, as of time `now` (ms). */
  eta(total: number, now: number): number {
    const r = this.rate();
    const l = this.points[this.points.length - 1];
    if (!l || !(r > 0)) return NaN;
    return Math.max(0, (total - l.done) / r - (now - l.t) / 1000);
  }
}

/** What every kind of progress line shares: the count, the total, the caller's extra text and the rate. */
class ProgressState {
  readonly start: number;
  readonly meter: RateMeter;
  total: number;
  done = 0;
  extra = '';
  stopped = false;
  private readonly unit: string;

  constructor(
    private readonly opts: ProgressOptions,
    private readonly clock: () => number,
  ) {
    this.start = clock();
    this.meter = new RateMeter(this.start);
    this.total = opts.total ?? 0;
    this.unit = opts.unit ?? '';
  }

  /** Sets the count (and the extra text, when given). */
  set(d: number, extra: string | undefined): void {
    this.done = d;
    this.meter.observe(d, this.clock());
    if (extra !== undefined) this.extra = extra;
  }

  /** `label [bar] done/total unit | rate unit/s | ETA | extra`. */
  line(withBar: boolean, barText = ''): string {
    const { unit, done, total } = this;
    const now = this.clock();
    const rate = this.meter.rate();
    const parts = [this.opts.label];
    if (total > 0 && withBar) parts.push(`[${barText}]`);
    parts.push(total > 0 ? `${done}/${total}${unit ? ' ' + unit : ''}` : `${done}${unit ? ' ' + unit : ''}`);
    let s = parts.join(' ');
    const shown = (now - this.start) / 1000 >= 1 && done > 0 && rate > 0;
    if (shown) s += ` | ${formatRate(rate)} ${unit || 'units'}/s`;
    if (shown && total > 0 && done < total) s += ` | ETA ${formatEta(this.meter.eta(total, now))}`;
    if (this.extra) s += ` | ${this.extra}`;
    return s;
  }
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const state = new ProgressState(opts, opts.now ?? Date.now);
  if (opts.silent) {
    return {
      ...quietProgress(state, stream),
      stop() {
        state.stopped = true;
      },
    };
  }
  return stream.isTTY
    ? barProgress(state, stream)
    : plainProgress(state, stream, Math.max(0.2, opts.intervalSeconds ?? 5) * 1000);
}

/** What the silent and the plain progress share: counting into `state` draws nothing; log lines go to `stream`. */
function quietProgress(state: ProgressState, stream: NodeJS.WriteStream): Omit<Progress, 'stop'> {
  return {
    update(d, e) {
      state.set(d, e);
    },
    increment(n = 1, e) {
      state.set(state.done + n, e);
    },
    setTotal(t) {
      state.total = t;
    },
    log(l) {
      stream.write(l.endsWith('\n') ? l : l + '\n');
    },
  };
}

/** On a terminal: a bar redrawn in place (cli-progress, at most 10 times a second). */
function barProgress(state: ProgressState, stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      fps: 10,
      barsize: 24,
      hideCursor: false,
      clearOnComplete: false,
      stopOnComplete: false,
      linewrap: false,
      format: (o: cliProgress.Options, params: cliProgress.Params) => {
        const size = o.barsize ?? 24;
        const filled = Math.round(Math.max(0, Math.min(1, params.progress)) * size);
        return state.line(true, '#'.repeat(filled) + '-'.repeat(size - filled));
      },
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(state.total, 1), 0);
  return {
    update(d, e) {
      state.set(d, e);
      if (!state.stopped) bar.update(state.done);
    },
    increment(n = 1, e) {
      state.set(state.done + n, e);
      if (!state.stopped) bar.update(state.done);
    },
    setTotal(t) {
      state.total = t;
      if (!state.stopped) bar.setTotal(Math.max(t, 1));
    },
    log(l) {
      stream.write('\r\x1b[2K' + (l.endsWith('\n') ? l : l + '\n'));
      if (!state.stopped) bar.render();
    },
    stop(o) {
      if (state.stopped) return;
      state.stopped = true;
      bar.update(state.done);
      bar.stop();
      if (o?.clear) stream.write('\x1b[1A\r\x1b[2K');
    },
  };
}

/** Not a terminal: a plain line every `everyMs`, and one at the end. */
function plainProgress(state: ProgressState, stream: NodeJS.WriteStream, everyMs: number): Progress {
  const timer = setInterval(() => stream.write(state.line(false) + '\n'), everyMs);
  timer.unref();
  return {
    ...quietProgress(state, stream),
    stop(o) {
      if (state.stopped) return;
      state.stopped = true;
      clearInterval(timer);
      if (state.done > 0 && !o?.clear) stream.write(state.line(false) + '\n'); // a line of zeros says nothing
    },
  };
}
