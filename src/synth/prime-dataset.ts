/**
 * `--prime dataset`: prime a take with a random stretch of the audio the model was trained on, so it
 * starts inside the texture instead of from silence (docs/audio.md has the measurements).
 *
 * Where the audio comes from:
 *   - a checkpoint written by `wavenet train` names its dataset (__metadata__.dataset): a training
 *     chunk of that dataset (datasets/NAME/chunks/*.mulaw, already mu-law classes at 16 kHz);
 *   - the bundled demo model: the bundled recordings in datasets/demo/recordings (decoded).
 * The choice (which chunk or recording, and where in it) follows from the take's seed, so a take is
 * reproducible from its seed; chunks are weighted by length.
 */
import { closeSync, existsSync, readdirSync, readSync } from 'node:fs';
import { openRegular } from '../util/files.js';
import { join, relative } from 'node:path';
import { CHUNKS_DIR, readManifest } from '../dataset/manifest.js';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { BUNDLED_MODEL, PROJECT_ROOT } from '../model/bundled.js';
import { decodeFile } from '../audio/decode.js';
import { native } from '../native.js';
import { MODEL_RATE } from './synthesizer.js';

export const BUNDLED_RECORDINGS = join(PROJECT_ROOT, 'datasets', 'demo', 'recordings');

/** The --prime value that asks for the model's own data. */
export const DATASET_PRIME = 'dataset';

export interface DatasetPrime {
  classes: Uint8Array;
  /** Where it came from, for the user: "datasets/eno/chunks/000012.mulaw at 3.20 s". */
  from: string;
}

function sameFile(a: string, b: string): boolean {
  return relative(a, b) === '';
}

/** Whole number from the take's seed (any size) for the Rng. */
function rngFor(seed: bigint): Rng {
  return new Rng(Number(seed % 9007199254740991n), 0x7072);
}

/** The folder `--prime dataset` draws from for this checkpoint; UserError when there is none. */
export function datasetPrimeSource(checkpoint: string, metadata: Record<string, string>): string {
  if (sameFile(checkpoint, BUNDLED_MODEL)) {
    if (!existsSync(BUNDLED_RECORDINGS))
      throw new UserError(`--prime dataset: the bundled recordings ${BUNDLED_RECORDINGS} are missing`);
    return BUNDLED_RECORDINGS;
  }
  const dir = metadata.dataset;
  if (!dir)
    throw new UserError(
      `--prime dataset: ${checkpoint} does not name the dataset it was trained on; give --prime AUDIO instead`,
    );
  if (!existsSync(join(dir, 'manifest.json'))) {
    throw new UserError(
      `--prime dataset: the dataset ${dir} that ${checkpoint} was trained on is not there any more; give --prime AUDIO instead`,
    );
  }
  return dir;
}

/**
 * `samples` classes from the model's own training data. `checkpoint` is the loaded file's path,
 * `metadata` its safetensors metadata. UserError naming what is missing when there is no data.
 */
export async function primeFromDataset(
  checkpoint: string,
  metadata: Record<string, string>,
  samples: number,
  seed: bigint,
): Promise<DatasetPrime> {
  const rng = rngFor(seed);
  const dir = datasetPrimeSource(checkpoint, metadata);
  if (dir === BUNDLED_RECORDINGS) return primeFromRecordings(BUNDLED_RECORDINGS, samples, rng);
  const m = readManifest(dir);
  let chunks = m.chunks.filter((c) => c.split === 'train');
  if (chunks.length === 0) chunks = m.chunks;
  if (chunks.length === 0) throw new UserError(`--prime dataset: ${dir} holds no chunks`);
  const total = chunks.reduce((a, c) => a + c.samples, 0);
  let r = (rng.nextU32() / 2 ** 32) * total;
  let chunk = chunks[chunks.length - 1];
  for (const c of chunks) {
    if (r < c.samples) {
      chunk = c;
      break;
    }
    r -= c.samples;
  }
  const n = Math.min(samples, chunk.samples);
  const start = Math.floor((rng.nextU32() / 2 ** 32) * (chunk.samples - n + 1));
  const path = join(dir, CHUNKS_DIR, chunk.file);
  const classes = new Uint8Array(n);
  let fd: number;
  try {
    fd = openRegular(path, { what: '--prime dataset: chunk', maxBytes: chunk.samples }).fd;
  } catch (e) {
    throw new UserError(
      e instanceof UserError ? e.message : `--prime dataset: cannot read ${path} (${(e as Error).message})`,
    );
  }
  try {
    let got = 0;
    while (got < n) {
      const k = readSync(fd, classes, got, n - got, start + got);
      if (k <= 0) break;
      got += k;
    }
    if (got < n) throw new UserError(`--prime dataset: ${path} is shorter than its manifest says`);
  } finally {
    closeSync(fd);
  }
  return { classes, from: `${path} at ${(start / MODEL_RATE).toFixed(2)} s` };
}

/** A random stretch of one of the audio files in `dir` (decoded like ingest: mono, 16 kHz). */
export async function primeFromRecordings(dir: string, samples: number, rng: Rng): Promise<DatasetPrime> {
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : [];
  if (files.length === 0) throw new UserError(`--prime dataset: no recordings in ${dir}`);
  const file = join(dir, files[rng.nextU32() % files.length]);
  const x = await decodeFile(file, { rate: MODEL_RATE });
  const n = Math.min(samples, x.length);
  const start = Math.floor((rng.nextU32() / 2 ** 32) * (x.length - n + 1));
  return {
    classes: native().mulawEncode(x.subarray(start, start + n)),
    from: `${file} at ${(start / MODEL_RATE).toFixed(2)} s`,
  };
}
