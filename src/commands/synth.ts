/**
 * `wavenet synth`: generate audio from a trained model with the incremental (Fast WaveNet) kernel.
 *
 * Every input is checked before any compute: the flags, the output file (created right away, so an
 * unwritable path fails first; removed again if a later check fails), the checkpoint (missing,
 * truncated, corrupt) and the prime file. The sample loop runs in native code in blocks of
 * BLOCK samples (one async call each); after every block the WAV on disk is complete and valid
 * (src/audio/wav-writer.ts), so Ctrl-C stops after the current block and keeps what was generated.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { unlinkSync } from 'node:fs';
import { withDevice, withJson } from './options.js';
import { resolveDevice, type DeviceChoice } from '../device.js';
import { UserError, messageOf } from '../util/errors.js';
import { createProgress } from '../util/progress.js';
import { WavWriter, quantize, type WavSampleFormat } from '../audio/wav-writer.js';
import { native } from '../native.js';
import { SincResampler } from '../audio/decode.js';
import { loadSynthModel } from '../synth/model.js';
import { MODEL_RATE, Synthesizer, parseSeed, primeFromFile, randomSeed } from '../synth/synthesizer.js';
import { DcBlocker } from '../render/dsp.js';
import { LevelMeter, formatLevels, type LevelReport } from '../render/loudness.js';
import { closeFfmpegLauncher, encodeWith, outputFormatOf } from '../audio/ffmpeg.js';
import { primeFromDataset } from '../synth/prime-dataset.js';
import { readinessNote } from '../synth/readiness.js';
import { checkCut, SAMPLING_DEFAULTS } from '../synth/sampling.js';
import { AUDITION_DEFAULTS, MAX_AUDITIONS, QUIET_DBFS, audition, candidateSeed, type Candidate, type OpeningVerdict } from '../synth/audition.js';
import { formatDilations, receptiveField } from '../model/config.js';
import { DurationEstimate, fasterHints, formatTemperature } from '../util/estimate.js';
import { checkSynthMemory } from '../model/memory.js';

/** Samples per native call: 0.256 s of audio; Ctrl-C is honoured between blocks. */
export const BLOCK = 4096;
/** Longest run accepted (24 hours of audio). */
export const MAX_SECONDS = 24 * 3600;
export const MAX_PRIME_SECONDS = 600;
export const SYNTH_DEFAULTS = {
  seconds: 30,
  temperature: SAMPLING_DEFAULTS.temperature,
  topP: SAMPLING_DEFAULTS.topP,
  topK: SAMPLING_DEFAULTS.topK,
  prime: SAMPLING_DEFAULTS.prime,
  primeSeconds: 1,
  warmup: SAMPLING_DEFAULTS.warmup,
  auditions: AUDITION_DEFAULTS.count,
  sampleRate: MODEL_RATE,
  format: 's16' as WavSampleFormat,
};

interface SynthArgs {
  model?: string;
  seconds: unknown;
  out?: string;
  temperature: unknown;
  topP?: unknown;
  topK?: unknown;
  raw?: boolean;
  keepPrime?: boolean;
  warmup?: unknown;
  auditions?: unknown;
  seed?: unknown;
  prime?: string;
  primeSeconds: unknown;
  sampleRate: unknown;
  format: WavSampleFormat;
  device: DeviceChoice;
  json: boolean;
}

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

function single(v: unknown, flag: string): unknown {
  if (Array.isArray(v)) throw new UserError(`${flag} was given more than once`);
  return v;
}

function positive(v: unknown, flag: string, max: number, unit: string): number {
  v = single(v, flag);
  const n = typeof v === 'number' ? v : Number(String(v).trim());
  if (typeof v === 'boolean' || String(v).trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UserError(`${flag} '${String(v)}': expected a positive number of ${unit}`);
  }
  if (n > max) throw new UserError(`${flag} ${n}: at most ${max} ${unit}`);
  return n;
}

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

