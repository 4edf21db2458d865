/**
 * The standing-reserve what-if (`pd-planner reserve`): the smallest replicas each role should always run, under the
 * policy, for the trace to meet the SLO, found by simulating the policy with its role minimums raised.
 *
 * A planner that reacts cannot serve load that arrives faster than replicas start: the surprise (yardsticks/
 * surprise.ts) says how much of a trace is such load. When it exceeds what the SLO allows, the policy as written
 * misses, and the remedy an operator has is a reserve: a higher `minReplicas`. This answers "how high?" with runs
 * of the very policy, not a formula: each candidate is a full replay of the trace from the same warm start and seed.
 * Given several traces (days of traffic), a reserve must meet the SLO on each, and its cost is their sum: a reserve
 * found on one day alone may be what that day needed and not the next.
 *
 * The search, bounded by `maxRuns` simulations (default 40; a reserve tried replays every trace):
 *   1. the policy as written; if it meets the SLO (on every trace), no reserve is needed and the search stops;
 *   2. reserves on a ladder of REPRESENTATIVE_LEVELS shares of a top per role, rounded up (share k/8 of a top of 7
 *      prefill and 5 decode replicas at k = 4: 4 prefill, 3 decode), bisected for the lowest share that meets the
 *      SLO. The top is the policy's own peak (at least its minimum + 1, at most its pools' maxReplicas), doubled
 *      while its full rung misses and gains, up to the pools' maxReplicas (a policy that scales too little peaks too
 *      low; twice a reserve that does no better says more replicas do not help, as for an ITL below what any batch
 *      gives). When the policy's checks refuse the top (a GPU budget below its minimums), the highest rung they allow
 *      is tried, and if it misses the search stops there: the budget, not the reserve, is what to change;
 *   3. from that reserve, each role's minimum is lowered one replica at a time while the SLO still holds (prefill,
 *      then decode), so a reserve one role needs is not paid for in the other. Attainment need not rise with the
 *      reserve, so a miss one replica lower is followed by a try two lower; the role stops at a miss of both. On the
 *      README's step, from 3 prefill / 2 decode (99.9%): 2 / 2 misses (75.6%: a prefill minimum of 2 takes the whole
 *      need before the jump and leaves no Spot replica to keep a spare for), 1 / 2 meets (99.9%), and decode stops at
 *      1 / 1, the policy as written (76.0%), with 1 / 0 below the pools' minimums.
 * Every answer is a run that was simulated, never an interpolation. The answer is the run meeting the SLO with the
 * fewest GPUs held as reserve (the knob the operator sets; cheaper GPU-hours between equals); the run meeting it at the
 * fewest GPU-hours is reported beside it when it is another, since a larger reserve can cost less than the scaling it
 * spares. On the step: 1 / 2 holds 4 GPUs above the policy's minimums (one decode replica of 4 GPUs) at 12.33 GPU-h,
 * 3 / 2 holds 12 at 11.85 GPU-h; the answer is 1 / 2, and 3 / 2 is reported beside it.
 *
 * The reserve is placed on the role's on-demand pools first (a reserve Spot can evict is not one), then its Spot
 * pools, each up to its maxReplicas (PoolChange.capacity says which); a reserve the GPU budget cannot hold is not
 * tried.
 */
import type { PolicySpec, Role } from '../config/schema.js';
import { checkPolicy } from '../config/validate.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { simulate } from './run.js';
import type { RunResult, Trace } from './types.js';
import { sloTarget } from './yardsticks/bound.js';

/** Rungs of the ladder of step 2: the reserve at share k / REPRESENTATIVE_LEVELS of the policy's peak, k = 1..8. */
export const REPRESENTATIVE_LEVELS = 8;
export const DEFAULT_MAX_RUNS = 40;
export const MAX_RUNS_LIMIT = 200;

const ROLES: readonly Role[] = ['prefill', 'decode'];

export interface ReserveTrial {
  /** Least replicas of each role at every tick (its pools' minReplicas summed). */
  reserve: Record<Role, number>;
  /** Over several traces: the worst trace's attainment, and GPU-hours and cost summed. */
  attainment: number;
  gpuHours: number;
  cost: number;
  /** True when it meets the SLO on every trace. */
  meets: boolean;
  /** Each trace's run, in the order given, when there are several. */
  perTrace?: { attainment: number; gpuHours: number; meets: boolean }[];
}

