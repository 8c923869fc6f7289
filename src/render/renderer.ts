/**
 * The batched render loop behind `wavenet render`.
 *
 * Textures are generated as parallel streams of one batched synthesizer (src/synth Synthesizer over
 * wn_synth, batch B): every generate call advances all B streams by one chunk, each with its own seed
 * and temperature. More
 * textures than B are done in waves. A wave holds textures that are all primed or all unprimed, and
 * of similar lengths (sorted longest first), so that a texture's audio never depends on which other
 * textures share its wave:
 *   - an unprimed stream starts from reset (silence pending, zero history), like `wavenet synth`;
 *   - a primed stream is primed with exactly `receptiveField` classes: the end of its prime file
 *     (resampled to the model rate, mu-law encoded), left-padded with silence when shorter.
 * When a stream has produced its samples, its texture is finished right away (loop fold, fades,
 * normalization, meters, WAV written under a temporary name and renamed, index.json rewritten
 * atomically), so an interrupted render keeps every texture finished so far.
 */
import type { FaultHook } from '../util/faults.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { LIMITS, readRegularFile, sha256RegularFile } from '../util/files.js';
import { ioError, makeDirs } from '../util/io-errors.js';
import { basename, dirname, join } from 'node:path';
import wavefile from 'wavefile';
import { native, type NativeSynth } from '../native.js';
import { receptiveField, toNative, type ModelConfig } from '../model/config.js';
import { MODEL_RATE, Synthesizer } from '../synth/synthesizer.js';
import { isAtomicTemp, writeFileAtomic } from '../util/atomic.js';
import { UserError } from '../util/errors.js';
import {
  applyFades,
  DcBlocker,
  decodeClasses,
  formatNormalize,
  loopFold,
  normalize,
  type NormalizeTarget,
} from './dsp.js';
import { levelReport } from './loudness.js';
import { encodeWav, type WavSampleFormat } from '../audio/wav-writer.js';
import { DATASET_PRIME, primeFromDataset } from '../synth/prime-dataset.js';
import {
  readIndex,
  sameSettings,
  writeIndex,
  type ModelRecord,
  type RenderIndex,
  type TextureRecord,
  type TextureSettings,
} from './index-file.js';
import { spectrogramGrid, type SpectrogramGrid } from './spectrogram.js';
import { SHEET_COLUMNS, SHEET_ROWS, writeContactSheet, type SheetEntry } from './contact-sheet.js';
import { checkTexturePaths, type TextureSpec } from './spec.js';
import { checkSynthMemory } from '../model/memory.js';
import { takePidLock } from '../util/lock.js';

export { MODEL_RATE };
const { WaveFile } = wavefile;
export const INDEX_NAME = 'index.json';
export const SHEET_NAME = 'contact-sheet.png';

export interface LoadedModel {
  /** Checkpoint path as given. */
  path: string;
  /** sha256 of the checkpoint file. */
  sha256: string;
  step: number;
  config: ModelConfig;
  params: Float32Array;
  /** The checkpoint's safetensors metadata (for `--prime dataset`: which dataset it was trained on). */
  metadata?: Record<string, string>;
}

export type SynthFactory = (
  config: ModelConfig,
  params: Float32Array,
  batch: number,
  device: 'cpu' | 'cuda',
) => NativeSynth;

export interface RenderProgress {
  texturesDone: number;
  texturesTotal: number;
  /** Textures skipped because they were already complete. */
  texturesSkipped: number;
  /** Seconds of audio generated in this run so far (all streams), and in all. */
  audioDone: number;
  audioTotal: number;
  elapsed: number;
  /** audioDone / elapsed. */
  xRealTime: number;
  etaSeconds: number;
}

