/**
 * Readiness: before making audio, is the model past the "knows nothing" level of its data?
 *
 * The level is the unigram entropy of the dataset's validation data (bits/sample; recorded at ingest,
 * src/dataset/entropy.ts): what a model scores that learned only how often each mu-law class occurs.
 * A checkpoint records its newest validation loss (train writes val_loss_bits / val_loss_step and
 * data_entropy_bits into its metadata). Older checkpoints: the loss from the run's log.jsonl and the
 * level from the dataset's manifest (computed from its chunks when the manifest predates the field).
 *
 * `readinessNote` gives one line for synth/render when the model has no validation loss yet or its loss
 * is within READY_MARGIN of the level (expect noise), else null. The bundled demo model is exempt
 * (it is trained well past it: docs/audio.md has its numbers).
 */
import { existsSync } from 'node:fs';
import { LIMITS, readRegularText } from '../util/files.js';
import { dirname, join, relative } from 'node:path';
import { readManifest } from '../dataset/manifest.js';
import { recordValEntropy } from '../dataset/entropy.js';
import { BUNDLED_MODEL } from '../model/bundled.js';

/** Within this fraction of the "knows nothing" level counts as not ready (10 %). */
export const READY_MARGIN = 0.1;

export interface Readiness {
  step: number;
  /** Newest validation loss, bits/sample, and its step (null when none). */
  valLoss: number | null;
  valStep: number | null;
  /** The dataset's "knows nothing" level, bits/sample (null when unknown). */
  entropy: number | null;
}

function num(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The numbers of a checkpoint (metadata first, then its run's log and dataset). Never throws. */
export function readiness(path: string, step: number, metadata: Record<string, string>): Readiness {
  let valLoss = num(metadata.val_loss_bits);
  let valStep = num(metadata.val_loss_step);
  let entropy = num(metadata.data_entropy_bits);
  if (valLoss === null) {
    // runs/NAME/checkpoints/step-N.safetensors -> runs/NAME/log.jsonl
    const log = join(dirname(dirname(path)), 'log.jsonl');
    try {
      if (existsSync(log)) {
        for (const line of readRegularText(log, { what: 'training log', maxBytes: LIMITS.logBytes }).split('\n')) {
          if (!line.trim()) continue;
          const r = JSON.parse(line) as { step?: number; valLoss?: number };
          if (
            typeof r.valLoss === 'number' &&
            typeof r.step === 'number' &&
            r.step <= step &&
            Number.isFinite(r.valLoss)
          ) {
            valLoss = r.valLoss;
            valStep = r.step;
          }
        }
      }
    } catch {
      /* an unreadable log: no loss known */
    }
  }
  if (entropy === null && metadata.dataset) {
    try {
      const m = readManifest(metadata.dataset);
      if (m.valEntropyBits === undefined) recordValEntropy(metadata.dataset, m);
      entropy = m.valEntropyBits ?? null;
    } catch {
      /* the dataset is gone or unreadable: level unknown */
    }
  }
  return { step, valLoss, valStep, entropy };
}

/** The line to print, or null when the model is ready (or is the bundled one). */
export function readinessNote(
  path: string,
  step: number,
  metadata: Record<string, string>,
  bundled = BUNDLED_MODEL,
): string | null {
  if (relative(path, bundled) === '') return null;
  const r = readiness(path, step, metadata);
  const level =
    r.entropy !== null ? `; a model that knows nothing scores ${r.entropy.toFixed(2)} bits/sample on this data` : '';
  if (r.valLoss === null) {
    return `note: this model (step ${step}) has no validation loss yet, so nothing says it has learned anything${level}: expect noise`;
  }
  if (r.entropy === null || r.entropy <= 0) return null;
  if (r.valLoss < r.entropy * (1 - READY_MARGIN)) return null;
  const below = ((r.entropy - r.valLoss) / r.entropy) * 100;
  const how = below > 0 ? `only ${below.toFixed(1)} % below` : `${(-below).toFixed(1)} % above`;
  return (
    `note: this model has barely learned anything: its validation loss at step ${r.valStep} is ${r.valLoss.toFixed(2)} bits/sample, ` +
    `${how} the ${r.entropy.toFixed(2)} bits/sample of a model that knows nothing; expect noise (train longer)`
  );
}
