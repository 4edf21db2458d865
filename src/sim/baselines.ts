/**
 * The baselines every report carries, as policy specs for the same decision core:
 * - `static`: provision for peak: each pool fixed at the highest count the oracle ever asked for.
 * - `hpa`: the Kubernetes HPA algorithm on requests/s per replica, with targets a careful operator would set
 *   (70% of what one replica sustains within the SLOs at the trace's mean ISL/OSL, from the profile).
 * - `dynamo`: Dynamo's SLA formulas exactly (policy `dynamo`), none of our improvements.
 * - `oracle`: our `sla` policy fed a perfect forecast (see intervals.ts): the lower bound on GPU-hours.
 */
import type { PolicySpec } from '../config/schema.js';
import type { PerformanceProfile } from '../profiles/types.js';

export const BASELINES = ['static', 'hpa', 'dynamo', 'oracle'] as const;
export type Baseline = (typeof BASELINES)[number];
export type RunKind = 'policy' | Baseline;

/** Share of a replica's SLO-bound capacity that the HPA baseline targets. */
export const HPA_TARGET_UTILIZATION = 0.7;

export function parseBaselines(text: string): Baseline[] {
  if (text.trim() === '' || text === 'none') return [];
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(BASELINES as readonly string[]).includes(name)) {
      throw new Error(`--baselines: unknown baseline "${name}" (choose from ${BASELINES.join(', ')})`);
    }
  }
  return [...new Set(names)] as Baseline[];
}

/**
 * HPA targets from the profile.
 * Example (llama2-70b-h100-tp4, ISL 2048, 4 GPUs): prefill 2551 tok/s/GPU x 4 / 2048 = 4.98 req/s per replica,
 * x 0.7 = 3.49 req/s target.
 */
export function hpaTargets(spec: PolicySpec, profile: PerformanceProfile, meanIsl: number, meanOsl: number): { prefill: number; decode: number } {
  const gpus = (role: 'prefill' | 'decode') => spec.pools.find((p) => p.role === role)?.gpusPerReplica ?? 1;
  const prefillReqPerSec = (profile.prefillThptPerGpu(meanIsl).value * gpus('prefill')) / Math.max(1, meanIsl);
  const best = profile.bestDecode(spec.slo.itl.ms, meanIsl + meanOsl / 2);
  const decodeReqPerSec = (best.thptPerGpu * gpus('decode')) / Math.max(1, meanOsl);
  return {
    prefill: Math.max(1e-3, prefillReqPerSec * HPA_TARGET_UTILIZATION),
    decode: Math.max(1e-3, decodeReqPerSec * HPA_TARGET_UTILIZATION),
  };
}

export function baselineSpec(
  kind: RunKind,
  spec: PolicySpec,
  extra: { profile: PerformanceProfile; meanIsl: number; meanOsl: number; peak?: Record<string, number> },
): PolicySpec {
  switch (kind) {
    case 'policy':
      return spec;
    case 'dynamo':
      return { ...spec, policy: 'dynamo' };
    case 'oracle':
      return { ...spec, policy: 'sla' };
    case 'hpa': {
      const targets = hpaTargets(spec, extra.profile, extra.meanIsl, extra.meanOsl);
      return { ...spec, policy: 'hpa', hpa: { ...spec.hpa, prefillRequestsPerReplica: targets.prefill, decodeRequestsPerReplica: targets.decode } };
    }
    case 'static': {
      if (!extra.peak) throw new Error('the static baseline needs the oracle run first (peak counts)');
      return { ...spec, policy: 'static', static: { replicas: { ...extra.peak } }, schedules: [] };
    }
  }
}
