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
 * The search, bounded by `maxRuns` replays (default 40):
 *   1. the policy as written; if it meets the SLO (on every trace), no reserve is needed and the search stops;
 *   2. reserves on a ladder of REPRESENTATIVE_LEVELS shares of a top per role, rounded up (share k/8 of a top of 7
 *      prefill and 5 decode replicas at k = 4: 4 prefill, 3 decode), bisected for the lowest share that meets the
 *      SLO. The top is the policy's own peak (at least its minimum + 1, at most its pools' maxReplicas), doubled
 *      while it misses and gains, up to the pools' maxReplicas (a policy that scales too little peaks too low; twice
 *      a reserve that does no better says more replicas do not help, an ITL below what any batch gives); its top rung is
 *      the highest the policy's checks allow (a GPU budget below the peak's minimums lowers it). If the top rung
 *      still misses at the pools' maxReplicas or at what the budget holds, the search stops there: the SLO needs a
 *      faster startup, a looser target, a larger budget or another policy, and the best attainment seen is reported;
 *   3. from that reserve, each role's minimum is lowered one replica at a time while the SLO still holds (prefill,
 *      then decode), so a reserve one role needs is not paid for in the other.
 * Attainment need not be monotone in the reserve, so every answer is a run that was simulated, never an
 * interpolation; the cheapest run meeting the SLO (GPU-hours) is the answer.
 *
 * The reserve is placed on the role's on-demand pools first (a reserve Spot can evict is not one), then its Spot
 * pools, each up to its maxReplicas; a reserve the GPU budget cannot hold is not tried. Between runs that meet the
 * SLO at the same GPU-hours, the smaller reserve is the answer: a minimum raised for nothing is no answer.
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

export interface PoolChange {
  pool: string;
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
  /** The cheapest run that meets the SLO; undefined when none of the runs did. */
  best?: ReserveTrial;
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
      changes.push({ pool: pool.name, index, from: pool.minReplicas, to });
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
  const maxRuns = Math.max(1, Math.min(MAX_RUNS_LIMIT, Math.floor(options.maxRuns ?? DEFAULT_MAX_RUNS)));
  const goal = sloTarget(spec);
  const floor: Record<Role, number> = { prefill: roleMinimum(spec, 'prefill'), decode: roleMinimum(spec, 'decode') };
  const tried = new Map<string, ReserveTrial>();
  const trials: ReserveTrial[] = [];
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

  /** One replay with the reserve (a cached one when tried already); undefined when out of runs or not allowed. */
  const attempt = async (reserve: Record<Role, number>): Promise<ReserveTrial | undefined> => {
    const known = tried.get(key(reserve));
    if (known) return known;
    if (trials.length >= maxRuns) {
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
    options.onTrial?.(trial, trials.length);
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
  const size = (t: ReserveTrial) => t.reserve.prefill + t.reserve.decode;
  const result = (): ReserveSearch => {
    const meeting = trials.filter((t) => t.meets);
    const best = meeting.reduce<ReserveTrial | undefined>((b, t) => (!b || t.gpuHours < b.gpuHours || (t.gpuHours === b.gpuHours && size(t) < size(b)) ? t : b), undefined);
    return { goal, written, peak, trials, best, changes: best ? withReserve(spec, best.reserve).changes : [], truncated, refused, noGain };
  };
  if (written.meets) return result();

  const level = (top: Record<Role, number>, k: number): Record<Role, number> => {
    const r = {} as Record<Role, number>;
    for (const role of ROLES) r[role] = Math.max(floor[role], Math.ceil((k / REPRESENTATIVE_LEVELS) * top[role] - 1e-9));
    return r;
  };
  // Step 2: a top whose highest allowed rung meets (the peak, doubled while it misses and gains), then the lowest rung that
  // meets, by bisection over 1..rung (rung 0 is the policy as written).
  let top = peak;
  let rung: number;
  let previous: ReserveTrial | undefined;
  for (;;) {
    rung = REPRESENTATIVE_LEVELS;
    const problem = problemOf(level(top, rung));
    if (problem !== undefined) refuse(level(top, rung), problem);
    while (rung > 0 && problemOf(level(top, rung)) !== undefined) rung -= 1;
    const trial = rung > 0 ? await attempt(level(top, rung)) : undefined;
    if (!trial) return result();
    if (trial.meets) break;
    if (previous && trial.attainment <= previous.attainment) {
      noGain = { from: previous, to: trial };
      return result();
    }
    previous = trial;
    const doubled = { prefill: Math.min(ceiling.prefill, 2 * top.prefill), decode: Math.min(ceiling.decode, 2 * top.decode) };
    if (rung < REPRESENTATIVE_LEVELS || key(doubled) === key(top)) return result();
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
  // Step 3: lower each role alone while the SLO holds.
  const current = level(top, high);
  for (const role of ROLES) {
    while (current[role] > floor[role]) {
      const trial = await attempt({ ...current, [role]: current[role] - 1 });
      if (!trial?.meets) break;
      current[role] -= 1;
    }
  }
  return result();
}
