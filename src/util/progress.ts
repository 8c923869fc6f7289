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
 *   Rate is done/elapsed; ETA is (total - done) / rate. A total of 0 or undefined hides bar and ETA.
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
  /** Final render and newline; idempotent. */
  stop(): void;
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

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  const unit = opts.unit ?? '';
  const start = Date.now();
  let total = opts.total ?? 0;
  let done = 0;
  let extra = '';
  let stopped = false;

  const line = (withBar: boolean, barText = ''): string => {
    const elapsed = (Date.now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : NaN;
    const parts = [opts.label];
    if (total > 0 && withBar) parts.push(`[${barText}]`);
    parts.push(total > 0 ? `${done}/${total}${unit ? ' ' + unit : ''}` : `${done}${unit ? ' ' + unit : ''}`);
    let s = parts.join(' ');
    if (elapsed >= 1 && done > 0) s += ` | ${formatRate(rate)} ${unit || 'units'}/s`;
    if (total > 0 && done > 0 && done < total) s += ` | ETA ${formatEta((total - done) / rate)}`;
    if (extra) s += ` | ${extra}`;
    return s;
  };

  if (opts.silent) {
    return {
      update(d, e) { done = d; if (e !== undefined) extra = e; },
      increment(n = 1, e) { done += n; if (e !== undefined) extra = e; },
      setTotal(t) { total = t; },
      log(l) { stream.write(l.endsWith('\n') ? l : l + '\n'); },
      stop() { stopped = true; },
    };
  }

  if (stream.isTTY) {
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
          return line(true, '#'.repeat(filled) + '-'.repeat(size - filled));
        },
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0);
    return {
      update(d, e) { done = d; if (e !== undefined) extra = e; if (!stopped) bar.update(done); },
      increment(n = 1, e) { done += n; if (e !== undefined) extra = e; if (!stopped) bar.update(done); },
      setTotal(t) { total = t; if (!stopped) bar.setTotal(Math.max(t, 1)); },
      log(l) {
        stream.write('\r\x1b[2K' + (l.endsWith('\n') ? l : l + '\n'));
        if (!stopped) bar.render();
      },
      stop() {
        if (stopped) return;
        stopped = true;
        bar.update(done);
        bar.stop();
      },
    };
  }

  // Not a TTY: plain lines on a timer.
  const every = Math.max(0.2, opts.intervalSeconds ?? 5) * 1000;
  const timer = setInterval(() => stream.write(line(false) + '\n'), every);
  timer.unref();
  return {
    update(d, e) { done = d; if (e !== undefined) extra = e; },
    increment(n = 1, e) { done += n; if (e !== undefined) extra = e; },
    setTotal(t) { total = t; },
    log(l) { stream.write(l.endsWith('\n') ? l : l + '\n'); },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(line(false) + '\n');
    },
  };
}