export interface RenderOptions {
  outDir: string;
  /**
   * Test-only fault injection: called with the texture's number in this run (from 1) at `wav-partial`
   * (half of the WAV's temporary file written), `after-wav` (WAV renamed into place, index.json not yet
   * updated) and `after-index` (index.json updated).
   */
  faultHook?: FaultHook;
  textures: TextureSpec[];
  model: LoadedModel;
  /** Output sample rate (default MODEL_RATE). Other rates are resampled with `resample`. */
  sampleRate?: number;
  resample?: (x: Float32Array, from: number, to: number) => Promise<Float32Array>;
  /** Reads a prime file as mono float samples at `rate` Hz. */
  decodePrime?: (path: string, rate: number) => Promise<Float32Array>;
  crossfade: number;
  fadeIn: number;
  fadeOut: number;
  normalize: NormalizeTarget | null;
  /** Sampling cut of every stream (default: no cut). */
  topP?: number;
  topK?: number;
  /** Write the model's samples untouched (no DC blocker). Default false: DC blocked first. */
  raw?: boolean;
  /** WAV sample format (default s16). */
  format?: WavSampleFormat;
  /** Seconds generated and dropped at the start of every texture (default 0). */
  warmup?: number;
  batch: number;
  device: 'cpu' | 'cuda';
  /**
   * Steps per generate call. Default: adaptive, about 0.5 s of wall time per call (so progress and
   * Ctrl-C stay responsive with large batches and models), 64 to 16000 steps. The audio does not
   * depend on it.
   */
  chunk?: number;
  command?: string[];
  contactSheet?: boolean;
  onProgress?: (p: RenderProgress) => void;
  onLog?: (line: string) => void;
  /** Checked between generate calls; when true the render stops (finished textures are kept). */
  shouldStop?: () => boolean;
  /** For tests: how to build the native synth (default: the addon's). */
  createSynth?: SynthFactory;
}

export interface RenderResult {
  outDir: string;
  index: string;
  contactSheet: string | null;
  rendered: string[];
  skipped: string[];
  textures: TextureRecord[];
  /** Seconds of audio generated by the network in this run (all streams, loop tails included). */
  audioSeconds: number;
  elapsed: number;
  xRealTime: number;
  stopped: boolean;
}

/** sha256 of a regular file (constant memory; a FIFO or device is refused). */
export function sha256File(path: string): string {
  return sha256RegularFile(path, { what: '' });
}

interface Job {
  spec: TextureSpec;
  settings: TextureSettings;
  /** Samples the network generates at the model rate (texture + loop tail). */
  genSamples: number;
  order: number;
}

function settingsFor(t: TextureSpec, o: RenderOptions, primeSha: Map<string, string>): TextureSettings {
  return {
    seconds: t.seconds,
    seed: t.seed,
    temperature: t.temperature,
    prime: t.prime,
    primeSha256: t.prime && t.prime !== DATASET_PRIME ? primeSha.get(t.prime)! : null,
    loop: t.loop,
    crossfade: t.loop ? o.crossfade : 0,
    fadeIn: o.fadeIn,
    fadeOut: o.fadeOut,
    normalize: o.normalize ? formatNormalize(o.normalize) : null,
    sampleRate: o.sampleRate ?? MODEL_RATE,
    modelSha256: o.model.sha256,
    topP: o.topP ?? 1,
    topK: o.topK ?? 0,
    dcBlock: !o.raw,
    format: o.format ?? 's16',
    warmup: o.warmup ?? 0,
  };
}

/** 16-bit PCM mono WAV bytes of x (clamped to [-1, 1]); also returns the samples as written. */
export function encodeWav16(x: Float32Array, rate: number): { bytes: Uint8Array; written: Float32Array } {
  const pcm = new Int16Array(x.length);
  const written = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]));
    const q = Math.round(v * 32767);
    pcm[i] = q;
    written[i] = q / 32767;
  }
  const w = new WaveFile();
  w.fromScratch(1, rate, '16', pcm);
  return { bytes: w.toBuffer(), written };
}

