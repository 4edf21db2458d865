/**
 * GPU budget (`spec.budget.maxGpus`): the total GPUs over all pools.
 *
 * Two steps, both here:
 * - `allocateBudget` (role level, before the Spot split): when the roles' totals need more GPUs than
 *   the budget, shrink them, never below their minimums, and report the shortfall in GPUs.
 *   - proportional (default): keep the prefill:decode proportion of need, Dynamo's rule generalised to
 *     per-role minimums and with leftover GPUs handed back:
 *       s = B / total,  p' = max(minP, min(floor((B - minD*gd)/gp), floor(p*s))),  d' = max(minD, floor((B - p'*gp)/gd))
 *     Example: need (14, 3), 1 GPU each, B = 8 -> s = 0.47, p' = floor(6.59) = 6, d' = 2; shortfall 9 GPUs.
 *   - SLO pressure (`policy: sla` with `sla.improvements.budgetSplit`): the cut is shared in proportion to
 *     need / pressure, where pressure = observed latency at the SLO percentile / target (TTFT for prefill,
 *     ITL for decode; 1 when unknown; clamped to 0.25..4), so the role further over its target keeps more.
 *     Example: need (14, 3), B = 8, TTFT p95 900 ms vs 600 (pressure 1.5), ITL p95 40 vs 50 (0.8):
 *     cut 9 GPUs shared 14/1.5 : 3/0.8 = 9.33 : 3.75 -> prefill loses 6.42, decode 2.58 ->
 *     keep (floor 7.58, floor 0.42) = (7, 0) -> decode raised to its minimum 1 -> (7, 1) instead of (6, 2).
 *   - dynamo (`policy: dynamo`): Dynamo's own `_apply_global_gpu_budget` (src/policies/dynamo.ts), then
 *     our per-role minimums.
 *   A held role (metrics missing) is not cut: the other role gets what is left.
 * - `trimToBudget` (pool level, last): step limits and stabilization can keep a pool above what the
 *   budget split gave it while another grows. The budget is a hard limit, so replicas are taken back
 *   in this order, each step one replica from the pool with the most to give:
 *     1. replicas kept only by scale-down stabilization (down to the step-limited target),
 *     2. growth this tick (down to the previous desired),
 *     3. replicas kept only by the step-down limit (down to the target),
 *     4. anything above the pool's minimum.
 *   Steps 1-2 respect the step limits; 3-4 only happen when the previous counts themselves were over
 *   budget (the budget was lowered, or the cluster was scaled by hand).
 *   Example: B = 8, previous (p 6, d 2), targets now (2, 6), maxStepDown 2: the step limit gives (4, 6)
 *   = 10 GPUs; step 2 takes decode back to 4 -> (4, 4); the next tick reaches (2, 6).
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import { percentileKey } from '../planner/percentile-key.js';
import type { ConstraintEffect, LatencySummary, Observation } from '../planner/types.js';
import { dynamoGpuBudget } from '../policies/dynamo.js';

export type BudgetMode = 'proportional' | 'pressure' | 'dynamo';

export function budgetMode(spec: PolicySpec): BudgetMode {
  if (spec.policy === 'dynamo') return 'dynamo';
  if (spec.policy === 'sla' && spec.sla.improvements.budgetSplit) return 'pressure';
  return 'proportional';
}

const PRESSURE_MIN = 0.25;
const PRESSURE_MAX = 4;

/** Observed latency at the SLO percentile (p95 -> "p95"), else the mean when percentiles are off or missing. */
function observedAt(summary: LatencySummary | undefined, percentile: number, usePercentile: boolean): number | undefined {
  if (summary === undefined) return undefined;
  const value = usePercentile ? (summary[percentileKey(percentile)] ?? summary.mean) : summary.mean;
  return value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined;
}

/** SLO pressure per role: observed latency / target, 1 when unknown, clamped to 0.25..4. */
export function sloPressure(spec: PolicySpec, observation: Observation): Record<Role, number> {
  const usePercentile = spec.sla.improvements.percentile;
  const ttft = observedAt(observation.ttftMs, spec.slo.ttft.percentile, usePercentile);
  const itl = observedAt(observation.itlMs, spec.slo.itl.percentile, usePercentile);
  const clamp = (x: number | undefined) => (x === undefined ? 1 : Math.min(PRESSURE_MAX, Math.max(PRESSURE_MIN, x)));
  return { prefill: clamp(ttft === undefined ? undefined : ttft / spec.slo.ttft.ms), decode: clamp(itl === undefined ? undefined : itl / spec.slo.itl.ms) };
}

