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
import { WavWriter, type WavSampleFormat } from '../audio/wav-writer.js';
import { SincResampler } from '../audio/decode.js';
import { loadSynthModel } from '../synth/model.js';
import { MODEL_RATE, Synthesizer, parseSeed, primeFromFile, randomSeed } from '../synth/synthesizer.js';
import { formatDilations, receptiveField } from '../model/config.js';
import { checkSynthMemory } from '../model/memory.js';

/** Samples per native call: 0.256 s of audio; Ctrl-C is honoured between blocks. */
export const BLOCK = 4096;
/** Longest run accepted (24 hours of audio). */
export const MAX_SECONDS = 24 * 3600;
export const MAX_PRIME_SECONDS = 600;
export const SYNTH_DEFAULTS = { seconds: 30, temperature: 1, primeSeconds: 1, sampleRate: MODEL_RATE, format: 's16' as WavSampleFormat };

interface SynthArgs {
  model?: string;
  seconds: unknown;
  out?: string;
  temperature: unknown;
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
  interrupted: boolean;
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
  return { seconds, out, temperature, seed, primeSeconds, sampleRate, format };
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
  // 1. the output file: created now, so an unwritable path fails before anything else
  const writer = new WavWriter(o.out, o.sampleRate, o.format);
  let started = false;
  try {
    // 2. model, prime, device
    const model = await loadSynthModel(o.model);
    if (model.note) log(model.note);
    let prime: Uint8Array | undefined;
    if (o.prime) {
      prime = await primeFromFile(o.prime, o.primeSeconds);
    }
    const dev = resolveDevice(o.device);
    checkSynthMemory(model.config, 1, dev.device);
    let synth: Synthesizer;
    try {
      synth = new Synthesizer({
        config: model.config,
        params: model.params,
        device: dev.device,
        streams: [{ seed: BigInt(o.seed), temperature: o.temperature, prime }],
      });
    } catch (e) {
      throw e instanceof UserError ? e : new UserError(`synth: cannot create the synthesizer on ${dev.description}: ${messageOf(e)}`);
    }
    if (!o.json) {
      log(`model ${model.path} (step ${model.step}, dilations ${formatDilations(model.config.dilations)}, ` +
        `receptive field ${receptiveField(model.config)} samples)`);
      log(`seed ${o.seed}, temperature ${o.temperature}, device ${dev.description}${dev.note ? ` (${dev.note})` : ''}`);
      if (prime) log(`prime: last ${(prime.length / MODEL_RATE).toFixed(2)} s of ${o.prime}`);
    } else {
      log(`seed ${o.seed}`);
    }
    started = true;

    // 3. generate
    const total = Math.round(o.seconds * MODEL_RATE);
    const rs = o.sampleRate !== MODEL_RATE ? new SincResampler(MODEL_RATE, o.sampleRate) : null;
    const progress = createProgress({ label: 'synth', total, unit: 'samples', silent: o.json });
    const t0 = performance.now();
    let computeMs = 0;
    let done = 0;
    try {
      await synth.start({ stop: () => !!o.stop?.requested }); // Ctrl-C during a long prime: no audio, valid empty WAV
      while (done < total && !o.stop?.requested) {
        const n = Math.min(BLOCK, total - done);
        const c0 = performance.now();
        const { audio } = await synth.generate(n);
        computeMs += performance.now() - c0;
        writer.write(rs ? rs.push(audio[0]) : audio[0]);
        done += n;
        const xrt = done / MODEL_RATE / ((performance.now() - t0) / 1000);
        progress.update(done, `${(done / MODEL_RATE).toFixed(1)} s, ${xrt.toFixed(2)}x real time`);
      }
      if (rs) writer.write(rs.flush());
    } finally {
      progress.stop();
      synth.free();
    }
    writer.close();
    const sps = computeMs > 0 ? done / (computeMs / 1000) : 0;
    return {
      path: o.out,
      seconds: done / MODEL_RATE,
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
      prime: o.prime ?? null,
      primeSeconds: prime ? prime.length / MODEL_RATE : 0,
      interrupted: done < total,
    };
  } catch (e) {
    writer.close();
    if (!started) {
      try {
        unlinkSync(o.out);
      } catch {
        /* already gone */
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
          .option('out', { type: 'string', describe: 'Output WAV file (valid at every moment while it is written)' })
          .option('temperature', { type: 'string', default: String(SYNTH_DEFAULTS.temperature), describe: 'Sampling temperature: 1 = the model\'s distribution, lower = tamer, 0 = argmax' })
          .option('seed', { type: 'string', describe: 'Random seed (default: random; always printed so a result can be reproduced)' })
          .option('prime', { type: 'string', describe: 'Audio file (any format ffmpeg reads; WAV without ffmpeg) whose end is fed to the network before free generation' })
          .option('prime-seconds', { type: 'string', default: String(SYNTH_DEFAULTS.primeSeconds), describe: 'How much of the end of --prime to feed, in seconds' })
          .option('sample-rate', { type: 'string', default: String(SYNTH_DEFAULTS.sampleRate), describe: 'Output sample rate; the 16 kHz model output is resampled (windowed sinc)' })
          .option('format', { choices: ['s16', 'f32'] as const, default: SYNTH_DEFAULTS.format, describe: 'Output sample format: 16-bit PCM or 32-bit float' }),
      ),
    )
      .example('$0 synth --seconds 30 --out ambient.wav', '30 s from the newest checkpoint of the newest run')
      .example('$0 synth --model runs/eno --seed 7 --temperature 0.9 --out a.wav', 'Reproducible take from one run')
      .example('$0 synth --prime field.flac --prime-seconds 2 --out b.wav', 'Continue the last 2 s of a recording')
      .example('$0 synth --out c.wav --sample-rate 48000 --format f32', '48 kHz float for a DAW')
      .epilogue(
        'The WAV is written as it is generated and is valid at every moment: Ctrl-C stops after the current block ' +
          '(0.256 s of audio) and keeps everything generated so far. A prime shorter than --prime-seconds is used whole. ' +
          'Environment: WAVENET_SYNTH_PRECISION=bf16 runs the CPU kernel with bf16 weights on CPUs with AVX512-BF16 ' +
          '(faster; logits within about 1% of fp32, so the audio differs from the fp32 default); WAVENET_THREADS caps the threads.',
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
          `seed ${r.seed}, temperature ${r.temperature}; ${Math.round(r.samplesPerSecond)} samples/s (${r.xRealTime.toFixed(2)}x real time)`,
      );
    }
    if (r.interrupted) process.exitCode = 130;
  },
};
