/**
 * What every step of the `sla` pipeline reads: the policy input, the spec's SLO in the forms the formulas use, and
 * the two collections the steps add to (warnings, missing fields). Built once per call.
 */
import type { PolicySpec, Role } from '../../config/schema.js';
import type { Observation } from '../../planner/types.js';
import { percentileKey } from '../../planner/percentile-key.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import type { PolicyInput } from '../types.js';

export interface SlaContext {
  input: PolicyInput;
  spec: PolicySpec;
  profile: PerformanceProfile;
  obs: Observation;
  improvements: PolicySpec['sla']['improvements'];
  /** spec.sla.targetUtilization. */
  utilization: number;
  /** GPUs per replica of each role. */
  gpus: Record<Role, number>;
  /** Planner interval I, seconds. */
  interval: number;
  ttftKey: `p${number}`;
  itlKey: `p${number}`;
  /** TTFT percentile as a quantile (0.95). */
  q: number;
  ttftTargetS: number;
  warnings: string[];
  missing: Record<string, string>;
}

export function slaContext(input: PolicyInput, gpus: Record<Role, number>, warnings: string[], missing: Record<string, string>): SlaContext {
  const { spec } = input;
  return {
    input,
    spec,
    profile: input.profile,
    obs: input.observation,
    improvements: spec.sla.improvements,
    utilization: spec.sla.targetUtilization,
    gpus,
    interval: spec.interval,
    ttftKey: percentileKey(spec.slo.ttft.percentile),
    itlKey: percentileKey(spec.slo.itl.percentile),
    q: spec.slo.ttft.percentile / 100,
    ttftTargetS: spec.slo.ttft.ms / 1000,
    warnings,
    missing,
  };
}