/** Mono float samples of a WAV written by render (16-bit: the scale of encodeWav16; or 32-bit float). */
export function readWav16(path: string): { rate: number; samples: Float32Array } {
  const w = new WaveFile(readRegularFile(path, { what: '', maxBytes: LIMITS.wavBytes }));
  const fmt = w.fmt as { sampleRate: number; numChannels: number };
  const raw = w.getSamples(false, Float64Array) as unknown as Float64Array;
  const scale = (w.fmt as { audioFormat: number }).audioFormat === 3 ? 1 : 1 / 32767; // float WAVs hold the samples as they are
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] * scale;
  return { rate: fmt.sampleRate, samples: out };
}

/** Whether a recorded texture is finished: its WAV exists with the recorded size and hash. */
function isComplete(dir: string, r: TextureRecord): boolean {
  const p = join(dir, r.file);
  if (!existsSync(p)) return false;
  if (statSync(p).size !== r.bytes) return false;
  return sha256File(p) === r.sha256;
}

function removeStaleTemps(dir: string, names: string[]): void {
  const byDir = new Map<string, Set<string>>();
  for (const n of names) {
    const d = dirname(join(dir, `${n}.wav`));
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(basename(`${n}.wav`));
  }
  for (const [d, files] of byDir) {
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d)) {
      if (!isAtomicTemp(e)) continue;
      const target = e.slice(1).replace(/\.tmp-\d+-[0-9a-f]{8}$/, '');
      if (files.has(target) || (d === dir && (target === 'index.json' || target === SHEET_NAME))) {
        try {
          unlinkSync(join(d, e));
        } catch {
          /* already gone */
        }
      }
    }
  }
}

function textureLines(r: TextureRecord): string[] {
  const lines = [
    `seed ${r.seed}  temperature ${r.temperature}`,
    `${r.duration.toFixed(r.duration < 10 ? 2 : 1)} s${r.loop ? `  loop (crossfade ${r.crossfade} s)` : ''}`,
    `${r.loudnessLufs === null ? '-inf' : r.loudnessLufs.toFixed(1)} LUFS  peak ${r.peakDbfs === null ? '-inf' : r.peakDbfs.toFixed(1)} dBFS`,
    ...(r.rmsDbfs !== undefined
      ? [`RMS ${r.rmsDbfs === null ? '-inf' : r.rmsDbfs.toFixed(1)} dBFS  DC ${(r.dc ?? 0).toFixed(4)}`]
      : []),
  ];
  if (r.prime) lines.push(`prime ${basename(r.prime)}`);
  if (r.limited) lines.push(`limited ${r.limiterReductionDb.toFixed(1)} dB`);
  return lines;
}

/** Creates the output folder and takes DIR/.render.lock (a UserError when another live render holds it). */
function prepareOutDir(dir: string): () => void {
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new UserError(`--out-dir ${dir}: exists and is not a folder`);
  makeDirs(dir, '--out-dir');
  try {
    return takePidLock(
      join(dir, '.render.lock'),
      (pid) => `--out-dir ${dir} is in use by another \`wavenet render\` (pid ${pid}); wait for it or stop it first`,
    );
  } catch (e) {
    throw ioError(e, join(dir, '.render.lock'), 'write', '--out-dir lock');
  }
}

/** Renders every texture of the plan that is not already complete in outDir. */
export async function render(o: RenderOptions): Promise<RenderResult> {
  const release = prepareOutDir(o.outDir);
  try {
    return await renderLocked(o);
  } finally {
    release();
  }
}

/**
 * A render in four stages: plan and resume (what is already done, primes, index.json written), the wave
 * runner (batched generation), the texture finisher (each texture written as soon as its stream is done)
 * and the contact sheet over the finished textures.
 */