/**
 * Why a search ended: `written` the policy as written meets the SLO; `met` a reserve does (the bisection and the
 * lowering ran to their end, or to the run budget: see `truncated`); `runs` the run budget ended it before any reserve
 * met; `refused` the policy's own checks (a GPU budget) refuse the larger reserves it needed next; `noGain` twice the
 * reserve did no better; `maxReplicas` the pools can hold no larger reserve.
 */
export type StopReason = 'written' | 'met' | 'runs' | 'refused' | 'noGain' | 'maxReplicas';

export interface PoolChange {
  pool: string;
  capacity: PolicySpec['pools'][number]['capacity'];
  /** Index in spec.pools, for the field path. */
  index: number;
  from: number;
  to: number;
}

export interface ReserveSearch {
  /** Attainment share the SLO asks for (0.95 at p95). */
  goal: number;
  /** The policy as written (its own minimums). */
  written: ReserveTrial;
  /**
   * The most replicas per role the policy as written ran at once on any trace (at least its minimum + 1, at most its pools'
   * maxReplicas): the ladder's first top.
   */
  peak: Record<Role, number>;
  /** Every run, in the order tried (the policy as written first). */
  trials: ReserveTrial[];
  /**
   * The answer: of the runs that meet the SLO, the one with the fewest GPUs held as reserve (cheaper GPU-hours between
   * equals); undefined when none did.
   */
  best?: ReserveTrial;
  /** The run that meets the SLO at the fewest GPU-hours, when it is not `best` (a larger reserve can cost less). */
  cheapest?: ReserveTrial;
  /** Why the search ended: see StopReason. */
  stoppedBy: StopReason;
  /** Simulations run (each reserve tried replays every trace). */
  simulations: number;
  /** Warnings of the policy's own checks that the answer's minReplicas bring and the policy as given has not. */
  warnings: string[];
  /** The minReplicas that give `best` (empty when it is the policy as written). */
  changes: PoolChange[];
  /** True when the run budget ran out before the search ended (the answer is still a simulated run). */
  truncated: boolean;
  /** Reserves not tried because the policy's own checks refuse them (a GPU budget below their minimums), with why. */
  refused: { reserve: Record<Role, number>; problem: string }[];
  /** Set when the ladder's top stopped doubling because twice the reserve did no better: the two runs. */
  noGain?: { from: ReserveTrial; to: ReserveTrial };
}

export interface ReserveOptions {
  spec: PolicySpec;
  profile: PerformanceProfile;
  /** The reserve must meet the SLO on each (several days of traffic, say); at least one. */
  traces: readonly Trace[];
  seed: number;
  /** Most simulations (a reserve tried replays every trace); at least one per trace, for the policy as written. */
  maxRuns?: number;
  /** Called after each replay with the trial and the runs done so far. */
  onTrial?: (trial: ReserveTrial, runs: number) => void;
}

/** Sum of the role's pools' minReplicas. */
export function roleMinimum(spec: PolicySpec, role: Role): number {
  return spec.pools.reduce((sum, p) => sum + (p.role === role ? p.minReplicas : 0), 0);
}

/**
 * The spec with each role's minimum raised to `reserve` (never lowered), on-demand pools first, each up to its
 * maxReplicas; the pool changes made. Example: prefill-od (min 1, max 8) and prefill-spot (min 0, max 12), reserve 10:
 * prefill-od 1 -> 8, prefill-spot 0 -> 2.
 */
export function withReserve(spec: PolicySpec, reserve: Record<Role, number>): { spec: PolicySpec; changes: PoolChange[] } {
  const pools = spec.pools.map((p) => ({ ...p }));
  const changes: PoolChange[] = [];
  for (const role of ROLES) {
    let missing = reserve[role] - roleMinimum(spec, role);
    const order = pools
      .map((pool, index) => ({ pool, index }))
      .filter(({ pool }) => pool.role === role)
      .sort((a, b) => Number(a.pool.capacity === 'spot') - Number(b.pool.capacity === 'spot'));
    for (const { pool, index } of order) {
      if (missing <= 0) break;
      const to = Math.min(pool.maxReplicas, pool.minReplicas + missing);
      if (to === pool.minReplicas) continue;
      missing -= to - pool.minReplicas;
      changes.push({ pool: pool.name, capacity: pool.capacity, index, from: pool.minReplicas, to });
      pool.minReplicas = to;
    }
  }
  return { spec: { ...spec, pools }, changes };
}

