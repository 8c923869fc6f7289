/**
 * The model configuration (../shared/DESIGN.md, "The model"), its parsing and the parameter layout.
 * The layout mirrors native/core/model_config.cc exactly (tested against it): one contiguous float32
 * buffer holding every tensor in this order, matrices row-major [out][in].
 */
import { UserError } from '../util/errors.js';

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
  const stack = /^(\d+)\s*x\s*(\d+)$/i.exec(s);
  if (stack) {
    const perStack = Number(stack[1]);
    const stacks = Number(stack[2]);
    if (perStack < 1 || perStack > 20 || stacks < 1 || stacks > 64 || perStack * stacks > 256) {
      throw new UserError(`${flag} ${s}: expected LxS with 1..20 layers per stack, 1..64 stacks, at most 256 layers`);
    }
    const out: number[] = [];
    for (let k = 0; k < stacks; k++) for (let i = 0; i < perStack; i++) out.push(2 ** i);
    return out;
  }
  if (/^\d+(\s*,\s*\d+)*$/.test(s)) {
    const out = s.split(',').map((x) => Number(x.trim()));
    if (out.some((d) => !Number.isInteger(d) || d < 1 || d > 1048576)) {
      throw new UserError(`${flag} ${s}: every dilation must be a whole number from 1 to 1048576`);
    }
    if (out.length > 256) throw new UserError(`${flag}: at most 256 layers (got ${out.length})`);
    return out;
  }
  throw new UserError(`${flag} '${s}': expected stacks like 10x3 (3 stacks of 1..512) or a list like 1,2,4,8`);
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

export function checkConfig(c: ModelConfig): ModelConfig {
  const sizes: [keyof ModelConfig, string][] = [
    ['residual', '--residual-channels'],
    ['dilation', '--dilation-channels'],
    ['skip', '--skip-channels'],
    ['head', '--head-channels'],
  ];
  for (const [k, flag] of sizes) {
    const v = c[k] as number;
    if (!Number.isInteger(v) || v < 1 || v > 8192) throw new UserError(`${flag} ${v}: must be a whole number from 1 to 8192`);
  }
  if (c.classes !== 256) throw new UserError(`classes must be 256 (got ${c.classes})`);
  if (c.dilations.length < 1) throw new UserError('--dilations: at least one layer');
  return c;
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
export function toNative(c: ModelConfig) {
  return { dilations: c.dilations, residual: c.residual, dilation: c.dilation, skip: c.skip, head: c.head, classes: c.classes };
}
