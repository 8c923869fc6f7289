/** Small statistics shared by the benchmarks and the audio measures. */

/** The median of v (the mean of the two middle values for an even count); NaN when v is empty. */
export function median(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
