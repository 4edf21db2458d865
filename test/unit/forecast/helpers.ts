import { policySpec, type ForecasterSpec } from '../../../src/config/schema.js';
import type { SeriesPoint } from '../../../src/forecast/types.js';

const base = {
  slo: { ttft: { ms: 500 }, itl: { ms: 50 } },
  pools: [{ name: 'p', role: 'prefill' }],
};

/** A forecaster spec with the schema's defaults, overridden by `fields`. */
export function forecasterSpec(fields: Record<string, unknown> = {}): ForecasterSpec {
  return policySpec.parse({ ...base, forecaster: fields }).forecaster;
}

/** Points one interval apart starting at epoch ms `start`. */
export function seriesOf(values: number[], intervalSeconds = 60, start = Date.UTC(2026, 0, 1)): SeriesPoint[] {
  return values.map((value, i) => ({ time: start + i * intervalSeconds * 1000, value }));
}

/** Deterministic pseudo-random numbers (mulberry32) and a standard normal draw from them. */
export function rng(seed: number): { uniform(): number; normal(): number } {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}
