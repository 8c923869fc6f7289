/**
 * `wavenet render`: a batch of ambient textures from one model, generated as parallel streams of the
 * batched synthesis kernels, each with its own seed, temperature and prime; optional seamless loop,
 * fades and normalization; one WAV per texture, index.json and a contact sheet. Resumable.
 */
import { faultAt } from '../util/faults.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { existsSync } from 'node:fs';
import { UserError } from '../util/errors.js';
import { withDevice, withJson } from './options.js';
import { resolveDevice, type DeviceChoice, type ResolvedDevice } from '../device.js';
import { loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { resolveModelOrBundled } from '../model/bundled.js';
import { createProgress, type Progress } from '../util/progress.js';
import { parseNormalize } from '../render/dsp.js';
import {
  checkPrimeFile,
  parseDuration,
  parseTemperature,
  planFromCount,
  planFromJob,
  MAX_SEED,
  MAX_SECONDS,
  type RenderDefaults,
  type TextureSpec,
} from '../render/spec.js';
import { MODEL_RATE, render, sha256File, type RenderProgress, type RenderResult } from '../render/renderer.js';
import { decodeFile, resample } from '../audio/decode.js';
import { formatDilations, receptiveField } from '../model/config.js';
import { DurationEstimate, fasterHints, formatTemperature } from '../util/estimate.js';
import { SAMPLING_DEFAULTS, checkCut } from '../synth/sampling.js';
import { DATASET_PRIME, datasetPrimeSource } from '../synth/prime-dataset.js';
import { readinessNote } from '../synth/readiness.js';

interface RenderArgs {
  model?: string;
  count?: number;
  seconds: string;
  outDir: string;
  seed: number;
  temperature: string;
  prime?: string[];
  loop: boolean;
  crossfade: string;
  fadeIn: string;
  fadeOut: string;
  normalize?: string;
  topP?: string;
  topK?: string;
  raw?: boolean;
  format?: 's16' | 'f32';
  warmup?: string;
  sampleRate?: number;
  batch?: number;
  device: DeviceChoice;
  job?: string;
  sheet: boolean;
  json: boolean;
}

export const RENDER_DEFAULTS = {
  count: 8,
  seconds: 30,
  outDir: 'renders',
  seed: 0,
  temperature: '1',
  crossfade: '2s',
  maxBatch: 64,
};

function seconds(flag: string, v: unknown, { allowZero }: { allowZero: boolean }): number {
  const s = parseDuration(v);
  if (s === null || !(allowZero ? s >= 0 : s > 0) || s > MAX_SECONDS) {
    throw new UserError(
      `${flag} '${String(v)}': expected ${allowZero ? 'a duration >= 0' : 'a positive duration'} like 30, 30s, 500ms or 2m`,
    );
  }
  return s;
}

export interface RenderPlan {
  textures: TextureSpec[];
  crossfade: number;
  fadeIn: number;
  fadeOut: number;
}

/** Validates every flag and builds the list of textures (no model or device needed). */
export function planRender(a: Partial<RenderArgs>): RenderPlan {
  const secs = seconds('--seconds', a.seconds ?? RENDER_DEFAULTS.seconds, { allowZero: false });
  const seed = a.seed ?? RENDER_DEFAULTS.seed;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > MAX_SEED)
    throw new UserError(`--seed ${seed}: expected a whole number from 0 to 2^53-1`);
  // `dataset`: the model's own data (src/synth/prime-dataset.ts); `none`: from silence
  const primes = (a.prime ?? [SAMPLING_DEFAULTS.prime])
    .filter((p) => p !== 'none')
    .map((p) => {
      if (p === DATASET_PRIME) return p;
      if (!existsSync(p)) throw new UserError(`--prime ${p}: no such file`);
      return checkPrimeFile(p, '--prime');
    });
  const defaults: RenderDefaults = {
    seconds: secs,
    seedBase: seed,
    temperature: parseTemperature(a.temperature ?? RENDER_DEFAULTS.temperature),
    primes,
    loop: !!a.loop,
  };
  let textures: TextureSpec[];
  if (a.job !== undefined) {
    if (a.count !== undefined)
      throw new UserError('--count and --job cannot be used together (the job file lists the textures)');
    textures = planFromJob(a.job, defaults);
  } else {
    const count = a.count ?? RENDER_DEFAULTS.count;
    if (!Number.isInteger(count) || count < 1) throw new UserError(`--count ${a.count}: must be a whole number >= 1`);
    textures = planFromCount(count, defaults);
  }
  const crossfade = seconds('--crossfade', a.crossfade ?? RENDER_DEFAULTS.crossfade, { allowZero: true });
  const fadeIn = seconds('--fade-in', a.fadeIn ?? 0, { allowZero: true });
  const fadeOut = seconds('--fade-out', a.fadeOut ?? 0, { allowZero: true });
  for (const t of textures) {
    if (t.loop && crossfade > t.seconds) {
      throw new UserError(
        `--crossfade ${crossfade}s is longer than texture ${t.name} (${t.seconds} s); use a shorter crossfade`,
      );
    }
    if (fadeIn > t.seconds)
      throw new UserError(`--fade-in ${fadeIn}s is longer than texture ${t.name} (${t.seconds} s)`);
    if (fadeOut > t.seconds)
      throw new UserError(`--fade-out ${fadeOut}s is longer than texture ${t.name} (${t.seconds} s)`);
  }
  return { textures, crossfade, fadeIn, fadeOut };
}

