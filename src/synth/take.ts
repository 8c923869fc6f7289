/**
 * The stages of one `wavenet synth` take, in the order runSynth (src/commands/synth.ts) calls them:
 *
 *   1. openOutput       the output file, created first so an unwritable path fails before anything else
 *   2. loadTakeInputs   model, prime (file, dataset or silence), device and memory check
 *   3. announceTake     the notes and the readiness lines (once every input has been checked)
 *   4. auditionTake     candidate openings (primed, warmed up, first blocks generated); one is kept
 *   5. writeTake        the rest of the take, block by block, into the WAV (valid after every block)
 *   6. finishOutput     close the WAV; encode .flac/.ogg/.mp3 from it
 *   7. takeSummary      the JSON summary (levels, speed, prime, auditions)
 *
 * No process-wide effects here: Ctrl-C arrives as `stop.requested` from the command.
 */
import { unlinkSync } from 'node:fs';
import { resolveDevice, type DeviceChoice } from '../device.js';
import { UserError, messageOf } from '../util/errors.js';
import { createProgress, type Progress } from '../util/progress.js';
import { WavWriter, quantize, type WavSampleFormat } from '../audio/wav-writer.js';
import { native } from '../native.js';
import { SincResampler } from '../audio/decode.js';
import { loadSynthModel } from './model.js';
import { MODEL_RATE, Synthesizer, primeFromFile } from './synthesizer.js';
import { DcBlocker } from '../render/dsp.js';
import { LevelMeter, type LevelReport } from '../render/loudness.js';
import { closeFfmpegLauncher, encodeWith, outputFormatOf } from '../audio/ffmpeg.js';
import { primeFromDataset } from './prime-dataset.js';
import { readinessNote } from './readiness.js';
import { SAMPLING_DEFAULTS } from './sampling.js';
import {
  AUDITION_DEFAULTS,
  QUIET_DBFS,
  audition,
  candidateSeed,
  type AuditionResult,
  type Candidate,
  type OpeningVerdict,
} from './audition.js';
import { formatDilations, receptiveField } from '../model/config.js';
import { DurationEstimate, fasterHints, formatTemperature } from '../util/estimate.js';
import { checkSynthMemory } from '../model/memory.js';

/** Samples per native call: 0.256 s of audio; Ctrl-C is honoured between blocks. */
export const BLOCK = 4096;

/** The flags of `wavenet synth`, checked (src/commands/synth.ts checkSynthArgs). */
export interface CheckedSynthArgs {
  seconds: number;
  out: string;
  temperature: number;
  topP: number;
  topK: number;
  raw: boolean;
  keepPrime: boolean;
  /** Seconds generated and discarded before the output starts (the take settles in them). */
  warmup: number;
  /** Candidate openings tried at most (0 or 1: off; src/synth/audition.ts). */
  auditions: number;
  seed: number;
  primeSeconds: number;
  sampleRate: number;
  format: WavSampleFormat;
}

/** The checked options of `wavenet synth` (stop: Ctrl-C from the command). */
export interface SynthRunOptions extends CheckedSynthArgs {
  model?: string;
  prime?: string;
  device: DeviceChoice;
  json: boolean;
  /** Set to true (e.g. from SIGINT) to stop after the current block. */
  stop?: { requested: boolean };
  log?: (line: string) => void;
}

export type TakeOptions = SynthRunOptions;

export interface SynthSummary {
  path: string;
  seconds: number;
  samples: number;
  sampleRate: number;
  format: WavSampleFormat;
  seed: number;
  temperature: number;
  samplesPerSecond: number;
  xRealTime: number;
  model: string;
  step: number;
  device: string;
  prime: string | null;
  primeSeconds: number;
  /** Where a `--prime dataset` prime came from. */
  primeFrom: string | null;
  primeKept: boolean;
  warmup: number;
  /** The auditioned opening (null with --auditions 0 or 1). */
  auditions: AuditionSummary | null;
  topP: number;
  topK: number;
  /** DC blocker applied (false with --raw). */
  dcBlocked: boolean;
  levels: LevelReport;
  /** The readiness note printed (null when the model is past the "knows nothing" level). */
  readiness: string | null;
  interrupted: boolean;
}