async function renderLocked(o: RenderOptions): Promise<RenderResult> {
  const t0 = performance.now();
  const p = await planRender(o);
  const meter = new RenderMeter(o, p, t0);
  meter.report();
  if (p.skipped.length)
    o.onLog?.(
      `render: ${p.skipped.length} of ${p.jobs.length} textures already complete in ${o.outDir}, skipping them`,
    );
  const finisher = new TextureFinisher(o, p, meter);
  const stopped = await runWaves(o, p, finisher, meter);
  const sheet = o.contactSheet !== false && !stopped ? await writeSheet(o, p, finisher.grids) : null;
  const elapsed = (performance.now() - t0) / 1000;
  return {
    outDir: o.outDir,
    index: p.indexPath,
    contactSheet: sheet,
    rendered: finisher.rendered,
    skipped: p.skipped.map((j) => j.spec.name),
    textures: p.index.textures.filter((r) => p.jobs.some((j) => j.spec.name === r.name)),
    audioSeconds: meter.audioDone,
    elapsed,
    xRealTime: elapsed > 0 ? meter.audioDone / elapsed : 0,
    stopped,
  };
}

// ---- Stage 1: plan and resume ----

/** What the render will do, decided before the first texture is generated. */
interface RenderPlan {
  /** Output sample rate. */
  rate: number;
  indexPath: string;
  /** index.json as written so far (records of the textures about to be redone are dropped). */
  index: RenderIndex;
  /** Every texture of the plan, in plan order. */
  jobs: Job[];
  /** Textures already complete in the output folder (same settings, WAV intact): not redone. */
  skipped: Job[];
  pending: Job[];
  /** Samples generated and dropped at the start of every texture (--warmup). */
  warmSamples: number;
  /** The texture's prime (receptiveField classes), undefined when it has none. */
  primeOf: (j: Job) => Uint8Array | undefined;
}

/**
 * Checks the options, reads index.json, decides which textures are still to do, decodes their primes,
 * checks memory and paths, clears stale temporary files and writes index.json without the records of
 * the textures about to be redone. Everything that can refuse the render does so before any audio is written.
 */
async function planRender(o: RenderOptions): Promise<RenderPlan> {
  const rate = o.sampleRate ?? MODEL_RATE;
  if (rate !== MODEL_RATE && !o.resample)
    throw new Error('render: sampleRate differs from the model rate but no resampler was given');
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new UserError(`--batch ${o.batch}: must be a whole number >= 1`);

  const indexPath = join(o.outDir, INDEX_NAME);
  const index: RenderIndex = readIndex(indexPath);
  const rf = receptiveField(o.model.config);
  const modelRecord: ModelRecord = {
    checkpoint: o.model.path,
    sha256: o.model.sha256,
    step: o.model.step,
    config: o.model.config,
    receptiveField: rf,
    sampleRate: MODEL_RATE,
  };
  index.model = modelRecord;
  if (o.command) index.command = o.command;

  const warmSamples = Math.round((o.warmup ?? 0) * MODEL_RATE);
  const { jobs, skipped, pending } = planJobs(o, index, warmSamples);
  const primeOf = await loadPrimes(o, pending, rf);

  if (pending.length > 0) {
    const longest = Math.max(...pending.map((j) => j.genSamples));
    checkSynthMemory(
      o.model.config,
      Math.min(o.batch, pending.length),
      o.device,
      Math.ceil((longest * rate) / MODEL_RATE),
    );
  }
  // Every WAV path must be free to write (no folder or file in the way) before the first texture.
  checkTexturePaths(
    o.outDir,
    pending.map((j) => j.spec.name),
  );
  removeStaleTemps(
    o.outDir,
    pending.map((j) => j.spec.name),
  );
  // Drop records of textures about to be redone: they are not complete any more once we start writing.
  const redo = new Set(pending.map((j) => j.spec.name));
  index.textures = index.textures.filter((r) => !redo.has(r.name));
  sortIndex(index, jobs);
  await writeIndex(indexPath, index);
  return { rate, indexPath, index, jobs, skipped, pending, warmSamples, primeOf };
}