function fmtDb(v: number | null, unit: string): string {
  return v === null ? `-inf ${unit}` : `${v.toFixed(1)} ${unit}`;
}

function printSummary(r: RenderResult, device: string) {
  const n = r.textures.length;
  console.log(
    `render: ${n} texture${n === 1 ? '' : 's'} in ${r.outDir} (${r.rendered.length} rendered, ${r.skipped.length} already complete)` +
      (r.audioSeconds > 0
        ? `; ${r.audioSeconds.toFixed(1)} s of audio in ${r.elapsed.toFixed(1)} s = ${r.xRealTime.toFixed(2)}x real time on ${device}`
        : ''),
  );
  for (const t of r.textures) {
    console.log(
      `  ${t.file}  ${t.duration.toFixed(2)} s  seed ${t.seed}  temperature ${formatTemperature(t.temperature)}` +
        `  ${fmtDb(t.loudnessLufs, 'LUFS')}  peak ${fmtDb(t.peakDbfs, 'dBFS')}  RMS ${fmtDb(t.rmsDbfs ?? null, 'dBFS')}  DC ${(t.dc ?? 0).toFixed(4)}` +
        (t.loop ? '  loop' : '') +
        (t.limited ? `  limited ${t.limiterReductionDb.toFixed(1)} dB` : ''),
    );
  }
  console.log(`index: ${r.index}${r.contactSheet ? `\ncontact sheet: ${r.contactSheet}` : ''}`);
}

/** The output and sampling flags of render, checked: sample rate, normalization target, batch, top-p/top-k. */
function renderFlags(argv: RenderArgs, textures: number) {
  const sampleRate = argv.sampleRate ?? MODEL_RATE;
  if (!Number.isInteger(sampleRate) || sampleRate < 1000 || sampleRate > 384000) {
    throw new UserError(`--sample-rate ${argv.sampleRate}: expected a whole number of Hz from 1000 to 384000`);
  }
  let normalize = null;
  if (argv.normalize !== undefined) {
    normalize = parseNormalize(argv.normalize);
    if (!normalize)
      throw new UserError(
        `--normalize '${argv.normalize}': expected a peak level like -1dBFS or a loudness like -16LUFS`,
      );
    if (normalize.kind === 'peak' && normalize.db > 0)
      throw new UserError(`--normalize ${argv.normalize}: a peak above 0 dBFS would clip`);
    if (normalize.kind === 'lufs' && (normalize.lufs > 0 || normalize.lufs < -70)) {
      throw new UserError(`--normalize ${argv.normalize}: expected a loudness from -70 to 0 LUFS`);
    }
  }
  const batch = argv.batch ?? Math.min(textures, RENDER_DEFAULTS.maxBatch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 4096)
    throw new UserError(`--batch ${argv.batch}: expected a whole number from 1 to 4096`);
  const { topP, topK } = checkCut(argv.topP ?? SAMPLING_DEFAULTS.topP, argv.topK ?? SAMPLING_DEFAULTS.topK);
  return { sampleRate, normalize, batch, topP, topK };
}

