/**
 * Two graphs' loads drawn from one seed, for judging a fleet: both a compressed day (one period of 60-90 min) between
 * a trough of 0.3-0.8 req/s and a peak of 5-8 req/s, with a per-minute noise of sigma 0.1-0.2 (an AR(1) with
 * correlation 0.6, as the diurnal family has); `anti` puts the second graph's peak half a period after the first's
 * (one busy while the other is quiet), `same` puts both peaks at once. Request lengths as the families draw them
 * (ISL mean 1200-2500, OSL mean 200-400).
 *
 *   rate(t) = trough + (peak - trough) x (1 + cos(2 pi (t - peakAt) / period)) / 2 x noise(minute)
 *
 * Example: trough 0.5, peak 6, period 80 min, first peak at 20 min: graph A runs 6 req/s at 20 min and 0.5 at
 * 60 min; with `anti`, graph B peaks at 60 min.
 */
import { createRng, lognormal, standardNormal, type Rng } from '../random.js';
import type { Trace } from '../types.js';
import type { LoadPlan } from './families.js';
import { traceOfPlan } from './index.js';

export type PairPhase = 'anti' | 'same';

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();

function oneGraph(rng: Rng, period: number, peakAt: number, label: string): LoadPlan {
  const trough = uniform(rng, 0.3, 0.8);
  const peak = uniform(rng, 5, 8);
  const sigma = uniform(rng, 0.1, 0.2);
  const islMean = uniform(rng, 1200, 2500);
  const oslMean = uniform(rng, 200, 400);
  const noise: number[] = [];
  let z = standardNormal(rng);
  for (let m = 0; m <= period / 60; m++) {
    noise.push(Math.exp(sigma * z - (sigma * sigma) / 2));
    z = 0.6 * z + 0.8 * standardNormal(rng);
  }
  const clamp = (x: number, max: number) => Math.min(max, Math.max(1, Math.round(x)));
  return {
    description: `${label}: ${trough.toFixed(1)} -> ${peak.toFixed(1)} req/s, peak at ${Math.round(peakAt / 60)} min of ${period / 60}, noise sigma ${sigma.toFixed(2)}; isl lognormal(${Math.round(islMean)}, 0.6), osl lognormal(${Math.round(oslMean)}, 0.6)`,
    durationSeconds: period,
    rate: (t) => (trough + ((peak - trough) * (1 + Math.cos((2 * Math.PI * (t - peakAt)) / period))) / 2) * (noise[Math.floor(t / 60)] ?? 1),
    peakRate: peak * Math.max(...noise),
    lengths: (_t, g) => ({ isl: clamp(lognormal(g, islMean, 0.6), 32000), osl: clamp(lognormal(g, oslMean, 0.6), 4000) }),
  };
}

/** The two plans of a seed. */
export function fleetPairPlans(seed: number, phase: PairPhase): [LoadPlan, LoadPlan] {
  const rng = createRng(seed * 104729 + (phase === 'anti' ? 1 : 2));
  const period = 60 * Math.round(uniform(rng, 60, 90));
  const first = period * uniform(rng, 0.2, 0.3);
  const second = phase === 'anti' ? first + period / 2 : first;
  return [oneGraph(rng, period, first, 'graph A'), oneGraph(rng, period, second, 'graph B')];
}

/** The two traces of a seed, named `fleet-pair:<phase>?seed=N#a` and `#b`. */
export function fleetPairTraces(seed: number, phase: PairPhase): [Trace, Trace] {
  const [a, b] = fleetPairPlans(seed, phase);
  const name = `fleet-pair:${phase}?seed=${seed}`;
  return [traceOfPlan(a, seed * 2 + 1, `${name}#a`), traceOfPlan(b, seed * 2 + 2, `${name}#b`)];
}