/** Sum of the role's pools' maxReplicas: the largest reserve withReserve can place. */
export function roleMaximum(spec: PolicySpec, role: Role): number {
  return spec.pools.reduce((sum, p) => sum + (p.role === role ? p.maxReplicas : 0), 0);
}

/** The most replicas of each role provisioned at once in a run (its pools' desired counts summed per interval). */
export function peakReplicas(spec: PolicySpec, run: RunResult): Record<Role, number> {
  const roleOf = new Map(spec.pools.map((p) => [p.name, p.role]));
  const peak: Record<Role, number> = { prefill: 0, decode: 0 };
  for (const interval of run.intervals) {
    const sum: Record<Role, number> = { prefill: 0, decode: 0 };
    for (const [pool, n] of Object.entries(interval.desired)) {
      const role = roleOf.get(pool);
      if (role) sum[role] += n;
    }
    for (const role of ROLES) peak[role] = Math.max(peak[role], sum[role]);
  }
  return peak;
}

export async function findReserve(options: ReserveOptions): Promise<ReserveSearch> {
  const { spec, profile, traces, seed } = options;
  if (traces.length === 0) throw new Error('findReserve: no trace');
  const given = checkPolicy(spec);
  if (given.problems.length > 0) throw new Error(`findReserve: the policy fails its own checks: ${given.problems[0]}`);
  const maxRuns = Math.max(traces.length, Math.min(MAX_RUNS_LIMIT, Math.floor(options.maxRuns ?? DEFAULT_MAX_RUNS)));
  const goal = sloTarget(spec);
  const floor: Record<Role, number> = { prefill: roleMinimum(spec, 'prefill'), decode: roleMinimum(spec, 'decode') };
  const tried = new Map<string, ReserveTrial>();
  const trials: ReserveTrial[] = [];
  let simulations = 0;
  let truncated = false;
  const refused: ReserveSearch['refused'] = [];
  let noGain: ReserveSearch['noGain'];
  const key = (r: Record<Role, number>) => `${r.prefill}/${r.decode}`;
  let peakOf: Record<Role, number> | undefined;

  /** The first of the policy's own checks the reserve fails (a GPU budget below its minimums); undefined when none. */
  const problemOf = (reserve: Record<Role, number>): string | undefined => checkPolicy(withReserve(spec, reserve).spec).problems[0];
  const refuse = (reserve: Record<Role, number>, problem: string) => {
    if (!refused.some((r) => key(r.reserve) === key(reserve))) refused.push({ reserve: { ...reserve }, problem });
  };

  /** One replay per trace with the reserve (cached when tried already); undefined when out of runs or not allowed. */
  const attempt = async (reserve: Record<Role, number>): Promise<ReserveTrial | undefined> => {
    const known = tried.get(key(reserve));
    if (known) return known;
    if (simulations + traces.length > maxRuns) {
      truncated = true;
      return undefined;
    }
    const problem = problemOf(reserve);
    if (problem !== undefined) {
      refuse(reserve, problem);
      return undefined;
    }
    const raised = withReserve(spec, reserve).spec;
    const runs: RunResult[] = [];
    for (const trace of traces) runs.push((await simulate({ spec: raised, profile, trace, baselines: [], seed })).runs[0] as RunResult);
    simulations += runs.length;
    const each = runs.map((run) => ({ attainment: run.sloAttainment.both, gpuHours: run.gpuHours.total, meets: run.sloAttainment.both >= goal }));
    const trial: ReserveTrial = {
      reserve: { ...reserve },
      attainment: Math.min(...each.map((e) => e.attainment)),
      gpuHours: each.reduce((sum, e) => sum + e.gpuHours, 0),
      cost: runs.reduce((sum, run) => sum + run.cost, 0),
      meets: each.every((e) => e.meets),
      ...(runs.length > 1 ? { perTrace: each } : {}),
    };
    tried.set(key(reserve), trial);
    trials.push(trial);
    options.onTrial?.(trial, simulations);
    if (!peakOf) {
      peakOf = { prefill: 0, decode: 0 };
      for (const run of runs) for (const role of ROLES) peakOf[role] = Math.max(peakOf[role], peakReplicas(spec, run)[role]);
    }
    return trial;
  };

  const written = (await attempt(floor)) as ReserveTrial;
  const ceiling: Record<Role, number> = { prefill: roleMaximum(spec, 'prefill'), decode: roleMaximum(spec, 'decode') };
  // A role the policy never scaled above its minimum still gets one more replica at the ladder's top, if a pool has room.
  const peak = {} as Record<Role, number>;
  for (const role of ROLES) peak[role] = Math.min(ceiling[role], Math.max(peakOf?.[role] ?? 0, floor[role] + 1));
  const held = (t: ReserveTrial) => reserveGpus(spec, t.reserve);
  const result = (stoppedBy: StopReason): ReserveSearch => {
    const meeting = trials.filter((t) => t.meets);
    const best = meeting.reduce<ReserveTrial | undefined>((b, t) => (!b || held(t) < held(b) || (held(t) === held(b) && t.gpuHours < b.gpuHours) ? t : b), undefined);
    const cheapest = meeting.reduce<ReserveTrial | undefined>((b, t) => (!b || t.gpuHours < b.gpuHours ? t : b), undefined);
    const known = new Set(given.warnings);
    return {
      goal, written, peak, trials, best, ...(cheapest && cheapest !== best ? { cheapest } : {}), stoppedBy, simulations,
      changes: best ? withReserve(spec, best.reserve).changes : [],
      warnings: best ? checkPolicy(withReserve(spec, best.reserve).spec).warnings.filter((w) => !known.has(w)) : [],
      truncated, refused, noGain,
    };
  };
  if (written.meets) return result('written');

  // Share k / LEVELS of the top, rounded up: k / 8 x an integer is exact in floating point, so ceil rounds only true fractions.
  const level = (top: Record<Role, number>, k: number): Record<Role, number> => {
    const r = {} as Record<Role, number>;
    for (const role of ROLES) r[role] = Math.max(floor[role], Math.ceil((k / REPRESENTATIVE_LEVELS) * top[role]));
    return r;
  };
  // Step 2: a top whose highest allowed rung meets (the peak, doubled while its full rung misses and gains), then the
  // lowest rung that meets, by bisection over 1..rung (rung 0 is the policy as written).
  let top = peak;
  let rung: number;
  let previous: ReserveTrial | undefined;
  for (;;) {
    rung = REPRESENTATIVE_LEVELS;
    const problem = problemOf(level(top, rung));
    if (problem !== undefined) refuse(level(top, rung), problem);
    while (rung > 0 && problemOf(level(top, rung)) !== undefined) rung -= 1;
    const trial = rung > 0 ? await attempt(level(top, rung)) : undefined;
    if (!trial) return result(truncated ? 'runs' : 'refused');
    if (trial.meets) break;
    // A lowered rung is what the checks allow, not the top: it says nothing of whether more replicas help.
    if (rung < REPRESENTATIVE_LEVELS) return result('refused');
    if (previous && trial.attainment <= previous.attainment) {
      noGain = { from: previous, to: trial };
      return result('noGain');
    }
    const doubled = { prefill: Math.min(ceiling.prefill, 2 * top.prefill), decode: Math.min(ceiling.decode, 2 * top.decode) };
    if (key(doubled) === key(top)) return result('maxReplicas');
    previous = trial;
    top = doubled;
  }
  let low = 0;
  let high = rung;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const trial = await attempt(level(top, mid));
    if (!trial) break;
    if (trial.meets) high = mid;
    else low = mid;
  }
  // Step 3: lower each role alone while the SLO holds; past a miss one lower, two lower is tried, and a miss of both
  // (or a reserve not run: the run budget, a refusal, the floor) ends the role.
  const current = level(top, high);
  const lowered = async (role: Role, by: number): Promise<ReserveTrial | undefined> =>
    current[role] - by >= floor[role] ? attempt({ ...current, [role]: current[role] - by }) : undefined;
  for (const role of ROLES) {
    for (;;) {
      const one = await lowered(role, 1);
      if (one?.meets) {
        current[role] -= 1;
        continue;
      }
      const two = one ? await lowered(role, 2) : undefined;
      if (!two?.meets) break;
      current[role] -= 2;
    }
  }
  return result('met');
}

/** GPUs the reserve holds: each pool's raised minReplicas x its gpusPerReplica, over the pools it raises. */
export function reserveGpus(spec: PolicySpec, reserve: Record<Role, number>): number {
  return withReserve(spec, reserve).changes.reduce((sum, c) => sum + (c.to - c.from) * (spec.pools[c.index]?.gpusPerReplica ?? 0), 0);
}