/**
 * Textures primed from the model's dataset need the checkpoint to name a dataset that is there. When
 * only the default asked for it (no --prime), they start from silence instead, with a note.
 */
function checkDatasetPrimes(
  argv: RenderArgs,
  textures: TextureSpec[],
  ckPath: string,
  metadata: Record<string, string>,
  log: (line: string) => void,
): void {
  if (!textures.some((t) => t.prime === DATASET_PRIME)) return;
  try {
    datasetPrimeSource(ckPath, metadata);
  } catch (e) {
    if (argv.prime !== undefined || !(e instanceof UserError)) throw e;
    // only the default asked for it: render from silence instead
    if (!argv.json) log(`note: textures start from silence (${e.message.replace(/^--prime dataset: /, '')})`);
    for (const t of textures) if (t.prime === DATASET_PRIME) t.prime = null;
  }
}

/** The model, checkpoint and device that render uses, once resolved. */
interface RenderSource {
  ckPath: string;
  modelNote?: string;
  ck: LoadedCheckpoint;
  dev: ResolvedDevice;
}

/** The lines printed before rendering starts: model notes, readiness, dataset primes, device, model. */
function announceRender(argv: RenderArgs, plan: RenderPlan, src: RenderSource, progress: Progress): void {
  const { ckPath, modelNote, ck, dev } = src;
  if (modelNote && !argv.json) progress.log(modelNote);
  const readiness = readinessNote(ckPath, ck.step, ck.metadata);
  if (readiness) progress.log(readiness);
  checkDatasetPrimes(argv, plan.textures, ckPath, ck.metadata, (l) => progress.log(l));
  if (dev.note && !argv.json) progress.log(dev.note);
  if (!argv.json) {
    progress.log(
      `model ${ckPath} (step ${ck.step}, dilations ${formatDilations(ck.config.dilations)}, receptive field ${receptiveField(ck.config)} samples)`,
    );
  }
}

/** The onProgress of render: the progress bar, and an estimate of the whole duration once there is one. */
function renderProgressReporter(argv: RenderArgs, ck: LoadedCheckpoint, dev: ResolvedDevice, progress: Progress) {
  let est: DurationEstimate | undefined;
  return (p: RenderProgress) => {
    est ??= new DurationEstimate({
      what: 'render',
      total: p.audioTotal,
      hints: fasterHints(ck.config, dev.device),
      rateText: (r) => `${r.toFixed(2)}x real time`,
    });
    const estimate = argv.json ? undefined : est.record(p.audioDone, performance.now());
    if (estimate) progress.log(estimate);
    progress.setTotal(Math.round(p.audioTotal * 10) / 10);
    progress.update(
      Math.round(p.audioDone * 10) / 10,
      `textures ${p.texturesDone}/${p.texturesTotal} | ${p.xRealTime.toFixed(2)}x real time`,
    );
  };
}

/** After render: an interrupted run is an error (exit 130); else the JSON result or the summary. */
function reportRender(argv: RenderArgs, plan: RenderPlan, result: RenderResult, dev: ResolvedDevice, ckPath: string) {
  if (result.stopped) {
    throw new UserError(
      `render interrupted: ${result.textures.length} of ${plan.textures.length} textures are complete in ${argv.outDir}; run the same command again to finish the rest`,
      130,
    );
  }
  if (argv.json) {
    console.log(JSON.stringify({ ...result, device: dev.device, checkpoint: ckPath }, null, 2));
  } else {
    printSummary(result, dev.description);
  }
}

