/** wn_uniform(seed, counter) in JavaScript (native/core/rng.h): the uniform each synthesis step draws. */
export function wnUniform(seed: bigint, counter: bigint): number {
  const M = (1n << 64n) - 1n;
  const mix = (z: bigint) => {
    z = (z + 0x9e3779b97f4a7c15n) & M;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return z ^ (z >> 31n);
  };
  return Number(mix(seed ^ mix(counter)) >> 40n) / 16777216;
}