/** Validates the flags (no file access). */
export function checkSynthArgs(a: SynthArgs): CheckedSynthArgs {
  const seconds = positive(a.seconds, '--seconds', MAX_SECONDS, 'seconds');
  const out = single(a.out, '--out');
  if (typeof out !== 'string' || out.trim() === '') throw new UserError('--out FILE.wav is required (where to write the audio)');
  outputFormatOf(out);
  const { topP, topK } = checkCut(single(a.topP ?? SYNTH_DEFAULTS.topP, '--top-p'), single(a.topK ?? SYNTH_DEFAULTS.topK, '--top-k'));
  const tv = single(a.temperature, '--temperature');
  const temperature = typeof tv === 'number' ? tv : Number(String(tv).trim());
  if (String(tv).trim() === '' || !Number.isFinite(temperature) || temperature < 0 || temperature > 100) {
    throw new UserError(`--temperature '${String(tv)}': expected a number from 0 (argmax) to 100`);
  }
  let seed: number;
  if (a.seed === undefined) seed = Number(randomSeed());
  else {
    // seeds are printed and recorded as JSON numbers: 2^53-1 is the real limit
    seed = Number(parseSeed(single(a.seed, '--seed'), '--seed', BigInt(Number.MAX_SAFE_INTEGER)));
  }
  const primeSeconds = positive(a.primeSeconds, '--prime-seconds', MAX_PRIME_SECONDS, 'seconds');
  const wv = single(a.warmup ?? SYNTH_DEFAULTS.warmup, '--warmup');
  const warmup = typeof wv === 'number' ? wv : Number(String(wv).trim());
  if (String(wv).trim() === '' || !Number.isFinite(warmup) || warmup < 0 || warmup > MAX_PRIME_SECONDS) {
    throw new UserError(`--warmup '${String(wv)}': expected seconds from 0 to ${MAX_PRIME_SECONDS}`);
  }
  const av = single(a.auditions ?? SYNTH_DEFAULTS.auditions, '--auditions');
  const auditions = typeof av === 'number' ? av : Number(String(av).trim());
  if (String(av).trim() === '' || !Number.isInteger(auditions) || auditions < 0 || auditions > MAX_AUDITIONS) {
    throw new UserError(`--auditions '${String(av)}': expected a whole number of candidate openings from 0 (off) to ${MAX_AUDITIONS}`);
  }
  const sr = single(a.sampleRate, '--sample-rate');
  const sampleRate = typeof sr === 'number' ? sr : Number(String(sr).trim());
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384000) {
    throw new UserError(`--sample-rate '${String(sr)}': expected a whole number of Hz from 1000 to 384000`);
  }
  const format = single(a.format, '--format') as WavSampleFormat;
  if (format !== 's16' && format !== 'f32') throw new UserError(`--format '${String(format)}': expected s16 or f32`);
  const bytes = format === 'f32' ? 4 : 2;
  if (Math.ceil(seconds * sampleRate) * bytes > 0xffffffff - 64) {
    throw new UserError(`--seconds ${seconds}: too long for one WAV file at ${sampleRate} Hz ${format} (4 GiB limit)`);
  }
  return { seconds, out, temperature, topP, topK, raw: !!a.raw, keepPrime: !!a.keepPrime, warmup, auditions, seed, primeSeconds, sampleRate, format };
}

export interface SynthRunOptions extends CheckedSynthArgs {
  model?: string;
  prime?: string;
  device: DeviceChoice;
  json: boolean;
  /** Set to true (e.g. from SIGINT) to stop after the current block. */
  stop?: { requested: boolean };
  log?: (line: string) => void;
}

