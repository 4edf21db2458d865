/**
 * Small, fast, seeded pseudo-random numbers for the simulator (trace rate scaling, synthetic load,
 * spot evictions). Deterministic: the same seed always yields the same sequence, on every platform.
 *
 * The generator is mulberry32: 32-bit state, one multiply-xorshift round per draw, period 2^32.
 * That is plenty for a simulation (a 10M-request trace draws a few tens of millions of numbers), and
 * it needs no BigInt arithmetic, which is far slower.
 */

/** Most a seed may be: the generator's state is 32 bits, so larger seeds would only repeat smaller ones. */
export const MAX_SEED = 4_294_967_295;

/** A uniform generator on [0, 1). */
export type Rng = () => number;

/**
 * Mix an arbitrary number (possibly a non-integer or negative seed) into a well-spread 32-bit state,
 * so seeds 1, 2, 3 do not produce visibly correlated first draws (splitmix-style finaliser).
 */
function mixSeed(seed: number): number {
  let h = Math.floor(seed) ^ 0x9e3779b9;
  // Fold in the fractional part too, so 1.5 and 1 are different seeds.
  h = Math.imul(h ^ Math.floor((seed % 1) * 0x100000000), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Create a seeded uniform generator on [0, 1).
 * Example: `const rng = createRng(42); rng()` → the same number in every run with seed 42.
 */
export function createRng(seed: number): Rng {
  let state = mixSeed(seed);
  return function next(): number {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An exponentially distributed draw with the given rate (mean 1/rate), by inversion:
 * x = -ln(1 - u) / rate. Example: rate 5/s → mean gap 0.2 s; u = 0.5 → 0.1386 s.
 * Uses 1 - u so u = 0 gives 0 rather than Infinity.
 */
export function exponential(rng: Rng, rate: number): number {
  if (!(rate > 0)) throw new RangeError(`exponential: rate must be > 0, got ${rate}`);
  return -Math.log(1 - rng()) / rate;
}

/**
 * A standard normal draw (mean 0, sd 1) by Box–Muller (one of the pair; simple beats fast here).
 * Example: u1 = 0.5, u2 = 0 → sqrt(-2 ln 0.5) · cos 0 = 1.1774.
 */
export function standardNormal(rng: Rng): number {
  const u1 = 1 - rng(); // (0, 1]: ln never sees 0
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * A lognormal draw with the given MEAN (not median) and log-space sigma.
 * mean = exp(mu + sigma²/2) ⇒ mu = ln(mean) - sigma²/2.
 * Example: mean 3000, sigma 1 → mu = ln 3000 - 0.5 = 7.506; median = e^7.506 = 1820.
 */
export function lognormal(rng: Rng, mean: number, sigma: number): number {
  if (!(mean > 0)) throw new RangeError(`lognormal: mean must be > 0, got ${mean}`);
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Math.exp(mu + sigma * standardNormal(rng));
}
