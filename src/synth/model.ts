/**
 * Which checkpoint `wavenet synth` loads: --model, else the newest run's newest checkpoint under
 * ./runs, else the bundled demo model (src/model/bundled.ts), which the caller is told about.
 */
import { loadCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { resolveModelOrBundled } from '../model/bundled.js';

export interface SynthModel extends LoadedCheckpoint {
  /** The checkpoint file loaded. */
  path: string;
  /** Set when the bundled demo model was chosen: one line for the user. */
  note?: string;
}

/** `--model RUN|CHECKPOINT`, or the newest run's newest checkpoint, or the bundled demo model. */
export async function loadSynthModel(model?: string): Promise<SynthModel> {
  const { path, note } = resolveModelOrBundled(model);
  const ck = await loadCheckpoint(path);
  return { ...ck, path, note };
}
