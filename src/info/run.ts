/** `wavenet info PATH` for a run folder (runs/NAME, with config.json) and a checkpoint (.safetensors). */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Describer } from './describers.js';
import { formatDilations, paramCount, receptiveField, type ModelConfig } from '../model/config.js';
import { listCheckpoints, readCheckpointMetadata } from '../train/checkpoint.js';
import { formatDuration, readLog, readRunConfig, RUN_FORMAT, type LogRow } from '../train/run.js';
import { UserError } from '../util/errors.js';

function configLine(c: ModelConfig): string {
  return `dilations ${formatDilations(c.dilations)} (${c.dilations.length} layers), residual ${c.residual}, dilation ${c.dilation}, skip ${c.skip}, head ${c.head}`;
}

function lastLosses(rows: LogRow[], upTo = Infinity) {
  const r = rows.filter((x) => x.step <= upTo);
  const last = r[r.length - 1];
  const lastVal = [...r].reverse().find((x) => x.valLoss !== undefined);
  return {
    step: last?.step ?? null,
    loss: last?.loss ?? null,
    valLoss: lastVal?.valLoss ?? null,
    valStep: lastVal?.step ?? null,
  };
}

function fmt(v: number | null): string {
  return v === null ? '-' : v.toFixed(3);
}

export const runDescriber: Describer = {
  kind: 'run',
  matches(path: string) {
    try {
      if (!statSync(path).isDirectory()) return false;
      return existsSync(join(path, 'config.json')) && readRunConfig(path)?.format === RUN_FORMAT;
    } catch {
      return false;
    }
  },
  async describe(path: string) {
    const c = readRunConfig(path)!;
    const cks = listCheckpoints(path);
    const rows = readLog(path);
    const losses = lastLosses(rows);
    const newest = cks[cks.length - 1];
    const elapsed = rows.length ? rows[rows.length - 1].elapsedSeconds : 0;
    const json = {
      kind: 'run',
      path: resolve(path),
      config: c.model,
      receptiveField: receptiveField(c.model),
      paramCount: paramCount(c.model),
      training: c.training,
      step: newest?.step ?? 0,
      checkpoints: cks.map((k) => ({ step: k.step, path: k.weights, resumable: k.hasOptim })),
      lastLoggedStep: losses.step,
      loss: losses.loss,
      valLoss: losses.valLoss,
      valLossStep: losses.valStep,
      elapsedSeconds: elapsed,
      dataset: c.dataset,
      command: c.command,
      createdAt: c.createdAt,
      resumes: c.resumes,
      lossPlot: existsSync(join(path, 'loss.png')) ? join(resolve(path), 'loss.png') : null,
    };
    const text = [
      `run ${path}`,
      `  model           ${configLine(c.model)}`,
      `  receptive field ${json.receptiveField} samples; parameters ${json.paramCount.toLocaleString('en-US')}`,
      `  training        window ${c.training.window}, batch ${c.training.batch}, lr ${c.training.lr}, seed ${c.training.seed}`,
      `  step            ${json.step} (newest checkpoint)${losses.step !== null && losses.step !== json.step ? `; logged up to ${losses.step}` : ''}; ${formatDuration(elapsed)} of training`,
      `  last losses     loss ${fmt(losses.loss)} bits/sample${losses.valLoss !== null ? `, val ${fmt(losses.valLoss)} (step ${losses.valStep})` : ', no validation yet'}`,
      `  dataset         ${c.dataset.path} (manifest sha256 ${c.dataset.manifestHash.slice(0, 16)}...)`,
      `  checkpoints     ${cks.length ? cks.map((k) => basename(k.weights)).join(', ') : 'none yet'}`,
      `  command         ${c.command}`,
    ].join('\n');
    return { text, json };
  },
};

export const checkpointDescriber: Describer = {
  kind: 'checkpoint',
  matches(path: string) {
    try {
      // any non-folder: describe() refuses special files (FIFO, device) with a clear message
      return path.endsWith('.safetensors') && !statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
  async describe(path: string) {
    if (path.endsWith('.optim.safetensors')) {
      throw new UserError(
        `info: ${path} is the optimizer state of a checkpoint; describe ${basename(path).replace('.optim.safetensors', '.safetensors')} instead`,
      );
    }
    const { config, step, metadata, bytes } = await readCheckpointMetadata(path);
    let training: unknown = null;
    try {
      training = JSON.parse(metadata.training ?? 'null');
    } catch {
      /* absent */
    }
    // The run's log, when the checkpoint sits in runs/NAME/checkpoints/.
    const runDir = dirname(dirname(resolve(path)));
    const rows = existsSync(join(runDir, 'log.jsonl')) ? readLog(runDir) : [];
    const losses = lastLosses(rows, step);
    const hasOptim = existsSync(path.replace(/\.safetensors$/, '.optim.safetensors'));
    const json = {
      kind: 'checkpoint',
      path: resolve(path),
      step,
      config,
      receptiveField: receptiveField(config),
      paramCount: paramCount(config),
      bytes,
      training,
      loss: losses.step === step ? losses.loss : null,
      valLoss: losses.valLoss,
      valLossStep: losses.valStep,
      dataset: metadata.dataset ?? null,
      datasetManifestHash: metadata.dataset_manifest_hash ?? null,
      resumable: hasOptim,
      created: metadata.created ?? null,
      formatVersion: metadata.format_version,
    };
    const text = [
      `checkpoint ${path} (format version ${metadata.format_version})`,
      `  step            ${step}${hasOptim ? ' (resumable: optimizer state beside it)' : ' (no optimizer state: weights only)'}`,
      `  model           ${configLine(config)}`,
      `  receptive field ${json.receptiveField} samples; parameters ${json.paramCount.toLocaleString('en-US')}`,
      json.loss !== null || json.valLoss !== null
        ? `  last losses     loss ${fmt(json.loss)} bits/sample${json.valLoss !== null ? `, val ${fmt(json.valLoss)} (step ${json.valLossStep})` : ''}`
        : '  last losses     - (no run log beside it)',
      `  dataset         ${json.dataset ?? '-'}${json.datasetManifestHash ? ` (manifest sha256 ${json.datasetManifestHash.slice(0, 16)}...)` : ''}`,
      `  created         ${json.created ?? '-'}`,
    ].join('\n');
    return { text, json };
  },
};
