/**
 * The model configuration (the model's equations: docs/checkpoints.md), its parsing and the parameter layout.
 * The layout mirrors native/core/model_config.cc exactly (tested against it): one contiguous float32
 * buffer holding every tensor in this order, matrices row-major [out][in].
 */
import { UserError, shown } from '../util/errors.js';

export interface ModelConfig {
  /** Dilation of each residual layer, in order. */
  dilations: number[];
  /** R: residual channels. */
  residual: number;
  /** D: dilation (gate) channels. */
  dilation: number;
  /** S: skip channels. */
  skip: number;
  /** H: head channels. */
  head: number;
  /** Q: classes (mu-law levels), 256. */
  classes: number;
}

/**
 * Limits of a model config (docs/reliability.md, "Limits"), chosen for audio at 16 kHz: a dilation of
 * 65,536 samples is 4.1 s, a receptive field of 262,144 samples 16.4 s (typical WaveNets use 0.1 to 1 s);
 * 1,024 channels is 16x the default; 2^28 parameters are 1 GiB of float32 weights (the default config
 * has 1.1 million). Within these limits the memory a command needs is estimated before allocating
 * (src/model/memory.ts) and refused with the figure when it does not fit.
 */
export const CONFIG_LIMITS = {
  maxLayers: 256,
  maxDilation: 65536,
  maxReceptiveField: 262144,
  maxChannels: 1024,
  maxParams: 2 ** 28,
} as const;

export const DEFAULT_CONFIG: ModelConfig = {
  dilations: parseDilations('10x3'),
  residual: 64,
  dilation: 64,
  skip: 256,
  head: 256,
  classes: 256,
};

/**
 * `10x3` -> 3 stacks of 1, 2, ..., 512 (30 layers); `1,2,4,8` -> that list.
 * Throws a UserError naming the flag on anything else.
 */
export function parseDilations(spec: string, flag = '--dilations'): number[] {
  const s = String(spec).trim();
  const L = CONFIG_LIMITS;
  const stack = /^(\d+)\s*x\s*(\d+)$/i.exec(s);
  if (stack) {
    const perStack = Number(stack[1]);
    const stacks = Number(stack[2]);
    const maxPer = Math.log2(L.maxDilation) + 1;
    if (perStack < 1 || perStack > maxPer || stacks < 1 || stacks > 64 || perStack * stacks > L.maxLayers) {
      throw new UserError(
        `${flag} ${s}: expected LxS with 1..${maxPer} layers per stack, 1..64 stacks, at most ${L.maxLayers} layers`,
      );
    }
    const out: number[] = [];
    for (let k = 0; k < stacks; k++) for (let i = 0; i < perStack; i++) out.push(2 ** i);
    return checkDilations(out, flag);
  }
  if (/^\d+(\s*,\s*\d+)*$/.test(s)) {
    const out = s.split(',').map((x) => Number(x.trim()));
    if (out.some((d) => !Number.isInteger(d) || d < 1 || d > L.maxDilation)) {
      throw new UserError(`${flag} ${s}: every dilation must be a whole number from 1 to ${L.maxDilation}`);
    }
    return checkDilations(out, flag);
  }
  throw new UserError(`${flag} '${s}': expected stacks like 10x3 (3 stacks of 1..512) or a list like 1,2,4,8`);
}

const describeValue = (v: unknown) => shown(v);

/** Checks a list of dilations against the limits (whole numbers, 1..maxDilation, layers, receptive field). */
export function checkDilations(d: unknown, flag = '--dilations'): number[] {
  const L = CONFIG_LIMITS;
  if (!Array.isArray(d)) throw new UserError(`${flag}: expected a list of dilations, got ${describeValue(d)}`);
  if (d.length < 1) throw new UserError(`${flag}: at least one layer`);
  if (d.length > L.maxLayers) throw new UserError(`${flag}: at most ${L.maxLayers} layers (got ${d.length})`);
  d.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 1 || x > L.maxDilation) {
      throw new UserError(
        `${flag}: dilation of layer ${i} is ${describeValue(x)}; every dilation must be a whole number from 1 to ${L.maxDilation}`,
      );
    }
  });
  const rf = 2 + (d as number[]).reduce((a, b) => a + b, 0);
  if (rf > L.maxReceptiveField) {
    throw new UserError(
      `${flag}: receptive field ${rf} samples (${(rf / 16000).toFixed(1)} s at 16 kHz) is more than the limit of ${L.maxReceptiveField}`,
    );
  }
  return d as number[];
}

