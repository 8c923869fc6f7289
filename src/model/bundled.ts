/**
 * The small model bundled with the project (models/demo/, trained on datasets/demo/ by the command in
 * models/demo/README.md). `synth` and `render` fall back to it when no --model is given and ./runs
 * holds no checkpoint, so a fresh clone makes sound without training first.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel } from '../train/checkpoint.js';
import { UserError } from '../util/errors.js';

/** The project's root folder (src/model/ or dist/model/ is two levels below it). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BUNDLED_MODEL = join(PROJECT_ROOT, 'models', 'demo', 'model.safetensors');

export interface ResolvedModel {
  path: string;
  /** One line to show the user when the bundled model was chosen. */
  note?: string;
}

/** resolveModel, falling back to the bundled model when no --model is given and there is no run. */
export function resolveModelOrBundled(model?: string, runsRoot = 'runs', bundled = BUNDLED_MODEL): ResolvedModel {
  if (model !== undefined && model !== '') return { path: resolveModel(model, runsRoot) };
  try {
    return { path: resolveModel(undefined, runsRoot) };
  } catch (e) {
    if (!(e instanceof UserError) || !existsSync(bundled)) throw e;
    const shown = relative(process.cwd(), bundled) || bundled;
    return {
      path: bundled,
      note: `no trained runs under ./${runsRoot}: using the bundled demo model ${shown.startsWith('..') ? bundled : shown} (train your own with \`wavenet ingest\` + \`wavenet train\`)`,
    };
  }
}