export interface BudgetInput {
  maxGpus: number;
  mode: BudgetMode;
  /** Role totals (role units) after min/max, before the budget. */
  gross: Record<Role, number>;
  /** Role minimums (role units). */
  mins: Record<Role, number>;
  /** GPUs per role unit. */
  gpus: Record<Role, number>;
  /** Roles that must not be cut (held). */
  fixed: Record<Role, boolean>;
  pressure?: Record<Role, number>;
}

export interface BudgetAllocation {
  allowance: Record<Role, number>;
  /** GPUs of need the budget could not cover. */
  shortfallGpus: number;
  effects: ConstraintEffect[];
  warnings: string[];
}

function gpusOf(units: Record<Role, number>, gpus: Record<Role, number>): number {
  return units.prefill * gpus.prefill + units.decode * gpus.decode;
}

/** Hand leftover GPUs back one unit at a time, `first` role first, without exceeding gross. */
function handBack(allowance: Record<Role, number>, input: BudgetInput, first: Role): void {
  const order: Role[] = first === 'prefill' ? ['prefill', 'decode'] : ['decode', 'prefill'];
  for (const role of order) {
    if (input.fixed[role]) continue;
    const room = Math.floor((input.maxGpus - gpusOf(allowance, input.gpus)) / input.gpus[role]);
    allowance[role] += Math.max(0, Math.min(room, input.gross[role] - allowance[role]));
  }
}

function proportional(input: BudgetInput): Record<Role, number> {
  const { gross, mins, gpus, maxGpus: b } = input;
  const s = b / gpusOf(gross, gpus);
  const maxP = Math.floor((b - mins.decode * gpus.decode) / gpus.prefill);
  const p = Math.min(gross.prefill, Math.max(mins.prefill, Math.min(maxP, Math.floor(gross.prefill * s))));
  const d = Math.min(gross.decode, Math.max(mins.decode, Math.floor((b - p * gpus.prefill) / gpus.decode)));
  const allowance = { prefill: p, decode: d };
  handBack(allowance, input, 'prefill');
  return allowance;
}

function byPressure(input: BudgetInput): Record<Role, number> {
  const { gross, mins, gpus, maxGpus: b } = input;
  const pressure = input.pressure ?? { prefill: 1, decode: 1 };
  const excess = gpusOf(gross, gpus) - b;
  const weight = { prefill: (gross.prefill * gpus.prefill) / pressure.prefill, decode: (gross.decode * gpus.decode) / pressure.decode };
  const room = { prefill: (gross.prefill - mins.prefill) * gpus.prefill, decode: (gross.decode - mins.decode) * gpus.decode };
  const totalWeight = weight.prefill + weight.decode;
  const cut = {
    prefill: totalWeight > 0 ? (excess * weight.prefill) / totalWeight : excess / 2,
    decode: totalWeight > 0 ? (excess * weight.decode) / totalWeight : excess / 2,
  };
  // A role cannot give more than down to its minimum; the rest of its cut falls to the other role.
  for (const [role, other] of [['prefill', 'decode'], ['decode', 'prefill']] as const) {
    if (cut[role] > room[role]) {
      cut[other] += cut[role] - room[role];
      cut[role] = room[role];
    }
  }
  const allowance = {
    prefill: Math.max(mins.prefill, Math.floor((gross.prefill * gpus.prefill - cut.prefill) / gpus.prefill + 1e-9)),
    decode: Math.max(mins.decode, Math.floor((gross.decode * gpus.decode - cut.decode) / gpus.decode + 1e-9)),
  };
  // Raising a role to its minimum can overshoot; take it back, from the less pressed role first.
  // Leftover GPUs go to the more pressed role first (decode on a tie, as the proportional rule does).
  const first: Role = pressure.prefill > pressure.decode ? 'prefill' : 'decode';
  const last: Role = first === 'prefill' ? 'decode' : 'prefill';
  for (const role of [last, first]) {
    while (gpusOf(allowance, gpus) > b && allowance[role] > mins[role]) allowance[role]--;
  }
  handBack(allowance, input, first);
  return allowance;
}

function dynamo(input: BudgetInput): Record<Role, number> {
  const { gross, mins, gpus, maxGpus } = input;
  const minEndpoint = Math.min(mins.prefill, mins.decode);
  const r = dynamoGpuBudget(gross.prefill, gross.decode, gpus.prefill, gpus.decode, maxGpus, minEndpoint);
  return { prefill: Math.min(gross.prefill, Math.max(mins.prefill, r.p)), decode: Math.min(gross.decode, Math.max(mins.decode, r.d)) };
}

