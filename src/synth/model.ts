/**
 * Which checkpoint `wavenet synth` loads. The one place to change when a bundled demo model becomes the
 * fallback for "no runs here yet" (a later issue): catch the UserError of resolveModel(undefined) below.
 */
import { loadCheckpoint, resolveModel, type LoadedCheckpoint } from '../train/checkpoint.js';

export interface SynthModel extends LoadedCheckpoint {
  /** The checkpoint file loaded. */
  path: string;
}

/** `--model RUN|CHECKPOINT`, or the newest run's newest checkpoint under ./runs when absent. */
export async function loadSynthModel(model?: string): Promise<SynthModel> {
  const path = resolveModel(model);
  const ck = await loadCheckpoint(path);
  return { ...ck, path };
}
