/**
 * Writes the inputs of the loss-curve comparison with the PyTorch reference (scripts/torch_reference.py)
 * and runs the engine's trainer on them:
 *
 *   node --import tsx scripts/cuda-loss-curve.ts --out DIR [--device cuda] [--steps 200] [--batch 8] [--window 1024]
 *
 * DIR/config.json      the model config, batch, window, Adam settings, steps, receptive field, layout
 * DIR/params.f32       initial parameters, float32 little-endian, in the wavenet.h layout
 * DIR/crops.u8         steps x batch x (rf + window) classes: the crops of every step, in order
 * DIR/engine.json      the engine's loss (nats) after each step's forward, and its step times
 *
 * The crops are cut from a synthetic 60 s signal (a few drifting partials and noise, mu-law encoded), so
 * the curve has something to learn without any audio files. Default model config (10x3, 64/64/256/256).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../src/native.js';
import { DEFAULT_CONFIG, paramLayout, receptiveField, toNative } from '../src/model/config.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

async function main() {
  const out = arg('out', '');
  if (!out)
    throw new Error(
      'usage: cuda-loss-curve.ts --out DIR [--device cuda|cpu] [--steps 200] [--batch 8] [--window 1024]',
    );
  const device = arg('device', 'cuda') as 'cuda' | 'cpu';
  const steps = Number(arg('steps', '200'));
  const batch = Number(arg('batch', '8'));
  const window = Number(arg('window', '1024'));
  const lr = Number(arg('lr', '1e-3'));
  mkdirSync(out, { recursive: true });
  const addon = native();
  const config = { ...DEFAULT_CONFIG, dilations: [...DEFAULT_CONFIG.dilations] };
  const rf = receptiveField(config);
  const N = rf + window;
  const layout = paramLayout(config);

  // initial weights: uniform with variance 1/fan-in for matrices, zero biases, unit-scale embedding
  const r = lcg(12345);
  const last = layout[layout.length - 1];
  const params = new Float32Array(last.offset + last.size);
  for (const t of layout) {
    const scale = t.name === 'input.embed' ? 1 : t.shape.length === 2 ? Math.sqrt(3 / t.shape[1]) : 0;
    for (let i = 0; i < t.size; i++) params[t.offset + i] = (r() * 2 - 1) * scale;
  }

  // a synthetic signal: drifting partials + noise, mu-law encoded
  const seconds = 60;
  const sr = 16000;
  const x = new Float32Array(seconds * sr);
  const partials = [110, 220, 331, 440, 587].map((f, k) => ({ f, a: 0.25 / (k + 1), ph: r() * 6.28 }));
  for (let i = 0; i < x.length; i++) {
    const t = i / sr;
    let v = 0;
    for (const p of partials) v += p.a * Math.sin(2 * Math.PI * p.f * t * (1 + 0.01 * Math.sin(0.3 * t)) + p.ph);
    x[i] = 0.8 * v + 0.02 * (r() * 2 - 1);
  }
  const mu = addon.mulawEncode(x);
  const crops = new Uint8Array(steps * batch * N);
  for (let s = 0; s < steps; s++)
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(r() * (mu.length - N));
      crops.set(mu.subarray(start, start + N), (s * batch + b) * N);
    }

  writeFileSync(
    join(out, 'config.json'),
    JSON.stringify(
      {
        ...config,
        batch,
        window,
        receptiveField: rf,
        steps,
        adam: { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
        layout: layout.map((t) => ({ name: t.name, shape: t.shape, offset: t.offset, size: t.size })),
      },
      null,
      2,
    ),
  );
  writeFileSync(join(out, 'params.f32'), Buffer.from(params.buffer));
  writeFileSync(join(out, 'crops.u8'), crops);

  const trainer = new addon.Trainer(toNative(config), batch, window, device);
  const losses: number[] = [];
  const ms: number[] = [];
  try {
    trainer.setParams(params);
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      losses.push(await trainer.step(crops.subarray(s * batch * N, (s + 1) * batch * N), { lr }));
      ms.push(performance.now() - t0);
    }
  } finally {
    trainer.free();
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  writeFileSync(
    join(out, 'engine.json'),
    JSON.stringify(
      { device, losses, stepMs: ms, medianStepMs: median, samplesPerSec: (batch * window) / (median / 1000) },
      null,
      2,
    ),
  );
  console.log(
    `engine (${device}): ${steps} steps, loss ${losses[0].toFixed(4)} -> ${losses[steps - 1].toFixed(4)} nats, median step ${median.toFixed(2)} ms`,
  );
}

main().catch((e) => {
  console.error(`cuda-loss-curve: ${(e as Error).message}`);
  process.exitCode = 1;
});
