/**
 * Continuous mu-law companding as WaveNet uses it (not G.711):
 *   y = sign(x) ln(1 + mu|x|) / ln(1 + mu), class = round((y + 1) / 2 * mu)
 * class(0.0) = 128, class(1.0) = 255, class(-1.0) = 0 for mu = 255.
 * This is the TypeScript definition of the codec: the table encoder ingest uses for whole buffers
 * (src/dataset/mulaw-table.ts) is derived from it (its class thresholds are found with it), and the
 * native addon's codec (wn_mulaw_encode, native/core/mulaw.cc) is tested equal to it on every input.
 */
export const MU = 255;

export function mulawEncodeValue(x: number, mu = MU): number {
  let v = Number.isNaN(x) ? 0 : Math.max(-1, Math.min(1, x));
  const y = Math.sign(v) * (Math.log1p(mu * Math.abs(v)) / Math.log1p(mu));
  v = Math.round((y + 1) * 0.5 * mu + 0); // Math.round rounds .5 up, as lround does for positive values
  return Math.max(0, Math.min(mu, v));
}

export function mulawDecodeValue(q: number, mu = MU): number {
  const y = (2 * q) / mu - 1;
  return (Math.sign(y) * (Math.pow(1 + mu, Math.abs(y)) - 1)) / mu;
}