/** The jobs of the plan, split into those already complete in outDir (skipped) and those to do. */
function planJobs(
  o: RenderOptions,
  index: RenderIndex,
  warmSamples: number,
): { jobs: Job[]; skipped: Job[]; pending: Job[] } {
  // Primes: hash each file once.
  const primeSha = new Map<string, string>();
  for (const t of o.textures)
    if (t.prime && t.prime !== DATASET_PRIME && !primeSha.has(t.prime)) primeSha.set(t.prime, sha256File(t.prime));

  const jobs: Job[] = o.textures.map((spec, order) => {
    const settings = settingsFor(spec, o, primeSha);
    const cf = spec.loop ? Math.round(o.crossfade * MODEL_RATE) : 0;
    return { spec, settings, genSamples: Math.max(1, Math.round(spec.seconds * MODEL_RATE)) + cf + warmSamples, order };
  });
  for (const j of jobs) {
    if (j.spec.loop && o.crossfade > j.spec.seconds) {
      throw new UserError(
        `--crossfade ${o.crossfade}s is longer than texture ${j.spec.name} (${j.spec.seconds} s); use a shorter crossfade`,
      );
    }
  }
  // What is already done?
  const recordByName = new Map(index.textures.map((r) => [r.name, r] as const));
  const skipped: Job[] = [];
  const pending: Job[] = [];
  for (const j of jobs) {
    const r = recordByName.get(j.spec.name);
    if (r && sameSettings(r, j.settings) && isComplete(o.outDir, r)) skipped.push(j);
    else pending.push(j);
  }
  return { jobs, skipped, pending };
}

/**
 * Prime classes, `rf` of each, per distinct prime file (decoded before anything is written) and per
 * texture primed from the model's dataset; returns the lookup of a job's prime.
 */
async function loadPrimes(o: RenderOptions, pending: Job[], rf: number): Promise<(j: Job) => Uint8Array | undefined> {
  const primeClasses = new Map<string, Uint8Array>();
  const datasetPrimes = new Map<string, Uint8Array>(); // by texture name
  for (const j of pending) {
    const p = j.spec.prime;
    if (p === DATASET_PRIME) {
      // a random stretch of the model's own training data, chosen by the texture's seed
      const d = await primeFromDataset(o.model.path, o.model.metadata ?? {}, rf, BigInt(j.spec.seed));
      const c = new Uint8Array(rf).fill(128);
      c.set(d.classes, rf - d.classes.length);
      datasetPrimes.set(j.spec.name, c);
      continue;
    }
    if (!p || primeClasses.has(p)) continue;
    if (!o.decodePrime) throw new Error('render: textures have primes but no prime decoder was given');
    const audio = await o.decodePrime(p, MODEL_RATE);
    const tail = audio.subarray(Math.max(0, audio.length - rf));
    const q = native().mulawEncode(Float32Array.from(tail));
    const c = new Uint8Array(rf).fill(128);
    c.set(q, rf - q.length);
    primeClasses.set(p, c);
  }
  return (j) =>
    j.spec.prime === DATASET_PRIME
      ? datasetPrimes.get(j.spec.name)
      : j.spec.prime
        ? primeClasses.get(j.spec.prime)
        : undefined;
}

/** Keeps records of the plan in plan order, then any others (from other commands in the same folder). */
function sortIndex(index: RenderIndex, jobs: Job[]): void {
  const pos = new Map(jobs.map((j) => [j.spec.name, j.order] as const));
  index.textures.sort((a, b) => (pos.get(a.name) ?? 1e15) - (pos.get(b.name) ?? 1e15));
}

/** Counts what is done and reports progress (rate and ETA over the audio generated in this run). */
class RenderMeter {
  audioDone = 0;
  texturesDone: number;
  private readonly audioTotal: number;

