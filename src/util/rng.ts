/**
 * A small seeded PRNG whose whole state is four 32-bit integers, so it can be saved and restored
 * exactly (xoshiro128**, seeded through splitmix32). Used for parameter initialisation and for the
 * training crop sampler; the state goes into checkpoints as 32 hex digits.
 */
const TWO32 = 4294967296;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Rng {
  private s = new Uint32Array(4);

  /** seed: a whole number 0 .. 2^53-1; `stream` separates independent generators from one seed. */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a whole number >= 0 (got ${seed})`);
    const lo = seed % TWO32;
    const hi = Math.floor(seed / TWO32);
    const st = { s: (lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(stream + 1, 0x7f4a7c15)) >>> 0 };
    for (let i = 0; i < 4; i++) this.s[i] = splitmix32(st);
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  static fromState(hex: string): Rng {
    const r = new Rng(0);
    r.setState(hex);
    return r;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform whole number in [0, n), n from 1 to 2^53, without modulo bias. */
  below(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`below(n): n must be a whole number >= 1 (got ${n})`);
    if (n <= TWO32) {
      const limit = TWO32 - (TWO32 % n);
      for (;;) {
        const r = this.nextU32();
        if (r < limit) return r % n;
      }
    }
    const span = 9007199254740992;
    const limit = span - (span % n);
    for (;;) {
      const r = (this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6);
      if (r < limit) return r % n;
    }
  }

  /** The whole state as 32 hex digits. */
  getState(): string {
    return Array.from(this.s, (x) => x.toString(16).padStart(8, '0')).join('');
  }

  setState(hex: string): void {
    if (!/^[0-9a-f]{32}$/i.test(hex)) throw new RangeError(`RNG state must be 32 hex digits (got '${hex}')`);
    for (let i = 0; i < 4; i++) this.s[i] = parseInt(hex.slice(8 * i, 8 * i + 8), 16) >>> 0;
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) throw new RangeError('RNG state must not be all zero');
  }
}
