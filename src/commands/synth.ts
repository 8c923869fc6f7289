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
import { withDevice, withJson } from './options.js';
import type { DeviceChoice } from '../device.js';
import { UserError } from '../util/errors.js';
import type { WavSampleFormat } from '../audio/wav-writer.js';
import { MODEL_RATE, type Synthesizer, parseSeed, randomSeed } from '../synth/synthesizer.js';
import { formatLevels, quietTakeNote } from '../render/loudness.js';
import { outputFormatOf } from '../audio/ffmpeg.js';
import { checkCut, SAMPLING_DEFAULTS } from '../synth/sampling.js';
import { AUDITION_DEFAULTS, MAX_AUDITIONS, QUIET_DBFS } from '../synth/audition.js';
import { formatTemperature } from '../util/estimate.js';
import {
  type AuditionOutcome,
  type CheckedSynthArgs,
  type SynthRunOptions,
  type SynthSummary,
  type Written,
  abandonOutput,
  announceTake,
  auditionTake,
  finishOutput,
  loadTakeInputs,
  makeSynth,
  openOutput,
  startRun,
  takeSummary,
  writeTake,
} from '../synth/take.js';

export {
  BLOCK,
  type AuditionSummary,
  type CheckedSynthArgs,
  type SynthRunOptions,
  type SynthSummary,
} from '../synth/take.js';
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

/** Validates the flags (no file access). */
export function checkSynthArgs(a: SynthArgs): CheckedSynthArgs {
  const seconds = positive(a.seconds, '--seconds', MAX_SECONDS, 'seconds');
  const out = single(a.out, '--out');
  if (typeof out !== 'string' || out.trim() === '')
    throw new UserError('--out FILE.wav is required (where to write the audio)');
  outputFormatOf(out);
  const { topP, topK } = checkCut(
    single(a.topP ?? SYNTH_DEFAULTS.topP, '--top-p'),
    single(a.topK ?? SYNTH_DEFAULTS.topK, '--top-k'),
  );
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
    throw new UserError(
      `--auditions '${String(av)}': expected a whole number of candidate openings from 0 (off) to ${MAX_AUDITIONS}`,
    );
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
  return {
    seconds,
    out,
    temperature,
    topP,
    topK,
    raw: !!a.raw,
    keepPrime: !!a.keepPrime,
    warmup,
    auditions,
    seed,
    primeSeconds,
    sampleRate,
    format,
  };
}

/** The whole command without yargs (tests call it directly); the stages are in src/synth/take.ts. */
export async function runSynth(o: SynthRunOptions): Promise<SynthSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const output = openOutput(o);
  let started = false;
  try {
    const inputs = await loadTakeInputs(o, log);
    const live = new Set<Synthesizer>(); // freed at the end, whatever happens
    const synth0 = makeSynth(o, inputs, BigInt(o.seed), inputs.prime0);
    live.add(synth0);
    announceTake(o, inputs, log);
    started = true;
    const run = startRun(o, log, inputs, synth0, live);
    const t0 = performance.now();
    let auditioned: AuditionOutcome;
    let written: Written;
    try {
      auditioned = await auditionTake(run);
      written = await writeTake(run, auditioned.kept, output.writer, t0);
    } finally {
      run.progress.stop();
      for (const s of live) s.free();
    }
    await finishOutput(o, output);
    return takeSummary(run, auditioned, written, output.writer);
  } catch (e) {
    abandonOutput(o.out, output, started);
    throw e;
  }
}

/** --model, --seconds, --out: which model, how long, and where the take goes. */
function synthTakeOptions<T>(y: Argv<T>) {
  return y
    .option('model', {
      type: 'string',
      describe: "A run folder or a .safetensors checkpoint (default: the newest run's newest checkpoint under ./runs)",
    })
    .option('seconds', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.seconds),
      describe: `Length of the audio to generate, up to ${MAX_SECONDS} (24 h)`,
    })
    .option('out', {
      type: 'string',
      describe:
        'Output file: .wav (valid at every moment while it is written), or .flac, .ogg, .mp3 (encoded by ffmpeg at the end)',
    });
}

/** --temperature, --top-p, --top-k, --raw, --warmup, --auditions: how samples are drawn and kept. */
function synthSamplingOptions<T>(y: Argv<T>) {
  return y
    .option('temperature', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.temperature),
      describe: "Sampling temperature: 1 = the model's distribution, lower = tamer, 0 = argmax",
    })
    .option('top-p', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.topP),
      describe:
        'Nucleus sampling: sample only from the most likely classes holding this share of the probability (cuts the unlikely tail that makes clicks); 1 = no cut',
    })
    .option('top-k', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.topK),
      describe: 'Sample only from the K most likely classes; 0 = no limit',
    })
    .option('raw', {
      type: 'boolean',
      default: false,
      describe: "Write the model's samples untouched (no DC blocker)",
    })
    .option('warmup', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.warmup),
      describe:
        'Seconds generated and dropped before the output starts, so the take has settled into its texture (docs/audio.md)',
    })
    .option('auditions', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.auditions),
      describe: `Audition up to N openings: when the first ${AUDITION_DEFAULTS.seconds} s of the take is broadband noise or near silence (below ${QUIET_DBFS} dBFS), another candidate (another seed and dataset prime) is tried; the first clean one continues, else the least noisy, with a note. 0 = off`,
    });
}

