/**
 * The baselines a report can carry beside the policy file's own policy. None of them depends on the policy under
 * test: each starts from the same neutral warm start (yardsticks/hindsight.ts neutralStart) and sizes by its own rule.
 * - `static`: provision for peak: each pool fixed at the highest count the hindsight schedule ever holds.
 * - `hpa`: the Kubernetes HPA algorithm on requests/s per replica, with targets a careful operator would set
 *   (70% of what one replica sustains within the SLOs at the trace's mean ISL/OSL, from the profile).
 * - `hpa-tuned`: the same HPA with its target utilisation searched for the cheapest setting that meets the SLO on
 *   this trace (yardsticks/hpa-tuned.ts).
 * - `dynamo`: NVIDIA Dynamo's SLA planner as it ships: its interpolation, budget rule, hold on invalid metrics and
 *   loop defaults (src/sim/dynamo-ships/).
 * - `hindsight`: the cheapest schedule that meets the SLO, found with the whole trace known by search in the cluster
 *   model (yardsticks/hindsight.ts).
 * - `perfect-forecast`: our `sla` policy fed each interval's true load (intervals.ts oracleForecast): what forecasting
 *   errors cost the policy, NOT a lower bound (hindsight and the fluid bound are). `oracle` is accepted on the
 *   command line as an alias.
 */
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';

export const BASELINES = ['static', 'hpa', 'hpa-tuned', 'dynamo', 'hindsight', 'perfect-forecast'] as const;
export type Baseline = (typeof BASELINES)[number];
export type RunKind = 'policy' | Baseline;

/** Old names still accepted by --baselines, and what they mean now. */
const BASELINE_ALIASES: Record<string, Baseline> = { oracle: 'perfect-forecast' };

/** Share of a replica's SLO-bound capacity that the HPA baseline targets. */
export const HPA_TARGET_UTILIZATION = 0.7;

/**
 * The mistakes a list of names can make beside an unknown name, said as such: "static," (an empty name) and
 * "none,static" ("none" is the whole list, not a name in it). Shared with the fleet's --baselines.
 */
export function listNameProblem(text: string, name: string): void {
  if (name === '') throw new Error(`--baselines: "${text}" has an empty name; separate baseline names with single commas`);
  if (name === 'none') throw new Error(`--baselines: "none" means no baseline and stands alone; give "none" or a list of baselines, not both`);
}

export function parseBaselines(text: string): Baseline[] {
  if (text.trim() === '' || text.trim() === 'none') return [];
  const names = text.split(',').map((s) => s.trim());
  const out: Baseline[] = [];
  for (const name of names) {
    listNameProblem(text, name);
    const baseline = BASELINE_ALIASES[name] ?? name;
    if (!(BASELINES as readonly string[]).includes(baseline)) {
      throw new Error(`--baselines: unknown baseline "${name}" (choose from ${BASELINES.join(', ')}; "oracle" is accepted for perfect-forecast)`);
    }
    out.push(baseline as Baseline);
  }
  return [...new Set(out)];
}

/**
 * HPA targets from the profile at target utilisation `utilization`.
 * Example (llama2-70b-h100-tp4, ISL 2048, 4 GPUs): prefill 2551 tok/s/GPU x 4 / 2048 = 4.98 req/s per replica,
 * x 0.7 = 3.49 req/s target.
 */
export function hpaTargets(
  spec: PolicySpec,
  profile: PerformanceProfile,
  meanIsl: number,
  meanOsl: number,
  utilization = HPA_TARGET_UTILIZATION,
): { prefill: number; decode: number } {
  const gpus = (role: 'prefill' | 'decode') => spec.pools.find((p) => p.role === role)?.gpusPerReplica ?? 1;
  const prefillReqPerSec = (profile.prefillThptPerGpu(meanIsl).value * gpus('prefill')) / Math.max(1, meanIsl);
  const best = profile.bestDecode(spec.slo.itl.ms, meanIsl + meanOsl / 2);
  const decodeReqPerSec = (best.thptPerGpu * gpus('decode')) / Math.max(1, meanOsl);
  return {
    prefill: Math.max(1e-3, prefillReqPerSec * utilization),
    decode: Math.max(1e-3, decodeReqPerSec * utilization),
  };
}

/** The static baseline's spec: each pool fixed at `peak`. */
export function staticSpec(spec: PolicySpec, peak: Record<string, number>): PolicySpec {
  return { ...spec, policy: 'static', static: { replicas: { ...peak } }, schedules: [] };
}