export function allocateBudget(input: BudgetInput): BudgetAllocation {
  const { gross, mins, gpus, fixed, maxGpus } = input;
  const effects: ConstraintEffect[] = [];
  const warnings: string[] = [];
  const needGpus = gpusOf(gross, gpus);
  if (needGpus <= maxGpus) return { allowance: { ...gross }, shortfallGpus: 0, effects, warnings };

  let allowance: Record<Role, number>;
  let rule: string;
  const floorUnits = { prefill: fixed.prefill ? gross.prefill : mins.prefill, decode: fixed.decode ? gross.decode : mins.decode };
  if (gpusOf(floorUnits, gpus) >= maxGpus) {
    allowance = floorUnits;
    rule = 'minimums (and held roles) alone fill the budget';
    if (gpusOf(floorUnits, gpus) > maxGpus) {
      warnings.push(`budget: minimums and held counts need ${gpusOf(floorUnits, gpus)} GPUs, over spec.budget.maxGpus ${maxGpus}; keeping them`);
    }
  } else if (fixed.prefill || fixed.decode) {
    const free: Role = fixed.prefill ? 'decode' : 'prefill';
    const held: Role = free === 'prefill' ? 'decode' : 'prefill';
    allowance = { ...gross };
    allowance[free] = Math.max(mins[free], Math.min(gross[free], Math.floor((maxGpus - gross[held] * gpus[held]) / gpus[free])));
    rule = `${held} is held, ${free} gets the rest`;
  } else if (input.mode === 'pressure') {
    allowance = byPressure(input);
    const pr = input.pressure ?? { prefill: 1, decode: 1 };
    rule = `split by SLO pressure (prefill ${pr.prefill.toFixed(2)}, decode ${pr.decode.toFixed(2)} x target)`;
  } else if (input.mode === 'dynamo') {
    allowance = dynamo(input);
    rule = "Dynamo's global GPU budget rule";
  } else {
    allowance = proportional(input);
    rule = 'prefill:decode proportion of need kept';
  }
  const shortfallGpus = Math.max(0, needGpus - gpusOf(allowance, gpus));
  for (const role of ROLES) {
    if (allowance[role] < gross[role]) {
      effects.push({
        constraint: 'budget', role, from: gross[role], to: allowance[role],
        detail: `GPU budget ${maxGpus}: need ${needGpus} GPUs (prefill ${gross.prefill} x ${gpus.prefill}, decode ${gross.decode} x ${gpus.decode}); ${role} ${gross[role]} -> ${allowance[role]} (${rule}); short ${shortfallGpus} GPUs`,
      });
    }
  }
  return { allowance, shortfallGpus, effects, warnings };
}

export interface TrimPool {
  name: string;
  role: Role;
  gpus: number;
  min: number;
  /** Previous desired (undefined on the first tick). */
  previous: number | undefined;
  /** Target after the split and bounds, before stabilization and step limits. */
  target: number;
  /** What the step limits alone would give (without stabilization), within bounds. */
  stepped: number;
}

/** Take replicas back until the total fits `maxGpus` (see the order above). Mutates `values`; returns the GPUs still over. */
export function trimToBudget(pools: readonly TrimPool[], values: number[], maxGpus: number, effects: ConstraintEffect[]): number {
  const rows = pools.map((pool, i) => ({ pool, value: values[i] ?? 0, before: values[i] ?? 0, reasons: [] as string[] }));
  let total = 0;
  for (const row of rows) total += row.value * row.pool.gpus;
  if (total <= maxGpus) return 0;
  const phases: { floor: (p: TrimPool) => number; why: string }[] = [
    { floor: (p) => Math.max(p.min, p.stepped), why: 'scale-down stabilization released to fit the budget' },
    { floor: (p) => Math.max(p.min, p.previous ?? 0), why: 'growth held back to fit the budget' },
    { floor: (p) => Math.max(p.min, p.target), why: 'step-down limit exceeded to fit the budget' },
    { floor: (p) => p.min, why: 'cut below its target to fit the budget' },
  ];
  for (const phase of phases) {
    while (total > maxGpus) {
      let pick: (typeof rows)[number] | undefined;
      let most = 0;
      for (const row of rows) {
        const spare = (row.value - phase.floor(row.pool)) * row.pool.gpus;
        if (spare > most) {
          most = spare;
          pick = row;
        }
      }
      if (pick === undefined) break;
      pick.value -= 1;
      total -= pick.pool.gpus;
      if (!pick.reasons.includes(phase.why)) pick.reasons.push(phase.why);
    }
  }
  rows.forEach((row, i) => {
    if (row.value === row.before) return;
    values[i] = row.value;
    effects.push({ constraint: 'budget', pool: row.pool.name, role: row.pool.role, from: row.before, to: row.value, detail: `GPU budget ${maxGpus}: ${row.reasons.join('; ')}` });
  });
  return Math.max(0, total - maxGpus);
}
