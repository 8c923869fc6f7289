import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../src/native.js';
import { mulawEncodeValue, mulawDecodeValue } from '../src/audio/mulaw.js';
import { mulawEncodeFast, mulawThresholds } from '../src/dataset/mulaw-table.js';

const addon = native();

test('mu-law anchors: -1 -> 0, 0 -> 128, 1 -> 255 (native and TypeScript)', () => {
  assert.deepEqual(Array.from(addon.mulawEncode(new Float32Array([-1, 0, 1]))), [0, 128, 255]);
  assert.deepEqual(
    [-1, 0, 1].map((x) => mulawEncodeValue(x)),
    [0, 128, 255],
  );
  // out of range clamps
  assert.deepEqual(Array.from(addon.mulawEncode(new Float32Array([-3, 7]))), [0, 255]);
});

test('mu-law is monotonic and covers every class', () => {
  const n = 200001;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -1 + (2 * i) / (n - 1);
  const q = addon.mulawEncode(x);
  const seen = new Set<number>();
  for (let i = 1; i < n; i++) assert.ok(q[i] >= q[i - 1], `not monotonic at x=${x[i]}`);
  for (const v of q) seen.add(v);
  assert.equal(seen.size, 256);
});

test('mu-law round trip error is within half a bin of the companded scale', () => {
  const n = 100001;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -1 + (2 * i) / (n - 1);
  const y = addon.mulawDecode(addon.mulawEncode(x));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    // bound: the derivative of the expander at |x| times half a bin (1/255 in y units)
    const dxdy = (Math.log(256) * (1 + 255 * Math.abs(x[i]))) / 255;
    const bound = dxdy * (1 / 255) * 1.05 + 1e-6;
    const err = Math.abs(y[i] - x[i]);
    worst = Math.max(worst, err / bound);
    assert.ok(err <= bound, `x=${x[i]} decoded ${y[i]}, error ${err} > ${bound}`);
  }
  // near zero the codec is fine-grained: 1e-4 amplitude resolution
  assert.ok(Math.abs(addon.mulawDecode(new Uint8Array([128]))[0]) < 1e-4);
  assert.ok(worst > 0.3, 'bound should be reasonably tight');
});

test('native and TypeScript codecs agree on every class and on 100k random values', () => {
  const classes = new Uint8Array(256).map((_, i) => i);
  const dec = addon.mulawDecode(classes);
  for (let q = 0; q < 256; q++) assert.ok(Math.abs(dec[q] - mulawDecodeValue(q)) < 1e-6, `class ${q}`);
  const x = new Float32Array(2000000);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    x[i] = (s / 2 ** 32) * 2 - 1;
  }
  const q = addon.mulawEncode(x);
  let mismatches = 0;
  for (let i = 0; i < x.length; i++) if (q[i] !== mulawEncodeValue(x[i])) mismatches++;
  assert.equal(mismatches, 0, `${mismatches} mismatches between the native and TypeScript encoders`);
  // the table encoder ingest uses gives the same classes too
  const fast = mulawEncodeFast(x);
  let fastMismatches = 0;
  for (let i = 0; i < x.length; i++) if (fast[i] !== q[i]) fastMismatches++;
  assert.equal(fastMismatches, 0, `${fastMismatches} mismatches between the native and table encoders`);
  assert.equal(addon.mulawEncode(new Float32Array([NaN]))[0], 128);
});

/**
 * Every float32 input, argued from the thresholds: the three encoders (TypeScript reference, its table,
 * the native codec) are monotonic steps evaluated in double precision, so they can only disagree
 * where the scaled value (y + 1) mu / 2 lies within a few double-precision ulps of a half-integer,
 * i.e. at the float32 values right at a class threshold. So they are compared exactly on a window of
 * 2,049 consecutive float32 values around each of the 255 thresholds (and the specials), and shown to be
 * monotonic on a dense sweep; away from the thresholds all three give the class of the window below.
 */
test('native, TypeScript and table encoders agree on every float32 around every class threshold', () => {
  const thr = mulawThresholds();
  assert.equal(thr.length, 255);
  const W = 1024;
  const x = new Float32Array(255 * (2 * W + 1) + 10);
  const bits = new Int32Array(x.buffer);
  const one = new Float32Array(1);
  const oneBits = new Int32Array(one.buffer);
  let k = 0;
  for (let c = 0; c < 255; c++) {
    one[0] = thr[c];
    for (let d = -W; d <= W; d++) bits[k++] = oneBits[0] + (one[0] < 0 ? -d : d); // ascending in value
  }
  for (const v of [0, -0, 1, -1, 2, -2, 1e-45, -1e-45, Infinity, -Infinity]) x[k++] = v;
  const nat = addon.mulawEncode(x);
  const fast = mulawEncodeFast(x);
  for (let i = 0; i < x.length; i++) {
    const ref = mulawEncodeValue(x[i]);
    if (nat[i] !== ref || fast[i] !== ref)
      assert.fail(`x = ${x[i]}: reference ${ref}, native ${nat[i]}, table ${fast[i]}`);
  }
  // each threshold is where the class steps up: class >= c at thr, below c one float32 under it
  for (let c = 1; c <= 255; c++) {
    const at = (c - 1) * (2 * W + 1) + W;
    assert.ok(nat[at] >= c && nat[at - 1] < c, `class ${c}: native ${nat[at - 1]} -> ${nat[at]} at ${x[at]}`);
  }
});