/** --keep-prime, --seed, --prime, --prime-seconds: where generation starts from. */
function synthPrimeOptions<T>(y: Argv<T>) {
  return y
    .option('keep-prime', {
      type: 'boolean',
      default: false,
      describe:
        "Keep the prime's audio at the start of the output (default: the output starts where generation starts)",
    })
    .option('seed', {
      type: 'string',
      describe: 'Random seed (default: random; always printed so a result can be reproduced)',
    })
    .option('prime', {
      type: 'string',
      describe: `What to feed the network before free generation: an audio file (any format ffmpeg reads; WAV without ffmpeg; its end is used), \`dataset\` (a random stretch of the model's own training data, or of the bundled recordings for the bundled model) or \`none\` (start from silence). Default: ${SYNTH_DEFAULTS.prime}`,
    })
    .option('prime-seconds', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.primeSeconds),
      describe: 'How much of the end of --prime to feed, in seconds',
    });
}

/** --sample-rate, --format: the sample rate and format of the output. */
function synthFormatOptions<T>(y: Argv<T>) {
  return y
    .option('sample-rate', {
      type: 'string',
      default: String(SYNTH_DEFAULTS.sampleRate),
      describe: 'Output sample rate; the 16 kHz model output is resampled (windowed sinc)',
    })
    .option('format', {
      choices: ['s16', 'f32'] as const,
      default: SYNTH_DEFAULTS.format,
      describe: 'Output sample format: 16-bit PCM or 32-bit float',
    });
}

/** Examples and epilogue of `synth --help`. */
function synthHelpText<T>(y: Argv<T>) {
  return y
    .example('$0 synth --seconds 30 --out ambient.wav', '30 s from the newest checkpoint of the newest run')
    .example('$0 synth --model runs/eno --seed 7 --temperature 0.9 --out a.wav', 'Reproducible take from one run')
    .example('$0 synth --prime field.flac --prime-seconds 2 --out b.wav', 'Continue the last 2 s of a recording')
    .example('$0 synth --out c.wav --sample-rate 48000 --format f32', '48 kHz float for a DAW')
    .example(
      '$0 synth --out d.flac --top-p 1 --prime none --raw',
      "The model's raw samples, no cut, from silence, as FLAC",
    )
    .example('$0 synth --out e.wav --seed 9 --auditions 0', 'Seed 9 as it comes, even if it opens with noise')
    .epilogue(
      'The WAV is written as it is generated and is valid at every moment: Ctrl-C stops after the current block ' +
        '(0.256 s of audio) and keeps everything generated so far (an .flac/.ogg/.mp3 is encoded from it). A prime shorter than --prime-seconds is used whole. ' +
        'A DC blocker (10 Hz, before anything else) is on unless --raw; the summary reports DC, peak, RMS and loudness, and says so when the take is quiet (RMS below -40 dBFS). ' +
        'Defaults (--top-p, --prime, --auditions) were chosen by measurement: docs/audio.md. ' +
        'With auditions, a take whose opening was noise continues another candidate; the line that says so names its seed, which gives that take alone with --auditions 0. ' +
        'Environment: WAVENET_SYNTH_PRECISION=fp16 runs the CPU kernel with weights rounded to fp16 (half the bytes: ' +
        'about 2x faster on a Xeon whose L2 then holds them, no faster on a first-generation EPYC with its slow conversion: ' +
        '`wavenet bench synth --precision fp16` tells; logits within about 0.1% of fp32), =bf16 with bf16 weights ' +
        'and inputs on CPUs with AVX512-BF16 (logits within about 1%); either way the audio differs from the fp32 default. WAVENET_THREADS caps the threads (synthesis uses at most two; the audio is the same for one and two).',
    );
}

export const synthCommand: CommandModule<object, SynthArgs> = {
  command: 'synth',
  describe: 'Generate audio from a trained model (fast incremental synthesis)',
  builder: (y: Argv) =>
    synthHelpText(
      withJson(withDevice(synthFormatOptions(synthPrimeOptions(synthSamplingOptions(synthTakeOptions(y)))))),
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
      r = await runSynth({
        ...checked,
        model: argv.model,
        prime: argv.prime,
        device: argv.device,
        json: argv.json,
        stop,
      });
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
      const quiet = quietTakeNote(r.levels);
      if (quiet) console.log(`  ${quiet}`);
    }
    if (r.interrupted) process.exitCode = 130;
  },
};