  constructor(
    private readonly o: RenderOptions,
    private readonly p: RenderPlan,
    private readonly t0: number,
  ) {
    this.texturesDone = p.skipped.length;
    this.audioTotal = p.pending.reduce((a, j) => a + j.genSamples, 0) / MODEL_RATE;
  }

  report(): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    const x = elapsed > 0 ? this.audioDone / elapsed : 0;
    this.o.onProgress?.({
      texturesDone: this.texturesDone,
      texturesTotal: this.p.jobs.length,
      texturesSkipped: this.p.skipped.length,
      audioDone: this.audioDone,
      audioTotal: this.audioTotal,
      elapsed,
      xRealTime: x,
      etaSeconds: x > 0 ? (this.audioTotal - this.audioDone) / x : NaN,
    });
  }
}

// ---- Stage 2: the wave runner ----

/** Waves: unprimed first, each group longest first, then slices of `batch`. */
function planWaves(pending: Job[], batch: number): Job[][] {
  const grouped = [...pending].sort((a, b) => {
    const pa = a.spec.prime ? 1 : 0;
    const pb = b.spec.prime ? 1 : 0;
    return pa - pb || b.genSamples - a.genSamples || a.order - b.order;
  });
  const waves: Job[][] = [];
  let cur: Job[] = [];
  for (const j of grouped) {
    if (cur.length && (cur.length >= batch || !!cur[0].spec.prime !== !!j.spec.prime)) {
      waves.push(cur);
      cur = [];
    }
    cur.push(j);
  }
  if (cur.length) waves.push(cur);
  return waves;
}

/**
 * A synth factory that keeps one native synth across waves of the same size (each Synthesizer resets
 * it at start): creating one costs weight repacking and thread start-up, which adds up with many small
 * waves. `free` frees the one kept (the synths handed out do not free it).
 */
function cachedSynthFactory(make: SynthFactory): { factory: SynthFactory; free: () => void } {
  let cached: NativeSynth | null = null;
  const factory: SynthFactory = (config, params, batch, device) => {
    if (!cached || cached.batch !== batch) {
      cached?.free();
      cached = null;
      cached = make(config, params, batch, device);
    }
    const real = cached;
    return {
      batch: real.batch,
      reset: () => real.reset(),
      prime: (classes, n) => real.prime(classes, n),
      generate: (n, t, seeds, wantLogits) => real.generate(n, t, seeds, wantLogits),
      setCut: (p, k) => real.setCut?.(p, k),
      free: () => {}, // freed when the render ends
    };
  };
  return { factory, free: () => (cached as NativeSynth | null)?.free() };
}

/**
 * Steps per generate call: as given (--chunk), or adapted after every call to about 0.5 s of wall time
 * (64 to 16000 steps). The audio does not depend on it.
 */
class ChunkSize {
  size: number;
  private readonly adaptive: boolean;

  constructor(chunk: number | undefined) {
    this.size = Math.max(1, Math.floor(chunk ?? 256));
    this.adaptive = chunk === undefined;
  }

  observe(steps: number, seconds: number): void {
    if (!this.adaptive) return;
    const perStep = seconds / steps;
    if (perStep > 0) this.size = Math.max(64, Math.min(16000, Math.round(0.5 / perStep)));
  }
}

interface WaveRunner {
  factory: SynthFactory;
  chunk: ChunkSize;
  finisher: TextureFinisher;
  meter: RenderMeter;
}

/** Generates every pending texture, wave by wave; true when stopped early (o.shouldStop). */
async function runWaves(
  o: RenderOptions,
  p: RenderPlan,
  finisher: TextureFinisher,
  meter: RenderMeter,
): Promise<boolean> {
  const synths = cachedSynthFactory(
    o.createSynth ?? ((c, params, b, d) => new (native().Synth)(toNative(c), params, b, d)),
  );
  const run: WaveRunner = { factory: synths.factory, chunk: new ChunkSize(o.chunk), finisher, meter };
  try {
    for (const wave of planWaves(p.pending, o.batch)) if (await runWave(o, p, wave, run)) return true;
    return false;
  } finally {
    synths.free();
  }
}

