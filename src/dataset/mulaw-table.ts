/**
 * A table-driven mu-law encoder for whole buffers, bit-for-bit equal to the reference
 * `mulawEncodeValue` (src/audio/mulaw.ts) for every float32 input, and several times faster than a
 * log per sample (ingest encodes tens of millions of samples; see docs/perf.md "## Ingest").
 *
 * The encoder is monotonic in x, so class(x) = the number of classes c >= 1 whose threshold
 * thr[c] = min{x : class(x) >= c} is <= x. The thresholds are found once by bisection over the float32
 * values in [-1, 1] using the reference itself, so ties round exactly as the reference does. A sample
 * is encoded by looking up the class at the start of its bucket (the top 16 bits of its order-preserving
 * float key) and stepping up past at most a couple of thresholds. NaN encodes as 0.0 does (128).
 */
import { MU, mulawEncodeValue } from '../audio/mulaw.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Order-preserving unsigned key of a float32 (by its bits). */
function keyOf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  return b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
}

function floatOfKey(k: number): number {
  u32[0] = k & 0x80000000 ? (k & 0x7fffffff) >>> 0 : ~k >>> 0;
  return f32[0];
}

/**
 * The smallest key in [keyOf(-1), keyOf(1)] whose value encodes to >= c: bracketed around the
 * formula's own boundary (the inverse of the companding at class c - 1/2) by doubling steps, then
 * bisected with the reference itself (the encoder is monotonic, so this is the exact answer; the
 * bracket is a few floats wide except around 0, where floats are dense).
 */
function thresholdKey(c: number, mu: number): number {
  const enc = (k: number) => mulawEncodeValue(floatOfKey(k), mu);
  const first = keyOf(-1);
  const last = keyOf(1);
  const y = (2 * (c - 0.5)) / mu - 1;
  const k = Math.min(last, Math.max(first, keyOf((Math.sign(y) * ((1 + mu) ** Math.abs(y) - 1)) / mu)));
  let lo = k; // encodes below c (or is `first`)
  let hi = k; // encodes to c or above (or is `last`)
  for (let d = 1; lo > first && enc(lo) >= c; d *= 2) lo = Math.max(first, k - d);
  for (let d = 1; hi < last && enc(hi) < c; d *= 2) hi = Math.min(last, k + d);
  if (enc(lo) >= c) return lo;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (enc(mid) >= c) hi = mid;
    else lo = mid;
  }
  return hi;
}

interface Tables {
  thr: Float32Array; // thr[c] for c = 1..mu; thr[mu + 1] = NaN sentinel
  bucket: Uint8Array; // class of the smallest float in each 2^16 bucket of keys
}

const cache = new Map<number, Tables>();

function tables(mu: number): Tables {
  const got = cache.get(mu);
  if (got) return got;
  const thr = new Float32Array(mu + 2);
  thr[0] = -Infinity;
  thr[mu + 1] = NaN; // every comparison with NaN is false: the loop stops at mu, +Infinity included
  for (let c = 1; c <= mu; c++) thr[c] = floatOfKey(thresholdKey(c, mu));
  // class of each bucket's smallest value: the thresholds are sorted in key order, so one sweep does it
  // (NaN buckets, above +Inf and below -Inf in key order, are caught by the NaN check when encoding)
  const bucket = new Uint8Array(65536);
  const thrKeys = Array.from({ length: mu }, (_, i) => keyOf(thr[i + 1]));
  let c = 0;
  for (let b = 0; b < 65536; b++) {
    const k = (b * 65536) >>> 0;
    while (c < mu && thrKeys[c] <= k) c++;
    bucket[b] = c;
  }
  const t = { thr, bucket };
  cache.set(mu, t);
  return t;
}

/**
 * The class thresholds: element c - 1 is the smallest float32 in [-1, 1] that the reference encodes
 * to class c or above (c = 1..mu). Every encoder that agrees with the reference just around these
 * floats and is monotonic agrees with it everywhere (test/mulaw.test.ts).
 */
export function mulawThresholds(mu = MU): Float32Array {
  return tables(mu).thr.slice(1, mu + 1);
}

/** Encode a whole buffer; `out` (optional) receives the classes. */
export function mulawEncodeFast(x: Float32Array, mu = MU, out?: Uint8Array): Uint8Array {
  if (mu > 255) throw new Error(`mulawEncodeFast: mu ${mu} does not fit a byte`);
  const { thr, bucket } = tables(mu);
  const o = out ?? new Uint8Array(x.length);
  const aligned = x.byteOffset % 4 === 0;
  const bits = aligned
    ? new Uint32Array(x.buffer, x.byteOffset, x.length)
    : new Uint32Array(Float32Array.from(x).buffer);
  const zero = mulawEncodeValue(0, mu);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (Number.isNaN(v)) {
      o[i] = zero;
      continue;
    }
    const b = bits[i];
    const k = b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    let c = bucket[k >>> 16];
    while (v >= thr[c + 1]) c++;
    o[i] = c;
  }
  return o;
}