/** --model, --count, --seconds, --out-dir, --seed, --temperature, --prime: what to render, and from what. */
function renderBatchOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      describe: 'Run folder or .safetensors checkpoint (default: newest run under ./runs, newest checkpoint)',
    })
    .option('count', {
      type: 'number',
      describe: `How many textures (default ${RENDER_DEFAULTS.count}); named texture-001, texture-002, ...`,
    })
    .option('seconds', {
      type: 'string',
      default: String(RENDER_DEFAULTS.seconds),
      describe: 'Length of each texture: 30, 30s, 2m, 500ms',
    })
    .option('out-dir', {
      type: 'string',
      default: RENDER_DEFAULTS.outDir,
      describe: 'Output folder: NAME.wav per texture, index.json, contact-sheet.png',
    })
    .option('seed', {
      type: 'number',
      default: RENDER_DEFAULTS.seed,
      describe: 'Base seed: texture i (from 0) uses seed BASE+i',
    })
    .option('temperature', {
      type: 'string',
      default: RENDER_DEFAULTS.temperature,
      describe: 'Sampling temperature T, or a range 0.8..1.1 spread evenly over the textures (0 = most likely class)',
    })
    .option('prime', {
      type: 'string',
      array: true,
      describe: `Audio file(s) to continue from (the last receptive field of each; several are assigned round-robin), \`dataset\` (a random stretch of the model's own training data per texture) or \`none\`. Default: ${SAMPLING_DEFAULTS.prime}`,
    });
}

/** --loop, --crossfade, --fade-in, --fade-out, --normalize: the shape and level of each texture. */
function renderShapeOptions<T>(y: Argv<T>) {
  return y
    .option('loop', {
      type: 'boolean',
      default: false,
      describe: 'Seamless loops: generate S + crossfade seconds and fold the tail into the head (equal-power)',
    })
    .option('crossfade', {
      type: 'string',
      default: RENDER_DEFAULTS.crossfade,
      describe: 'Crossfade length of --loop',
    })
    .option('fade-in', { type: 'string', default: '0', describe: 'Fade-in length (starts exactly at silence)' })
    .option('fade-out', { type: 'string', default: '0', describe: 'Fade-out length (ends exactly at silence)' })
    .option('normalize', {
      type: 'string',
      requiresArg: true,
      describe:
        'Peak (e.g. -1dBFS) or integrated loudness (e.g. -16LUFS, ITU-R BS.1770; peaks then limited to -1 dBFS)',
    });
}

/** --top-p, --top-k, --raw, --warmup: how samples are drawn and kept. */
function renderSamplingOptions<T>(y: Argv<T>) {
  return y
    .option('top-p', {
      type: 'string',
      default: String(SAMPLING_DEFAULTS.topP),
      describe:
        'Nucleus sampling: only the most likely classes holding this share of the probability (fewer clicks); 1 = no cut',
    })
    .option('top-k', {
      type: 'string',
      default: String(SAMPLING_DEFAULTS.topK),
      describe: 'Only the K most likely classes; 0 = no limit',
    })
    .option('raw', {
      type: 'boolean',
      default: false,
      describe: "The model's samples untouched (no DC blocker before loops, fades and normalization)",
    })
    .option('warmup', {
      type: 'string',
      default: String(SAMPLING_DEFAULTS.warmup),
      describe:
        'Seconds generated and dropped at the start of each texture, so it has settled into its texture (docs/audio.md)',
    });
}

/** --format, --sample-rate, --batch, --job, --sheet: files written and how the work is batched. */
function renderOutputOptions<T>(y: Argv<T>) {
  return y
    .option('format', {
      choices: ['s16', 'f32'] as const,
      default: 's16' as const,
      describe: 'WAV sample format: 16-bit PCM or 32-bit float',
    })
    .option('sample-rate', {
      type: 'number',
      describe: `Output sample rate in Hz (default: the model's ${MODEL_RATE}); resampled after generation`,
    })
    .option('batch', {
      type: 'number',
      describe: `Streams per batched synthesis call (default: the number of textures, at most ${RENDER_DEFAULTS.maxBatch}); more textures are done in waves`,
    })
    .option('job', {
      type: 'string',
      describe: 'JSON array of textures [{name, seconds, seed, temperature, prime, loop}], instead of --count',
    })
    .option('sheet', {
      type: 'boolean',
      default: true,
      describe: 'Write contact-sheet.png (a labelled spectrogram per texture); --no-sheet to skip',
    });
}

