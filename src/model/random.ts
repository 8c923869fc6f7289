/**
 * Deterministic random model weights for benchmarks and tests (speed does not depend on the values;
 * tests need the same weights on every run and every backend).
 */
import { paramLayout, type ModelConfig } from './config.js';

/** A small linear congruential generator: uniform numbers in [0, 1), the same sequence everywhere. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Random weights scaled like a trained model's: uniform, sqrt(3/fan-in) for matrices, 0.1 for biases. */
export function randomParams(c: ModelConfig, seed = 1): Float32Array {
  const layout = paramLayout(c);
  const last = layout[layout.length - 1];
  const p = new Float32Array(last.offset + last.size);
  const r = lcg(seed);
  for (const t of layout) {
    const scale = t.name === 'input.embed' ? 1 : t.shape.length === 2 ? Math.sqrt(3 / t.shape[1]) : 0.1;
    for (let i = 0; i < t.size; i++) p[t.offset + i] = (r() * 2 - 1) * scale;
  }
  return p;
}
