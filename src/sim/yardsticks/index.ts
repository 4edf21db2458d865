/**
 * Yardsticks that do not depend on any policy, for reports, the bench and tests:
 * - fluidBound: the GPU-hours no schedule can go below (bound.ts);
 * - neutralStart: the warm start every run begins from (hindsight.ts);
 * - hindsight: the cheapest schedule found, with the whole trace known, that meets the SLO (hindsight.ts);
 * - hpaTuned: HPA at the cheapest target utilisation that meets the SLO (hpa-tuned.ts);
 * - compareRuns: "beats" as a Pareto comparison (../report/pareto.ts).
 *
 * yardsticks(spec, profile, trace, seed) computes the first four at once, as `simulate` does:
 *   const y = await yardsticks(spec, profile, trace, 1);
 *   const mine = await simulate({ spec, profile, trace, baselines: [], seed: 1 });
 *   mine.runs[0].gpuHours.total / y.hindsight.run.gpuHours.total   // "x hindsight"
 * (simulate starts every run from the same neutralStart, so the two are comparable.)
 */
import type { PolicySpec } from '../../config/schema.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { binTrace } from '../intervals.js';
import type { EvictionOptions } from '../replay.js';
import type { Trace } from '../types.js';
import { fluidBound, type FluidBound } from './bound.js';
import { hindsight, neutralStart, type HindsightResult } from './hindsight.js';
import { hpaTuned, type HpaTunedResult } from './hpa-tuned.js';

export { fluidBound, sloTarget, decodeSecondsPerToken, sumWithoutLargest, BOUND_METHOD, type FluidBound } from './bound.js';
export { hindsight, neutralStart, HINDSIGHT_PASSES, type HindsightResult } from './hindsight.js';
export { hpaTuned, hpaSpecAt, HPA_UTILIZATION_GRID, type HpaTunedResult } from './hpa-tuned.js';
export { compareRuns, EXTRA_COST_FOR_SLO, type Contender, type Verdict } from '../report/pareto.js';

export interface Yardsticks {
  bound: FluidBound;
  start: Record<string, number>;
  hindsight: HindsightResult;
  /** Left out when `withHpaTuned` is false. */
  hpaTuned?: HpaTunedResult;
}

export async function yardsticks(
  spec: PolicySpec,
  profile: PerformanceProfile,
  trace: Trace,
  seed: number,
  options: { evictions?: EvictionOptions; withHpaTuned?: boolean } = {},
): Promise<Yardsticks> {
  const bound = fluidBound(spec, profile, trace);
  const start = neutralStart(spec, profile, trace);
  const hs = await hindsight(spec, profile, trace, { seed, evictions: options.evictions, start });
  const tuned = options.withHpaTuned === false ? undefined : await hpaTuned(spec, profile, trace, { seed, start, bins: binTrace(trace, spec.interval), evictions: options.evictions });
  return { bound, start, hindsight: hs, ...(tuned ? { hpaTuned: tuned } : {}) };
}