/**
 * One wave: one Synthesizer (src/synth) whose streams are the wave's textures, generated in chunks;
 * each texture is finished as soon as its stream has its samples. True when stopped early.
 */
async function runWave(o: RenderOptions, p: RenderPlan, wave: Job[], run: WaveRunner): Promise<boolean> {
  // Primes all have exactly `rf` classes, so none is padded on account of another.
  const synth = new Synthesizer({
    config: o.model.config,
    params: o.model.params,
    device: o.device,
    factory: run.factory,
    streams: wave.map((j) => ({
      seed: BigInt(j.spec.seed),
      temperature: j.spec.temperature,
      topP: o.topP,
      topK: o.topK,
      prime: p.primeOf(j),
    })),
  });
  try {
    await synth.start();
    const total = wave[0].genSamples; // longest first
    const out = wave.map((j) => new Uint8Array(j.genSamples));
    const done = wave.map(() => false);
    let t = 0;
    while (t < total) {
      if (o.shouldStop?.()) return true;
      const n = Math.min(run.chunk.size, total - t);
      const c0 = performance.now();
      const { classes } = await synth.generate(n);
      run.chunk.observe(n, (performance.now() - c0) / 1000);
      for (let s = 0; s < wave.length; s++) {
        const want = wave[s].genSamples;
        if (t >= want) continue;
        const m = Math.min(n, want - t);
        out[s].set(classes[s].subarray(0, m), t);
        run.meter.audioDone += m / MODEL_RATE;
      }
      t += n;
      for (let s = 0; s < wave.length; s++) {
        if (!done[s] && t >= wave[s].genSamples) {
          done[s] = true;
          await run.finisher.finish(wave[s], out[s]);
        }
      }
      run.meter.report();
    }
    return false;
  } finally {
    synth.free();
  }
}

// ---- Stage 3: the texture finisher ----

/**
 * A texture's audio at the output rate from its generated classes: DC blocker (warmed up over the
 * prime's audio), warm-up dropped, resampled, trimmed or held to length, loop fold, fades, normalization.
 */
async function shapeTexture(o: RenderOptions, p: RenderPlan, j: Job, classes: Uint8Array) {
  const rate = p.rate;
  let x = decodeClasses(classes);
  if (!o.raw) {
    // DC blocker first (before the loop fold, fades and normalization), warmed up over the prime's audio
    const dc = new DcBlocker(MODEL_RATE);
    const pr = p.primeOf(j);
    if (pr) dc.process(decodeClasses(pr));
    dc.process(x);
  }
  x = x.subarray(p.warmSamples); // the warm-up is dropped (after the DC blocker ran over it)
  if (rate !== MODEL_RATE) x = await o.resample!(x, MODEL_RATE, rate);
  const n = Math.max(1, Math.round(j.spec.seconds * rate));
  const c = j.spec.loop ? Math.min(n, Math.round(o.crossfade * rate)) : 0;
  if (x.length !== n + c) {
    const y = new Float32Array(n + c);
    y.set(x.subarray(0, n + c));
    for (let i = x.length; i < n + c; i++) y[i] = x.length ? x[x.length - 1] : 0;
    x = y;
  }
  const y = j.spec.loop ? loopFold(x, n) : x.slice(0, n);
  applyFades(y, o.fadeIn * rate, o.fadeOut * rate);
  let norm = { gainDb: 0, limited: false, limiterReductionDb: 0 };
  if (o.normalize) norm = normalize(y, o.normalize, rate, j.spec.loop && o.fadeIn === 0 && o.fadeOut === 0);
  return { y, norm };
}

/**
 * Writes each texture as soon as its stream is done: the WAV under a temporary name, renamed into
 * place, then its record in index.json (rewritten atomically), so an interrupted render keeps every
 * texture finished so far. The fault hook is called at `wav-partial`, `after-wav` and `after-index`.
 */