/** Examples and epilog of `render --help`. */
function renderHelpText<T>(y: Argv<T>) {
  return y
    .example('$0 render --count 8 --seconds 30', 'Eight 30 s textures from the newest run into renders/')
    .example(
      '$0 render --count 40 --seconds 2m --loop --temperature 0.8..1.1 --normalize -16LUFS --out-dir beds',
      'Forty 2-minute seamless loops, temperatures spread from 0.8 to 1.1, loudness-normalized',
    )
    .example(
      '$0 render --job textures.json --out-dir beds',
      'Textures listed in a job file (names, seconds, seeds, primes, loop)',
    )
    .example(
      '$0 render --count 4 --prime a.wav b.flac --fade-in 2s --fade-out 2s',
      'Continue from two recordings (round-robin), with fades',
    )
    .epilog(
      'Rerunning the same command skips finished textures (complete WAV and index entry) and redoes unfinished ones. ' +
        'Each WAV is mono (16-bit, or float with --format f32), written under a temporary name and renamed when complete; a --loop texture carries a smpl chunk with its loop points. ' +
        'A DC blocker (10 Hz) runs first unless --raw; index.json records DC, peak, RMS and loudness. Ctrl-C stops after the current step.',
    );
}

export const renderCommand: CommandModule<object, RenderArgs> = {
  command: 'render',
  describe: 'Render a batch of textures (parallel streams, own seed/temperature/prime each; loop, fades, normalize)',
  builder: (y: Argv) =>
    renderHelpText(
      withJson(withDevice(renderOutputOptions(renderSamplingOptions(renderShapeOptions(renderBatchOptions(y)))))),
    ) as unknown as Argv<RenderArgs>,
  handler: async (argv: ArgumentsCamelCase<RenderArgs>) => {
    const plan = planRender(argv);
    const flags = renderFlags(argv, plan.textures.length);
    const { path: ckPath, note: modelNote } = resolveModelOrBundled(argv.model);
    const ck = await loadCheckpoint(ckPath);
    const dev = resolveDevice(argv.device);
    const progress = createProgress({ label: 'render', unit: 's audio', silent: argv.json });
    announceRender(argv, plan, { ckPath, modelNote, ck, dev }, progress);

    let stop = false;
    const onSigint = () => {
      stop = true;
      progress.log(
        'render: stopping after the current step (Ctrl-C again to quit at once); finished textures are kept',
      );
      process.removeListener('SIGINT', onSigint);
    };
    process.on('SIGINT', onSigint);
    let result: RenderResult;
    try {
      result = await render({
        outDir: argv.outDir,
        // test-only: WAVENET_TEST_RENDER_CRASH=K:PHASE kills this process while finishing texture K
        faultHook: faultAt(process.env.WAVENET_TEST_RENDER_CRASH, () => process.kill(process.pid, 'SIGKILL')),
        textures: plan.textures,
        model: {
          path: ckPath,
          sha256: sha256File(ckPath),
          step: ck.step,
          config: ck.config,
          params: ck.params,
          metadata: ck.metadata,
        },
        topP: flags.topP,
        topK: flags.topK,
        raw: !!argv.raw,
        format: argv.format ?? 's16',
        warmup: seconds('--warmup', argv.warmup ?? SAMPLING_DEFAULTS.warmup, { allowZero: true }),
        sampleRate: flags.sampleRate,
        resample,
        decodePrime: (path, rate) => decodeFile(path, { rate }),
        crossfade: plan.crossfade,
        fadeIn: plan.fadeIn,
        fadeOut: plan.fadeOut,
        normalize: flags.normalize,
        batch: flags.batch,
        device: dev.device,
        contactSheet: argv.sheet,
        command: process.argv.slice(2),
        shouldStop: () => stop,
        onLog: (l) => progress.log(l),
        onProgress: renderProgressReporter(argv, ck, dev, progress),
      });
    } finally {
      process.removeListener('SIGINT', onSigint);
      progress.stop();
    }
    reportRender(argv, plan, result, dev, ckPath);
  },
};
