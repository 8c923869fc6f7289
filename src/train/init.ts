/**
 * Initial parameters, deterministic from a seed (docs/checkpoints.md, "Initialisation"):
 *   input.embed        U(-1/sqrt(2), 1/sqrt(2))  (each output sums two embedding rows)
 *   every matrix W     U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = its number of inputs (PyTorch's default bound)
 *   every bias         0
 */
import { paramCount, paramLayout, type ModelConfig } from '../model/config.js';
import { Rng } from '../util/rng.js';

export function initParams(config: ModelConfig, seed: number): Float32Array {
  const rng = new Rng(seed, 0);
  const p = new Float32Array(paramCount(config));
  for (const t of paramLayout(config)) {
    if (t.name.endsWith('.bias')) continue;
    const fanIn = t.name === 'input.embed' ? 2 : t.shape[t.shape.length - 1];
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = 0; i < t.size; i++) p[t.offset + i] = (2 * rng.nextFloat() - 1) * bound;
  }
  return p;
}