export interface AuditionSummary {
  /** Candidates opened (1 = the take's own seed opened cleanly). */
  tried: number;
  /** Most that would have been tried (--auditions). */
  max: number;
  /** Index of the candidate kept (0 = the take's own seed). */
  kept: number;
  /** Its seed: `--seed keptSeed --auditions 0` gives this take alone. */
  keptSeed: number;
  /** Every opening tried was refused (noise or near silence): the least noisy was kept. */
  allRefused: boolean;
  /** Every opening tried was broadband noise. */
  allNoisy: boolean;
  /** Seconds of each opening judged. */
  openingSeconds: number;
  /** Mean whitened spectral flatness of each opening tried (>= 0.85 in any 0.5 s block = noise). */
  flatness: number[];
  /** RMS of each opening tried, dBFS (below QUIET_DBFS = near silence). */
  rmsDbfs: number[];
  /** Audio computed for the candidates not kept (primes fed, warm-up and openings), in seconds. */
  extraSeconds: number;
  /** Wall-clock time spent on them. */
  extraWallSeconds: number;
}

export interface TakeOutput {
  /** True for .flac/.ogg/.mp3: the WAV is OUT.part.wav, encoded at the end. */
  encoded: boolean;
  wavPath: string;
  writer: WavWriter;
}

/** Stage 1: the output file. Encoded formats stream into OUT.part.wav (valid at every moment). */
export function openOutput(o: TakeOptions): TakeOutput {
  const { encoded } = outputFormatOf(o.out);
  const wavPath = encoded ? `${o.out}.part.wav` : o.out;
  if (encoded) {
    new WavWriter(o.out, o.sampleRate, o.format).close(); // checks that OUT itself can be written
    unlinkSync(o.out);
  }
  return { encoded, wavPath, writer: new WavWriter(wavPath, o.sampleRate, o.format) };
}