/** Formats dilations back compactly: `10x3` when they are stacks of powers of two, else the list. */
export function formatDilations(d: number[]): string {
  for (let per = 1; per <= 20; per++) {
    if (d.length % per !== 0) continue;
    const stacks = d.length / per;
    if (d.every((x, i) => x === 2 ** (i % per))) return `${per}x${stacks}`;
  }
  return d.join(',');
}

/**
 * Checks a config (from flags or from a file: any JSON value is accepted as input) against the
 * limits; returns a clean copy holding only the config's fields. UserError naming the flag otherwise.
 */
export function checkConfig(c: ModelConfig, names: 'flags' | 'fields' = 'flags'): ModelConfig {
  const flags = names === 'flags';
  const raw = c as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new UserError(`config: expected an object, got ${describeValue(raw)}`);
  const o = raw as Record<string, unknown>;
  const sizes: [keyof ModelConfig, string][] = [
    ['residual', '--residual-channels'],
    ['dilation', '--dilation-channels'],
    ['skip', '--skip-channels'],
    ['head', '--head-channels'],
  ];
  const max = CONFIG_LIMITS.maxChannels;
  for (const [k, f] of sizes) {
    const flag = flags ? f : k;
    const v = o[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)
      throw new UserError(`${flag} ${describeValue(v)}: must be a whole number from 1 to ${max}`);
  }
  if (o.classes !== 256) throw new UserError(`classes must be 256 (got ${describeValue(o.classes)})`);
  const out: ModelConfig = {
    dilations: checkDilations(o.dilations, flags ? '--dilations' : 'dilations').slice(),
    residual: o.residual as number,
    dilation: o.dilation as number,
    skip: o.skip as number,
    head: o.head as number,
    classes: 256,
  };
  const n = paramCount(out);
  if (n > CONFIG_LIMITS.maxParams) {
    throw new UserError(
      `config: ${n.toLocaleString('en-US')} parameters is more than the limit of ${CONFIG_LIMITS.maxParams.toLocaleString('en-US')} (1 GiB of weights); use fewer layers or channels`,
    );
  }
  return out;
}

export function receptiveField(c: ModelConfig): number {
  return 2 + c.dilations.reduce((a, b) => a + b, 0);
}

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Offset in floats within the parameter buffer. */
  offset: number;
  size: number;
}

/** Every tensor of the model, in buffer order. Names are the safetensors names. */
export function paramLayout(c: ModelConfig): TensorSpec[] {
  const { residual: R, dilation: D, skip: S, head: H, classes: Q } = c;
  const specs: TensorSpec[] = [];
  let off = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ name, shape, offset: off, size });
    off += size;
  };
  add('input.embed', [2, Q, R]);
  add('input.bias', [R]);
  c.dilations.forEach((_, l) => {
    add(`layers.${l}.gate.weight`, [2 * D, 2 * R]);
    add(`layers.${l}.gate.bias`, [2 * D]);
    add(`layers.${l}.skip.weight`, [S, D]);
    add(`layers.${l}.skip.bias`, [S]);
    add(`layers.${l}.res.weight`, [R, D]);
    add(`layers.${l}.res.bias`, [R]);
  });
  add('head.1.weight', [H, S]);
  add('head.1.bias', [H]);
  add('head.2.weight', [Q, H]);
  add('head.2.bias', [Q]);
  return specs;
}

export function paramCount(c: ModelConfig): number {
  const l = paramLayout(c);
  const last = l[l.length - 1];
  return last.offset + last.size;
}

/** The config as the native addon takes it. */
/** The fields the addon reads (a copy without any extra properties a parsed file may carry). */
export function toNative(c: ModelConfig): ModelConfig {
  return {
    dilations: c.dilations,
    residual: c.residual,
    dilation: c.dilation,
    skip: c.skip,
    head: c.head,
    classes: c.classes,
  };
}