class TextureFinisher {
  /** Spectrograms of the textures written in this run (for the contact sheet). */
  readonly grids = new Map<string, SpectrogramGrid>();
  /** Names of the textures written in this run, in the order written. */
  readonly rendered: string[] = [];

  constructor(
    private readonly o: RenderOptions,
    private readonly p: RenderPlan,
    private readonly meter: RenderMeter,
  ) {}

  async finish(j: Job, classes: Uint8Array): Promise<void> {
    const { o, p } = this;
    const rate = p.rate;
    const { y: shaped, norm } = await shapeTexture(o, p, j, classes);
    const { bytes, written: y } = encodeWav(
      shaped,
      rate,
      o.format ?? 's16',
      j.spec.loop ? { start: 0, end: shaped.length - 1 } : undefined,
    );
    const levels = levelReport(y, rate);
    const file = `${j.spec.name}.wav`;
    const path = join(o.outDir, file);
    makeDirs(dirname(path), '--out-dir');
    const k = this.rendered.length + 1;
    await writeFileAtomic(path, bytes, { onPartial: o.faultHook?.(k, 'wav-partial') });
    o.faultHook?.(k, 'after-wav')?.();
    const rec: TextureRecord = {
      name: j.spec.name,
      file,
      ...j.settings,
      samples: y.length,
      duration: y.length / rate,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      peakDbfs: levels.peakDbfs,
      loudnessLufs: levels.loudnessLufs,
      rmsDbfs: levels.rmsDbfs,
      dc: Math.round(levels.dc * 1e6) / 1e6,
      dcMaxBlock: Math.round(levels.dcMaxBlock * 1e6) / 1e6,
      gainDb: Math.round(norm.gainDb * 1000) / 1000,
      limited: norm.limited,
      limiterReductionDb: Math.round(norm.limiterReductionDb * 1000) / 1000,
      rendered: new Date().toISOString(),
    };
    if (o.contactSheet !== false) this.grids.set(j.spec.name, spectrogramGrid(y, rate, SHEET_COLUMNS, SHEET_ROWS));
    p.index.textures = p.index.textures.filter((r) => r.name !== rec.name);
    p.index.textures.push(rec);
    sortIndex(p.index, p.jobs);
    await writeIndex(p.indexPath, p.index);
    o.faultHook?.(k, 'after-index')?.();
    this.rendered.push(j.spec.name);
    this.meter.texturesDone++;
  }
}

// ---- Stage 4: index and contact sheet ----

/**
 * The contact sheet over every finished texture of the plan (re-reading those from earlier runs),
 * recorded in index.json; null when no texture of the plan is finished.
 */
async function writeSheet(
  o: RenderOptions,
  p: RenderPlan,
  grids: Map<string, SpectrogramGrid>,
): Promise<string | null> {
  const finished = p.jobs.filter((j) => p.index.textures.some((r) => r.name === j.spec.name));
  if (finished.length === 0) return null;
  const entries: SheetEntry[] = [];
  for (const j of finished) {
    const r = p.index.textures.find((x) => x.name === j.spec.name)!;
    let g = grids.get(r.name);
    if (!g) {
      const w = readWav16(join(o.outDir, r.file));
      g = spectrogramGrid(w.samples, w.rate, SHEET_COLUMNS, SHEET_ROWS);
    }
    entries.push({ name: r.name, lines: textureLines(r), grid: g });
  }
  const title = `wavenet render: ${o.model.path} (step ${o.model.step}), ${finished.length} texture${finished.length === 1 ? '' : 's'}`;
  const sheet = join(o.outDir, SHEET_NAME);
  await writeContactSheet(sheet, title, entries);
  p.index.contactSheet = SHEET_NAME;
  await writeIndex(p.indexPath, p.index);
  return sheet;
}