/** The whole command without yargs (tests call it directly). */
export async function runSynth(o: SynthRunOptions): Promise<SynthSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  // 1. the output file: created now, so an unwritable path fails before anything else. Encoded
  //    formats stream into OUT.part.wav (valid at every moment) and are encoded at the end.
  const { encoded } = outputFormatOf(o.out);
  const wavPath = encoded ? `${o.out}.part.wav` : o.out;
  if (encoded) {
    new WavWriter(o.out, o.sampleRate, o.format).close(); // checks that OUT itself can be written
    unlinkSync(o.out);
  }
  const writer = new WavWriter(wavPath, o.sampleRate, o.format);
  let started = false;
  try {
    // 2. model, prime, device
    const model = await loadSynthModel(o.model);
    if (model.note) log(model.note);
    // notes are printed once every input has been checked (a bad input gives one line only)
    const readiness = readinessNote(model.path, model.step, model.metadata);
    const notes: string[] = readiness ? [readiness] : [];
    let prime0: Uint8Array | undefined;
    let primeFrom0: string | null = null;
    let primeMode = o.prime ?? SYNTH_DEFAULTS.prime;
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
    const makeSynth = (seed: bigint, prime: Uint8Array | undefined) => {
      try {
        return new Synthesizer({
          config: model.config,
          params: model.params,
          device: dev.device,
          streams: [{ seed, temperature: o.temperature, topP: o.topP, topK: o.topK, prime }],
        });
      } catch (e) {
        throw e instanceof UserError ? e : new UserError(`synth: cannot create the synthesizer on ${dev.description}: ${messageOf(e)}`);
      }
    };
    const live = new Set<Synthesizer>(); // freed at the end, whatever happens
    const synth0 = makeSynth(BigInt(o.seed), prime0);
    live.add(synth0);
    for (const n of notes) log(n);
    const cut = `${o.topP < 1 ? `, top-p ${o.topP}` : ''}${o.topK > 0 ? `, top-k ${o.topK}` : ''}`;
    if (!o.json) {
      log(`model ${model.path} (step ${model.step}, dilations ${formatDilations(model.config.dilations)}, ` +
        `receptive field ${receptiveField(model.config)} samples)`);
      log(`seed ${o.seed}, temperature ${formatTemperature(o.temperature)}${cut}${o.warmup > 0 ? `, warm-up ${o.warmup} s` : ''}, device ${dev.description}${dev.note ? ` (${dev.note})` : ''}`);
      if (prime0) {
        const what = primeFrom0 ?? o.prime;
        log(`prime: ${(prime0.length / MODEL_RATE).toFixed(2)} s of ${primeFrom0 ? what : `the end of ${what}`} (${o.keepPrime ? 'kept at the start of the output' : 'not in the output'})`);
      }
    } else {
      log(`seed ${o.seed}`);
    }
    started = true;

    // 3. generate: DC blocker (state carried across blocks) -> meter -> resampler -> WAV
    const total = Math.round(o.seconds * MODEL_RATE);
    const rs = o.sampleRate !== MODEL_RATE ? new SincResampler(MODEL_RATE, o.sampleRate) : null;
    const meter = new LevelMeter(o.sampleRate);
    const emit = (x: Float32Array) => {
      if (x.length === 0) return;
      writer.write(x);
      meter.push(quantize(x, o.format));
    };
    const progress = createProgress({ label: 'synth', total, unit: 'samples', silent: o.json });
    const t0 = performance.now();
    let computeMs = 0;
    let done = 0;
    const est = new DurationEstimate({
      what: 'synth', total, hints: fasterHints(model.config, dev.device), rateText: (r) => `${Math.round(r)} samples/s, ${(r / MODEL_RATE).toFixed(2)}x real time`,
    });
    const auditioning = o.auditions > 1;
    // whole BLOCKs, so that the output stays whole blocks (Ctrl-C) after it; its whole 0.5 s blocks are judged
    const openingSamples = auditioning ? Math.min(total, Math.ceil((AUDITION_DEFAULTS.seconds * MODEL_RATE) / BLOCK) * BLOCK) : 0;
    // A candidate take: its stream primed, warmed up and its opening generated (nothing written yet).
    interface Take extends Candidate {
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
    const openTake = async (i: number): Promise<Take | null> => {
      if (i > 0 && o.stop?.requested) return null;
      const w0 = performance.now();
      const seed = candidateSeed(BigInt(o.seed), i);
      let prime = prime0;
      let primeFrom = primeFrom0;
      if (i > 0 && primeMode === 'dataset') ({ classes: prime, from: primeFrom } = await primeFromDataset(model.path, model.metadata, primeSamples, seed));
      const synth = i === 0 ? synth0 : makeSynth(seed, prime);
      live.add(synth);
      if (auditioning) progress.update(0, `auditioning opening ${i + 1}/${o.auditions}`);
      // Ctrl-C during a long prime: no audio, valid empty WAV
      if (!(await synth.start({ stop: () => !!o.stop?.requested }))) return null;
      const dc = o.raw ? null : new DcBlocker(MODEL_RATE);
      // the prime's audio runs through the DC blocker either way, so a cut prime leaves it settled
      const primeAudio = prime ? native().mulawDecode(prime) : new Float32Array(0);
      dc?.process(primeAudio);
      // warm-up: generated and dropped (through the DC blocker, so it stays settled); not written
      const warm = Math.round(o.warmup * MODEL_RATE);
      for (let w = 0; w < warm && !o.stop?.requested; ) {
        const n = Math.min(BLOCK, warm - w);
        const { audio } = await synth.generate(n);
        dc?.process(audio[0]);
        w += n;
        progress.update(0, `${auditioning ? `opening ${i + 1}/${o.auditions}: ` : ''}warming up ${(w / MODEL_RATE).toFixed(1)}/${o.warmup} s`);
      }
      const opening = new Float32Array(openingSamples);
      let got = 0;
      const c0 = performance.now();
      while (got < openingSamples && !o.stop?.requested) {
        const n = Math.min(BLOCK, openingSamples - got);
        opening.set((await synth.generate(n)).audio[0], got);
        got += n;
      }
      const head = opening.slice(0, got);
      dc?.process(head);
      const now = performance.now();
      return {
        opening: opening.subarray(0, got), synth, seed, prime, primeFrom, dc, primeAudio, head,
        openMs: now - c0, wallMs: now - w0, computed: (prime?.length ?? 0) + warm + got,
      };
    };
    const dropped: Take[] = [];
    let kept: Take | null = null;
    let verdicts: OpeningVerdict[] = [];
    let allNoisy = false;
    let allRefused = false;
    let keptIndex = 0;
    try {
      const a = await audition(o.auditions, openTake, (t) => {
        dropped.push(t);
        t.synth.free();
        live.delete(t.synth);
      });
      ({ kept, verdicts, allNoisy, allRefused } = a);
      keptIndex = a.index;
      if (auditioning && kept && verdicts.length > 1) {
        const extra = `${(dropped.reduce((s, t) => s + t.computed, 0) / MODEL_RATE).toFixed(1)} s of audio computed and dropped`;
        const alone = `--seed ${kept.seed} --auditions 0 gives it alone`;
        const what = (v: OpeningVerdict) => (v.noisy ? 'broadband noise' : `near silence (${v.rmsDbfs.toFixed(0)} dBFS)`);
        const k = verdicts[a.index];
        log(a.allNoisy
          ? `auditions: all ${verdicts.length} openings were broadband noise; kept the least noisy, candidate ${a.index + 1} ` +
              `(seed ${kept.seed}; ${alone}). This model's texture may be noise: more auditions would not help (${extra})`
          : a.allRefused
            ? `auditions: none of ${verdicts.length} openings was free of broadband noise and above ${QUIET_DBFS} dBFS; kept candidate ${a.index + 1}, ${what(k)} ` +
                `(seed ${kept.seed}; ${alone}; ${extra})`
            : `auditions: the opening of seed ${o.seed} was ${what(verdicts[0])}${a.index > 1 ? ` (and ${a.index - 1} more candidate${a.index > 2 ? 's were' : ' was'} refused)` : ''}; ` +
                `kept candidate ${a.index + 1} (seed ${kept.seed}${kept.primeFrom ? `, prime ${kept.primeFrom}` : ''}; ${alone}; ${extra})`);
      }
      if (kept) {
        const { synth, dc } = kept;
        if (o.keepPrime) emit(rs ? rs.push(kept.primeAudio) : kept.primeAudio);
        emit(rs ? rs.push(kept.head) : kept.head);
        done = kept.head.length;
        computeMs += kept.openMs;
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
      }
    } finally {
      progress.stop();
      for (const s of live) s.free();
    }
    writer.close();
    if (encoded) {
      try {
        await encodeWith(wavPath, o.out);
      } finally {
        await closeFfmpegLauncher();
      }
      unlinkSync(wavPath);
    }
    const prime = kept?.prime;
    const primeFrom = kept?.primeFrom ?? null;
    const sps = computeMs > 0 ? done / (computeMs / 1000) : 0;
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
      model: model.path,
      step: model.step,
      device: dev.description,
      prime: prime ? (primeFrom ? 'dataset' : (o.prime ?? null)) : null,
      primeSeconds: prime ? prime.length / MODEL_RATE : 0,
      primeFrom,
      primeKept: !!prime && o.keepPrime,
      warmup: o.warmup,
      auditions: auditioning
        ? {
            tried: verdicts.length,
            max: o.auditions,
            kept: keptIndex,
            keptSeed: Number(kept?.seed ?? BigInt(o.seed)),
            allRefused,
            allNoisy,
            openingSeconds: openingSamples / MODEL_RATE,
            flatness: verdicts.map((v) => Math.round(v.meanFlatness * 1000) / 1000),
            rmsDbfs: verdicts.map((v) => Math.round(v.rmsDbfs * 10) / 10),
            extraSeconds: dropped.reduce((a, t) => a + t.computed, 0) / MODEL_RATE,
            extraWallSeconds: dropped.reduce((a, t) => a + t.wallMs, 0) / 1000,
          }
        : null,
      topP: o.topP,
      topK: o.topK,
      dcBlocked: !o.raw,
      levels: meter.report(),
      readiness,
      interrupted: done < total,
    };
  } catch (e) {
    writer.close();
    if (!started) {
      for (const p of encoded ? [wavPath, o.out] : [o.out]) {
        try {
          unlinkSync(p);
        } catch {
          /* already gone */
        }
      }
    }
    throw e;
  }
}