/** Closes the WAV after a failure; before any audio (`started` false) its files are removed. */
export function abandonOutput(out: string, t: TakeOutput, started: boolean): void {
  t.writer.close();
  if (started) return;
  for (const p of t.encoded ? [t.wavPath, out] : [out]) {
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
}

type SynthModel = Awaited<ReturnType<typeof loadSynthModel>>;

/** Every input checked, and the take's first synthesizer. */
export interface TakeInputs {
  model: SynthModel;
  readiness: string | null;
  /** Printed by announceTake (a bad input gives one line only). */
  notes: string[];
  prime0: Uint8Array | undefined;
  primeFrom0: string | null;
  /** `none` when the default dataset prime was not available. */
  primeMode: string;
  primeSamples: number;
  dev: ReturnType<typeof resolveDevice>;
}

/** Stage 2: model, prime, device and memory. */
export async function loadTakeInputs(o: TakeOptions, log: (line: string) => void): Promise<TakeInputs> {
  const model = await loadSynthModel(o.model);
  if (model.note) log(model.note);
  const readiness = readinessNote(model.path, model.step, model.metadata);
  const notes: string[] = readiness ? [readiness] : [];
  let prime0: Uint8Array | undefined;
  let primeFrom0: string | null = null;
  let primeMode = o.prime ?? SAMPLING_DEFAULTS.prime;
  const primeSamples = Math.max(1, Math.round(o.primeSeconds * MODEL_RATE));
  if (primeMode === 'dataset') {
    try {
      const p = await primeFromDataset(model.path, model.metadata, primeSamples, BigInt(o.seed));
      prime0 = p.classes;
      primeFrom0 = p.from;
    } catch (e) {
      if (o.prime !== undefined || !(e instanceof UserError)) throw e;
      notes.push(`note: starting from silence (${e.message.replace(/^--prime dataset: /, '')})`); // only the default asked for it
      primeMode = 'none';
    }
  } else if (primeMode !== 'none') {
    prime0 = await primeFromFile(primeMode, o.primeSeconds);
  }
  const dev = resolveDevice(o.device);
  // while auditioning, the best candidate so far stays alive beside the next one
  checkSynthMemory(model.config, o.auditions > 1 ? 2 : 1, dev.device);
  return { model, readiness, notes, prime0, primeFrom0, primeMode, primeSamples, dev };
}

/** A synthesizer for one candidate; a failure names the device. */
export function makeSynth(o: TakeOptions, t: TakeInputs, seed: bigint, prime: Uint8Array | undefined): Synthesizer {
  try {
    return new Synthesizer({
      config: t.model.config,
      params: t.model.params,
      device: t.dev.device,
      streams: [{ seed, temperature: o.temperature, topP: o.topP, topK: o.topK, prime }],
    });
  } catch (e) {
    throw e instanceof UserError
      ? e
      : new UserError(`synth: cannot create the synthesizer on ${t.dev.description}: ${messageOf(e)}`);
  }
}

/** Stage 3: the notes, then what is about to run (only the seed with --json). */
export function announceTake(o: TakeOptions, t: TakeInputs, log: (line: string) => void): void {
  for (const n of t.notes) log(n);
  const { model, dev, prime0, primeFrom0 } = t;
  if (o.json) {
    log(`seed ${o.seed}`);
    return;
  }
  const cut = `${o.topP < 1 ? `, top-p ${o.topP}` : ''}${o.topK > 0 ? `, top-k ${o.topK}` : ''}`;
  log(
    `model ${model.path} (step ${model.step}, dilations ${formatDilations(model.config.dilations)}, ` +
      `receptive field ${receptiveField(model.config)} samples)`,
  );
  log(
    `seed ${o.seed}, temperature ${formatTemperature(o.temperature)}${cut}${o.warmup > 0 ? `, warm-up ${o.warmup} s` : ''}, device ${dev.description}${dev.note ? ` (${dev.note})` : ''}`,
  );
  if (prime0) {
    const what = primeFrom0 ?? o.prime;
    log(
      `prime: ${(prime0.length / MODEL_RATE).toFixed(2)} s of ${primeFrom0 ? what : `the end of ${what}`} (${o.keepPrime ? 'kept at the start of the output' : 'not in the output'})`,
    );
  }
}

/** A candidate take: its stream primed, warmed up and its opening generated (nothing written yet). */
export interface Take extends Candidate {
  synth: Synthesizer;
  seed: bigint;
  prime?: Uint8Array;
  primeFrom: string | null;
  dc: DcBlocker | null;
  /** The prime's audio, DC-blocked (written with --keep-prime). */
  primeAudio: Float32Array;
  /** The opening, DC-blocked: the first samples of the output. */
  head: Float32Array;
  openMs: number;
  wallMs: number;
  /** Samples fed or generated: prime, warm-up, opening. */
  computed: number;
}

/** The state shared by the generating stages. */
export interface TakeRun {
  o: TakeOptions;
  log: (line: string) => void;
  inputs: TakeInputs;
  /** The first candidate's synthesizer (made before announceTake, so a failure gives one line). */
  synth0: Synthesizer;
  /** Synthesizers to free at the end, whatever happens. */
  live: Set<Synthesizer>;
  progress: Progress;
  total: number;
  auditioning: boolean;
  /** Whole BLOCKs (the output after it stays whole blocks for Ctrl-C); its whole 0.5 s blocks are judged. */
  openingSamples: number;
}

/** The run state of stages 4 and 5 (the progress display starts here). */
export function startRun(
  o: TakeOptions,
  log: (line: string) => void,
  inputs: TakeInputs,
  synth0: Synthesizer,
  live: Set<Synthesizer>,
): TakeRun {
  const total = Math.round(o.seconds * MODEL_RATE);
  const auditioning = o.auditions > 1;
  const openingSamples = auditioning
    ? Math.min(total, Math.ceil((AUDITION_DEFAULTS.seconds * MODEL_RATE) / BLOCK) * BLOCK)
    : 0;
  const progress = createProgress({ label: 'synth', total, unit: 'samples', silent: o.json });
  return { o, log, inputs, synth0, live, progress, total, auditioning, openingSamples };
}

/** Generates `n` samples in whole blocks, passing each to `sink`, until done or stopped. */
async function generateBlocks(
  r: TakeRun,
  synth: Synthesizer,
  n: number,
  sink: (audio: Float32Array, upTo: number) => void,
): Promise<number> {
  let got = 0;
  while (got < n && !r.o.stop?.requested) {
    const b = Math.min(BLOCK, n - got);
    const { audio } = await synth.generate(b);
    got += b;
    sink(audio[0], got);
  }
  return got;
}

/** Opens candidate i: primed, warmed up, opening generated; null when stopped. */
async function openTake(r: TakeRun, i: number): Promise<Take | null> {
  const { o, inputs, progress, auditioning } = r;
  if (i > 0 && o.stop?.requested) return null;
  const w0 = performance.now();
  const seed = candidateSeed(BigInt(o.seed), i);
  let prime = inputs.prime0;
  let primeFrom = inputs.primeFrom0;
  if (i > 0 && inputs.primeMode === 'dataset')
    ({ classes: prime, from: primeFrom } = await primeFromDataset(
      inputs.model.path,
      inputs.model.metadata,
      inputs.primeSamples,
      seed,
    ));
  const synth = i === 0 ? r.synth0 : makeSynth(o, inputs, seed, prime);
  r.live.add(synth);
  if (auditioning) progress.update(0, `auditioning opening ${i + 1}/${o.auditions}`);
  // Ctrl-C during a long prime: no audio, valid empty WAV
  if (!(await synth.start({ stop: () => !!o.stop?.requested }))) return null;
  const dc = o.raw ? null : new DcBlocker(MODEL_RATE);
  // the prime's audio runs through the DC blocker either way, so a cut prime leaves it settled
  const primeAudio = prime ? native().mulawDecode(prime) : new Float32Array(0);
  dc?.process(primeAudio);
  // warm-up: generated and dropped (through the DC blocker, so it stays settled); not written
  const warm = Math.round(o.warmup * MODEL_RATE);
  await generateBlocks(r, synth, warm, (audio, w) => {
    dc?.process(audio);
    progress.update(
      0,
      `${auditioning ? `opening ${i + 1}/${o.auditions}: ` : ''}warming up ${(w / MODEL_RATE).toFixed(1)}/${o.warmup} s`,
    );
  });
  const opening = new Float32Array(r.openingSamples);
  const c0 = performance.now();
  const got = await generateBlocks(r, synth, r.openingSamples, (audio, upTo) =>
    opening.set(audio, upTo - audio.length),
  );
  const head = opening.slice(0, got);
  dc?.process(head);
  const now = performance.now();
  return {
    opening: opening.subarray(0, got),
    synth,
    seed,
    prime,
    primeFrom,
    dc,
    primeAudio,
    head,
    openMs: now - c0,
    wallMs: now - w0,
    computed: (prime?.length ?? 0) + warm + got,
  };
}

/** The auditions, with the candidates dropped on the way. */
export interface AuditionOutcome extends AuditionResult<Take> {
  dropped: Take[];
}

/** Stage 4: candidate openings until one is clean (a single one without auditions); says which was kept. */
export async function auditionTake(r: TakeRun): Promise<AuditionOutcome> {
  const dropped: Take[] = [];
  const a = await audition(
    r.o.auditions,
    (i) => openTake(r, i),
    (t) => {
      dropped.push(t);
      t.synth.free();
      r.live.delete(t.synth);
    },
  );
  const outcome = { ...a, dropped };
  const note = r.auditioning ? auditionNote(r.o.seed, outcome) : null;
  if (note) r.log(note);
  return outcome;
}

/** The line that says which candidate was kept and why (null when the first was). */
function auditionNote(seed: number, a: AuditionOutcome): string | null {
  const { kept, verdicts } = a;
  if (!kept || verdicts.length <= 1) return null;
  const extra = `${(a.dropped.reduce((s, t) => s + t.computed, 0) / MODEL_RATE).toFixed(1)} s of audio computed and dropped`;
  const alone = `--seed ${kept.seed} --auditions 0 gives it alone`;
  const what = (v: OpeningVerdict) => (v.noisy ? 'broadband noise' : `near silence (${v.rmsDbfs.toFixed(0)} dBFS)`);
  const k = verdicts[a.index];
  return a.allNoisy
    ? `auditions: all ${verdicts.length} openings were broadband noise; kept the least noisy, candidate ${a.index + 1} ` +
        `(seed ${kept.seed}; ${alone}). This model's texture may be noise: more auditions would not help (${extra})`
    : a.allRefused
      ? `auditions: none of ${verdicts.length} openings was free of broadband noise and above ${QUIET_DBFS} dBFS; kept candidate ${a.index + 1}, ${what(k)} ` +
        `(seed ${kept.seed}; ${alone}; ${extra})`
      : `auditions: the opening of seed ${seed} was ${what(verdicts[0])}${a.index > 1 ? ` (and ${a.index - 1} more candidate${a.index > 2 ? 's were' : ' was'} refused)` : ''}; ` +
        `kept candidate ${a.index + 1} (seed ${kept.seed}${kept.primeFrom ? `, prime ${kept.primeFrom}` : ''}; ${alone}; ${extra})`;
}

/** What was written. */
export interface Written {
  /** Model-rate samples of the take in the output (prime not counted). */
  done: number;
  computeMs: number;
  meter: LevelMeter;
}

/**
 * Stage 5: the kept take into the WAV: DC blocker (state carried across blocks) -> meter ->
 * resampler -> WAV. The opening is written first, then block after block until done or stopped.
 */
export async function writeTake(r: TakeRun, kept: Take | null, writer: WavWriter, t0: number): Promise<Written> {
  const { o, total, progress } = r;
  const rs = o.sampleRate !== MODEL_RATE ? new SincResampler(MODEL_RATE, o.sampleRate) : null;
  const meter = new LevelMeter(o.sampleRate);
  const emit = (x: Float32Array) => {
    if (x.length === 0) return;
    writer.write(x);
    meter.push(quantize(x, o.format));
  };
  const est = new DurationEstimate({
    what: 'synth',
    total,
    hints: fasterHints(r.inputs.model.config, r.inputs.dev.device),
    rateText: (s) => `${Math.round(s)} samples/s, ${(s / MODEL_RATE).toFixed(2)}x real time`,
  });
  if (!kept) return { done: 0, computeMs: 0, meter };
  const { synth, dc } = kept;
  if (o.keepPrime) emit(rs ? rs.push(kept.primeAudio) : kept.primeAudio);
  emit(rs ? rs.push(kept.head) : kept.head);
  let done = kept.head.length;
  let computeMs = kept.openMs;
  while (done < total && !o.stop?.requested) {
    // small blocks first: a measured estimate within seconds (after an opening, whole blocks: it was the measurement's start)
    const n = kept.head.length > 0 ? Math.min(BLOCK, total - done) : est.nextBlock(BLOCK, total - done);
    const c0 = performance.now();
    const { audio } = await synth.generate(n);
    computeMs += performance.now() - c0;
    const x = dc ? dc.process(audio[0]) : audio[0];
    emit(rs ? rs.push(x) : x);
    done += n;
    const estimate = o.json ? undefined : est.record(done, performance.now());
    if (estimate) progress.log(estimate);
    const xrt = done / MODEL_RATE / ((performance.now() - t0) / 1000);
    progress.update(done, `${(done / MODEL_RATE).toFixed(1)} s, ${xrt.toFixed(2)}x real time`);
  }
  if (rs) emit(rs.flush());
  return { done, computeMs, meter };
}

/** Stage 6: the WAV closed; an encoded format is made from it and the .part.wav removed. */
export async function finishOutput(o: TakeOptions, t: TakeOutput): Promise<void> {
  t.writer.close();
  if (!t.encoded) return;
  try {
    await encodeWith(t.wavPath, o.out);
  } finally {
    await closeFfmpegLauncher();
  }
  unlinkSync(t.wavPath);
}

/** Stage 7: the summary printed with --json. */
export function takeSummary(r: TakeRun, a: AuditionOutcome, w: Written, writer: WavWriter): SynthSummary {
  const { o, inputs } = r;
  const { kept, verdicts } = a;
  const prime = kept?.prime;
  const primeFrom = kept?.primeFrom ?? null;
  const sps = w.computeMs > 0 ? w.done / (w.computeMs / 1000) : 0;
  return {
    path: o.out,
    seconds: writer.frames / o.sampleRate,
    samples: writer.frames,
    sampleRate: o.sampleRate,
    format: o.format,
    seed: o.seed,
    temperature: o.temperature,
    samplesPerSecond: sps,
    xRealTime: sps / MODEL_RATE,
    model: inputs.model.path,
    step: inputs.model.step,
    device: inputs.dev.description,
    prime: prime ? (primeFrom ? 'dataset' : (o.prime ?? null)) : null,
    primeSeconds: prime ? prime.length / MODEL_RATE : 0,
    primeFrom,
    primeKept: !!prime && o.keepPrime,
    warmup: o.warmup,
    auditions: r.auditioning
      ? {
          tried: verdicts.length,
          max: o.auditions,
          kept: a.index,
          keptSeed: Number(kept?.seed ?? BigInt(o.seed)),
          allRefused: a.allRefused,
          allNoisy: a.allNoisy,
          openingSeconds: r.openingSamples / MODEL_RATE,
          flatness: verdicts.map((v) => Math.round(v.meanFlatness * 1000) / 1000),
          rmsDbfs: verdicts.map((v) => Math.round(v.rmsDbfs * 10) / 10),
          extraSeconds: a.dropped.reduce((s, t) => s + t.computed, 0) / MODEL_RATE,
          extraWallSeconds: a.dropped.reduce((s, t) => s + t.wallMs, 0) / 1000,
        }
      : null,
    topP: o.topP,
    topK: o.topK,
    dcBlocked: !o.raw,
    levels: w.meter.report(),
    readiness: inputs.readiness,
    interrupted: w.done < r.total,
  };
}
