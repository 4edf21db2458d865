/**
 * Small helpers every policy shares: replica sizes per role, forecast sanity, holding on missing data.
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import type { Forecast, RoleNeed } from '../planner/types.js';
import type { PerformanceProfile } from '../profiles/types.js';

/** Dynamo's floor for each role (`min_endpoint`). */
export const MIN_ENDPOINT = 1;

/**
 * GPUs per replica of each role = the `gpusPerReplica` of its pools. Pools of one role that differ are not
 * comparable replica units: we use the first pool's size and warn. A role without pools reports `hasPool` false and
 * is sized in replicas of 1 GPU, which the warning says: its count is then a GPU count (16 is 2 replicas of 8 GPUs).
 */
export function roleReplicaGpus(spec: PolicySpec, warnings: string[]): { gpus: Record<Role, number>; hasPool: Record<Role, boolean> } {
  const gpus = { prefill: 1, decode: 1 } as Record<Role, number>;
  const hasPool = { prefill: false, decode: false } as Record<Role, boolean>;
  for (const role of ROLES) {
    const pools = spec.pools.filter((p) => p.role === role);
    const first = pools[0];
    if (!first) {
      warnings.push(`no pool has role ${role}: ${role} sized in replicas of 1 GPU (its count is a GPU count), as no pool gives it a gpusPerReplica`);
      continue;
    }
    hasPool[role] = true;
    gpus[role] = first.gpusPerReplica;
    const odd = pools.filter((p) => p.gpusPerReplica !== first.gpusPerReplica);
    if (odd.length > 0) {
      warnings.push(
        `${role} pools differ in gpusPerReplica (${pools.map((p) => `${p.name}: ${p.gpusPerReplica}`).join(', ')}); ` +
          `sized in replicas of ${first.gpusPerReplica} GPUs (pool ${first.name})`,
      );
    }
  }
  return { gpus, hasPool };
}

/** A need that keeps the current count, for when the inputs to compute one are missing (never 0 for that reason). */
export function holdNeed(current: number, reason: string): RoleNeed {
  const replicas = Math.max(current, MIN_ENDPOINT);
  return { replicas, detail: { held: true, reason, current, replicas } };
}

export function isUsable(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x);
}

/** The forecast fields a formula needs, or the name of the first one that is unusable. */
export function checkForecast(f: Forecast | undefined, label = 'forecast'): { ok: true } | { ok: false; field: string } {
  if (!f) return { ok: false, field: label };
  if (!isUsable(f.requests.value) || f.requests.value < 0) return { ok: false, field: `${label}.requests` };
  if (!isUsable(f.isl.value) || f.isl.value < 0) return { ok: false, field: `${label}.isl` };
  if (!isUsable(f.osl.value) || f.osl.value < 0) return { ok: false, field: `${label}.osl` };
  return { ok: true };
}

/**
 * Single-request prefill time (ms) at `isl` tokens: the profile within its measured range, and beyond its largest ISL
 * the extra tokens at the rate measured there (as the engine, and the simulator's cluster model, behave), not the
 * clamped value, which would call a 48k-token prompt as fast as an 8k one.
 * Example (llama2-70b-h100-tp4, largest ISL 8192 at 953.582 ms): 16384 tokens -> 953.582 + 8192 x 953.582 / 8192
 * = 1907.16 ms.
 */
export function prefillMs(profile: PerformanceProfile, isl: number): number {
  const isls = profile.prefill.isl;
  const last = isls.length - 1;
  const maxIsl = isls[last];
  const atMax = profile.prefill.ttftMs[last];
  if (maxIsl === undefined || atMax === undefined || !(isl > maxIsl) || !(maxIsl > 0)) return profile.prefillTtftMs(isl).value;
  return atMax + ((isl - maxIsl) * atMax) / maxIsl;
}

/** Round for display in `detail` (keeps the numbers readable; the exact value is recomputable). */
export function r4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** The window a count of requests covers: the observation's window, else the planner interval. */
export function windowSeconds(observationWindow: number | undefined, interval: number): number {
  return isUsable(observationWindow) && observationWindow > 0 ? observationWindow : interval;
}