export const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Generate audio from a trained model (fast incremental synthesis)',
  builder: (y: Argv) =>
    withJson(
      withDevice(
        y
          .option('model', { type: 'string', describe: 'A run folder or a .safetensors checkpoint (default: the newest run\'s newest checkpoint under ./runs)' })
          .option('seconds', { type: 'string', default: String(SYNTH_DEFAULTS.seconds), describe: `Length of the audio to generate, up to ${MAX_SECONDS} (24 h)` })
          .option('out', { type: 'string', describe: 'Output file: .wav (valid at every moment while it is written), or .flac, .ogg, .mp3 (encoded by ffmpeg at the end)' })
          .option('temperature', { type: 'string', default: String(SYNTH_DEFAULTS.temperature), describe: 'Sampling temperature: 1 = the model\'s distribution, lower = tamer, 0 = argmax' })
          .option('top-p', { type: 'string', default: String(SYNTH_DEFAULTS.topP), describe: 'Nucleus sampling: sample only from the most likely classes holding this share of the probability (cuts the unlikely tail that makes clicks); 1 = no cut' })
          .option('top-k', { type: 'string', default: String(SYNTH_DEFAULTS.topK), describe: 'Sample only from the K most likely classes; 0 = no limit' })
          .option('raw', { type: 'boolean', default: false, describe: 'Write the model\'s samples untouched (no DC blocker)' })
          .option('warmup', { type: 'string', default: String(SYNTH_DEFAULTS.warmup), describe: 'Seconds generated and dropped before the output starts, so the take has settled into its texture (docs/audio.md)' })
          .option('auditions', {
            type: 'string',
            default: String(SYNTH_DEFAULTS.auditions),
            describe: `Audition up to N openings: when the first ${AUDITION_DEFAULTS.seconds} s of the take is broadband noise or near silence (below ${QUIET_DBFS} dBFS), another candidate (another seed and dataset prime) is tried; the first clean one continues, else the least noisy, with a note. 0 = off`,
          })
          .option('keep-prime', { type: 'boolean', default: false, describe: 'Keep the prime\'s audio at the start of the output (default: the output starts where generation starts)' })
          .option('seed', { type: 'string', describe: 'Random seed (default: random; always printed so a result can be reproduced)' })
          .option('prime', { type: 'string', describe: `What to feed the network before free generation: an audio file (any format ffmpeg reads; WAV without ffmpeg; its end is used), \`dataset\` (a random stretch of the model's own training data, or of the bundled recordings for the bundled model) or \`none\` (start from silence). Default: ${SYNTH_DEFAULTS.prime}` })
          .option('prime-seconds', { type: 'string', default: String(SYNTH_DEFAULTS.primeSeconds), describe: 'How much of the end of --prime to feed, in seconds' })
          .option('sample-rate', { type: 'string', default: String(SYNTH_DEFAULTS.sampleRate), describe: 'Output sample rate; the 16 kHz model output is resampled (windowed sinc)' })
          .option('format', { choices: ['s16', 'f32'] as const, default: SYNTH_DEFAULTS.format, describe: 'Output sample format: 16-bit PCM or 32-bit float' }),
      ),
    )
      .example('$0 synth --seconds 30 --out ambient.wav', '30 s from the newest checkpoint of the newest run')
      .example('$0 synth --model runs/eno --seed 7 --temperature 0.9 --out a.wav', 'Reproducible take from one run')
      .example('$0 synth --prime field.flac --prime-seconds 2 --out b.wav', 'Continue the last 2 s of a recording')
      .example('$0 synth --out c.wav --sample-rate 48000 --format f32', '48 kHz float for a DAW')
      .example('$0 synth --out d.flac --top-p 1 --prime none --raw', 'The model\'s raw samples, no cut, from silence, as FLAC')
      .example('$0 synth --out e.wav --seed 9 --auditions 0', 'Seed 9 as it comes, even if it opens with noise')
      .epilogue(
        'The WAV is written as it is generated and is valid at every moment: Ctrl-C stops after the current block ' +
          '(0.256 s of audio) and keeps everything generated so far (an .flac/.ogg/.mp3 is encoded from it). A prime shorter than --prime-seconds is used whole. ' +
          'A DC blocker (10 Hz, before anything else) is on unless --raw; the summary reports DC, peak, RMS and loudness. ' +
          'Defaults (--top-p, --prime, --auditions) were chosen by measurement: docs/audio.md. ' +
          'With auditions, a take whose opening was noise continues another candidate; the line that says so names its seed, which gives that take alone with --auditions 0. ' +
          'Environment: WAVENET_SYNTH_PRECISION=bf16 runs the CPU kernel with bf16 weights on CPUs with AVX512-BF16 ' +
          '(faster; logits within about 1% of fp32, so the audio differs from the fp32 default); WAVENET_THREADS caps the threads (synthesis uses at most two; the audio is the same for one and two).',
      ) as unknown as Argv<SynthArgs>,
  handler: async (argv: ArgumentsCamelCase<SynthArgs>) => {
    const checked = checkSynthArgs(argv);
    const stop = { requested: false };
    const onSigint = () => {
      if (stop.requested) {
        process.stderr.write('\nwavenet: second Ctrl-C, exiting now (the WAV holds every finished block)\n');
        process.exit(130);
      }
      stop.requested = true;
      process.stderr.write('\nwavenet: stopping after the current block (Ctrl-C again to quit now)\n');
    };
    process.on('SIGINT', onSigint);
    let r: SynthSummary;
    try {
      r = await runSynth({ ...checked, model: argv.model, prime: argv.prime, device: argv.device, json: argv.json, stop });
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (argv.json) {
      console.log(JSON.stringify(r, null, 2));
    } else {
      console.log(
        `${r.interrupted ? 'interrupted: ' : ''}wrote ${r.path}: ${r.seconds.toFixed(2)} s, ${r.sampleRate} Hz ${r.format}, ` +
          `seed ${r.seed}, temperature ${formatTemperature(r.temperature)}; ${Math.round(r.samplesPerSecond)} samples/s (${r.xRealTime.toFixed(2)}x real time)`,
      );
      console.log(`  ${formatLevels(r.levels)}${r.dcBlocked ? '' : ' (raw: no DC blocker)'}`);
    }
    if (r.interrupted) process.exitCode = 130;
  },
};
