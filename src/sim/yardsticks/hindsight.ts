/**
 * The hindsight yardstick: the cheapest replica schedule per role and interval that meets the SLO on this trace,
 * found with the whole trace known, by search in the cluster model itself. No policy's sizing is involved: the only
 * inputs are the trace, the profile, the pools (bounds, startup, Spot split), the budget and the SLO.
 *
 * The schedule is a SERVING count c[k] per role and interval k (replicas ready during interval k). Because a
 * replica asked for at t serves from t + startup, serving c[k] means holding it from s = ceil(startup / interval)
 * intervals earlier, so the replicas held (and billed) in interval j are
 *   P[j] = max(c[j], c[j+1], ..., c[j+s])
 * and the schedule sets desired = P[j] at the start of interval j. Example (s = 3): c = 4 4 9 9 5 5 5 gives
 * P = 9 9 9 9 5 5 5: the extra 5 are started at interval 0 so they are ready at interval 2.
 *
 * Search, forward in serving time, one interval at a time, on a copy of the model (ClusterSim.copyInto: only the
 * requests the window can touch are copied) taken at the interval's start with every earlier decision in place (no
 * Spot evictions in the search; the final replay has them):
 *   members   the requests whose outcome the interval decides: those still in the system at its start and those
 *             arriving in it;
 *   misses    members that miss the SLO when the model runs on from the interval's start with c replicas serving
 *             (ready at once), until every member's outcome is settled (prefill: its first token or TTFT target
 *             passed; decode: completion or its ITL target passed);
 *   target    misses(c) <= misses(most replicas allowed) + (1 - q) x members, q the per-interval target;
 *   prefill   the fewest prefill replicas that meet the target on TTFT (decode does not change TTFT in the model),
 *   decode    then the fewest decode replicas that meet it on both targets, with that prefill count;
 * each by a search from the previous interval's count (the misses fall as replicas are added), so an interval
 * costs a few replays of a bounded window (the interval plus the time its requests need), O(log(max replicas)).
 * The role's bounds (sum of its pools' min/maxReplicas) and the GPU budget (on the held counts P) cap each search;
 * before the first s intervals no replica beyond the warm start can be ready, so c[k] <= start there.
 *
 * The per-interval target q is then tuned on the whole run: the SLO is a share of ALL requests, so an interval
 * that is expensive to serve may miss more if cheap ones miss less. q starts at the SLO's share; each schedule is
 * replayed in full (with Spot evictions, the seed of every other run); q is lowered while the replay still meets
 * the SLO and raised when it does not (bisection, HINDSIGHT_PASSES schedules at most), and the cheapest schedule
 * whose replay meets the SLO is kept.
 *
 * Optimality gap (why this is not exactly the optimum, and which way it errs):
 * - greedy in time: each interval takes the fewest replicas for its own members; spending more now to shorten a
 *   backlog that the next interval inherits is not tried. The lookahead keeps the candidate count after the
 *   interval ends, so a member's fate may depend on a count the next interval then changes.
 * - one target share q for every interval rather than the best allocation of the allowed misses across intervals
 *   (a Lagrangian or knapsack over intervals would find cheaper schedules on traces with rare, costly bursts).
 * - whole replicas per role and interval: a change of count takes effect at interval boundaries only.
 * - Spot evictions are absent from the search and present in the replay (the replay is what is reported).
 * All of these make the schedule costlier than the true optimum, never cheaper, so a planner within a few percent
 * of hindsight is near-optimal; one BELOW hindsight with the SLO met shows where the search leaves room (the test
 * suite checks that no baseline does on the bundled traces). The fluid bound (bound.ts) is the hard floor.
 */
import type { PolicySpec, Role } from '../../config/schema.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import { ClusterSim } from '../cluster/index.js';
import { binTrace } from '../intervals.js';
import { replay, scheduleDriver, type EvictionOptions } from '../replay.js';
import type { RunResult, Trace } from '../types.js';
import { sloTarget } from './bound.js';
import { roleBounds, splitRoles } from './pools.js';

/** Full schedules tried at most while tuning the per-interval target (each is a search plus one replay). */
export const HINDSIGHT_PASSES = 4;
/** How far below the SLO's share the per-interval target may go. */
const LOWEST_TARGET = 0.5;
/** The warm start serves its first intervals with no avoidable miss (per-interval target 1, see neutralStart). */
const START_TARGET = 1;
/** Step of the search copies' clock while waiting for the members' outcomes (s). */
const SETTLE_STEP_SECONDS = 5;

export interface HindsightResult {
  /** Warm start (replicas per pool, ready at t = 0): every run's starting point. */
  start: Record<string, number>;
  /** Desired replicas per pool per interval, set at the interval's start. */
  desired: Record<string, number>[];
  /** Serving units per role per interval, as the search chose them. */
  serving: Record<Role, number[]>;
  /** The per-interval target of the schedule kept. */
  target: number;
  /** The replay of the schedule kept (with Spot evictions and the run's seed). */
  run: RunResult;
  /** Whether that replay meets the SLO (false when no schedule within the bounds and budget does). */
  sloMet: boolean;
  /** Per-interval targets tried, with their replays' attainment and GPU-hours. */
  passes: { target: number; attainment: number; gpuHours: number }[];
  /** Window replays the search ran (for the bench). */
  windowReplays: number;
}

export interface HindsightOptions {
  seed: number;
  evictions?: EvictionOptions;
  /** The warm start, when already computed (neutralStart of the same inputs). */
  start?: Record<string, number>;
}

interface RoleInfo {
  role: Role;
  min: number;
  max: number;
  gpus: number;
  /** Intervals between asking for a replica and its serving: ceil(startup / interval). */
  lead: number;
}

interface SearchInput {
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  roles: RoleInfo[];
  intervals: number;
  /** First request index of each interval (length intervals + 1). */
  firstOf: Int32Array;
  /** Per role, the serving count cap of each interval (the warm start before `lead`); undefined = no cap. */
  startUnits?: Record<Role, number>;
  windowReplays: number;
  /** The search's scratch copy of the model (see missesWith). */
  scratch?: ClusterSim;
}

/** Requests arriving at or before t: the index of the first one after it (the trace is sorted). */
function arrivalsUpTo(trace: Trace, t: number): number {
  let lo = 0;
  let hi = trace.arrival.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((trace.arrival[mid] as number) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function roleInfos(spec: PolicySpec): RoleInfo[] {
  const out: RoleInfo[] = [];
  for (const role of ['prefill', 'decode'] as const) {
    if (!spec.pools.some((p) => p.role === role)) continue;
    const b = roleBounds(spec, role);
    out.push({ role, min: b.min, max: Math.max(b.min, b.max), gpus: b.unitGpus, lead: Math.max(0, Math.ceil(b.startupSeconds / spec.interval - 1e-9)) });
  }
  return out;
}

function intervalStarts(trace: Trace, interval: number, intervals: number): Int32Array {
  const firstOf = new Int32Array(intervals + 1);
  let i = 0;
  const n = trace.arrival.length;
  for (let k = 0; k < intervals; k++) {
    while (i < n && Math.min(intervals - 1, Math.floor((trace.arrival[i] as number) / interval)) < k) i++;
    firstOf[k] = i;
  }
  firstOf[intervals] = n;
  return firstOf;
}

function searchCluster(input: SearchInput, initial: Record<string, number>): ClusterSim {
  return new ClusterSim(input.trace, {
    profile: input.profile,
    pools: input.spec.pools,
    initialReplicas: initial,
    slo: input.spec.slo,
    seed: 0,
    spot: { evictionRatePerHour: 0, noticeSeconds: 0 },
  });
}

function setServing(sim: ClusterSim, spec: PolicySpec, units: Record<Role, number>, t: number): void {
  for (const [pool, n] of Object.entries(splitRoles(spec, units))) sim.setDesired(pool, n, t, true);
}

/**
 * Misses among `members` when the model runs on from `base` (at interval k's start) with `units` serving, until
 * their outcomes are settled or `until` (then the unsettled count as missed).
 */
function missesWith(input: SearchInput, base: ClusterSim, members: Int32Array, units: Record<Role, number>, ttftOnly: boolean, until: number, from: number): number {
  input.windowReplays++;
  // One scratch copy per search, refreshed over the requests the window can touch: those from the oldest still in
  // the system to the last arriving before `until` (ClusterSim.copyInto).
  const sim = base.copyInto(input.scratch, from, arrivalsUpTo(input.trace, until));
  input.scratch = sim;
  setServing(sim, input.spec, units, sim.time);
  const open = Int32Array.from(members);
  let openN = open.length;
  let missed = 0;
  let t = sim.time;
  while (openN > 0) {
    t = Math.min(until, t + SETTLE_STEP_SECONDS);
    sim.runTo(t);
    let w = 0;
    for (let r = 0; r < openN; r++) {
      const i = open[r] as number;
      const outcome = sim.requestOutcome(i, ttftOnly);
      if (outcome === 'open') open[w++] = i;
      else if (outcome === 'missed') missed++;
    }
    openN = w;
    if (t >= until) break;
  }
  return missed + openN;
}

/**
 * Smallest c in [lo, hi] with ok(c), assuming ok is monotone (false ... false true ... true) and ok(hi). Gallops
 * from `guess` (the previous interval's count, usually within a replica or two of the answer), then bisects:
 * about 2 + 2 log2(distance) calls instead of log2(hi - lo).
 */
function smallest(lo: number, hi: number, guess: number, ok: (c: number) => boolean): number {
  let bad = lo - 1; // largest c known not ok (lo - 1: none)
  let good = hi; // smallest c known ok
  const g = Math.min(hi, Math.max(lo, guess));
  if (ok(g)) {
    good = g;
    for (let step = 1; good > lo; step *= 2) {
      const c = Math.max(lo, good - step);
      if (ok(c)) good = c;
      else {
        bad = c;
        break;
      }
    }
  } else {
    bad = g;
    for (let step = 1; bad + 1 < good; step *= 2) {
      const c = Math.min(good - 1, bad + step);
      if (ok(c)) {
        good = c;
        break;
      }
      bad = c;
    }
  }
  while (good - bad > 1) {
    const mid = (bad + good) >> 1;
    if (ok(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/** Held units P[j] = max(c[j..j+lead]) over the intervals decided so far (c known up to `upTo`). */
function held(c: number[], j: number, lead: number, upTo: number): number {
  let m = 0;
  for (let i = j; i <= Math.min(upTo, j + lead); i++) m = Math.max(m, c[i] as number);
  return m;
}

/** The same while interval k is being decided: c[0..k-1] known, `now` proposed for c[k]. */
function heldWith(c: number[], j: number, lead: number, k: number, now: number): number {
  let m = j + lead >= k ? now : 0;
  for (let i = j; i < Math.min(k, j + lead + 1); i++) m = Math.max(m, c[i] as number);
  return m;
}

/**
 * The forward search for intervals [0, last] at per-interval target q. Returns the serving units per role.
 * `initial` is the warm start per pool (the start search passes none: it starts empty and serves from t = 0).
 */
function forwardSearch(input: SearchInput, initial: Record<string, number>, q: number, last: number): Record<Role, number[]> {
  const { spec, roles, trace, firstOf } = input;
  const interval = spec.interval;
  const maxGpus = spec.budget.maxGpus;
  const ttftSloS = spec.slo.ttft.ms / 1000;
  const itlSloS = spec.slo.itl.ms / 1000;
  const serving = { prefill: [] as number[], decode: [] as number[] } as Record<Role, number[]>;
  const current = { prefill: 0, decode: 0 } as Record<Role, number>;
  for (const info of roles) current[info.role] = info.min;
  const sim = searchCluster(input, initial);
  input.scratch = undefined;
  let oldest = 0;
  for (let k = 0; k <= last; k++) {
    const t0 = k * interval;
    sim.runTo(t0);
    // Members: still in the system at t0, and arriving in interval k.
    while (oldest < firstOf[k]! && !sim.isInSystem(oldest)) oldest++;
    const list: number[] = [];
    let maxOsl = 1;
    for (let i = oldest; i < firstOf[k]!; i++) {
      if (sim.isInSystem(i)) {
        list.push(i);
        maxOsl = Math.max(maxOsl, trace.osl[i] as number);
      }
    }
    for (let i = firstOf[k]!; i < firstOf[k + 1]!; i++) {
      list.push(i);
      maxOsl = Math.max(maxOsl, trace.osl[i] as number);
    }
    const members = Int32Array.from(list);
    const allowance = (1 - q) * members.length;
    const choice = { ...current };
    const ttftUntil = (k + 1) * interval + ttftSloS + 1;
    const bothUntil = ttftUntil + (maxOsl - 1) * itlSloS + 1;

    const hiOf = (info: RoleInfo): number => {
      let hi = info.max;
      if (input.startUnits && k < info.lead) hi = Math.min(hi, input.startUnits[info.role]);
      if (maxGpus !== undefined) {
        // The held counts of every interval this choice reaches back to must stay within the budget.
        for (let j = Math.max(0, k - info.lead); j <= k; j++) {
          let others = 0;
          for (const o of roles) if (o.role !== info.role) others += heldWith(serving[o.role], j, o.lead, k, choice[o.role]) * o.gpus;
          hi = Math.min(hi, Math.floor((maxGpus - others) / info.gpus));
        }
      }
      return Math.max(info.min, hi);
    };

    let ttftExcess = 0;
    for (const info of roles) {
      const ttftOnly = info.role === 'prefill';
      const hi = hiOf(info);
      if (members.length === 0) {
        choice[info.role] = info.min;
        continue;
      }
      const at = (c: number) => missesWith(input, sim, members, { ...choice, [info.role]: c }, ttftOnly, ttftOnly ? ttftUntil : bothUntil, oldest);
      const best = at(hi);
      const limit = best + Math.max(0, allowance - (ttftOnly ? 0 : ttftExcess));
      const memo = new Map<number, number>([[hi, best]]);
      const ok = (c: number) => {
        let m = memo.get(c);
        if (m === undefined) {
          m = at(c);
          memo.set(c, m);
        }
        return m <= limit;
      };
      choice[info.role] = smallest(info.min, hi, current[info.role], ok);
      if (ttftOnly) ttftExcess = (memo.get(choice[info.role]) ?? best) - best;
    }
    for (const info of roles) serving[info.role].push(choice[info.role]);
    Object.assign(current, choice);
    setServing(sim, spec, choice, t0);
  }
  return serving;
}

/** Serving units per role per interval -> desired replicas per pool per interval (held counts, see the header). */
function heldSchedule(spec: PolicySpec, roles: RoleInfo[], serving: Record<Role, number[]>, intervals: number): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  for (let j = 0; j < intervals; j++) {
    const units = { prefill: 0, decode: 0 } as Record<Role, number>;
    for (const info of roles) units[info.role] = held(serving[info.role], j, info.lead, intervals - 1);
    out.push(splitRoles(spec, units));
  }
  return out;
}

function searchInput(spec: PolicySpec, profile: PerformanceProfile, trace: Trace): SearchInput {
  const intervals = Math.max(1, Math.ceil(trace.durationSeconds / spec.interval));
  return { spec, profile, trace, roles: roleInfos(spec), intervals, firstOf: intervalStarts(trace, spec.interval, intervals), windowReplays: 0 };
}

/** The first intervals of a trace as a trace of their own (requests arriving before `seconds`). */
function head(trace: Trace, seconds: number): Trace {
  let n = 0;
  while (n < trace.arrival.length && (trace.arrival[n] as number) < seconds) n++;
  return { ...trace, arrival: trace.arrival.subarray(0, n), isl: trace.isl.subarray(0, n), osl: trace.osl.subarray(0, n), durationSeconds: Math.min(trace.durationSeconds, seconds) };
}

/**
 * The warm start every run begins from, derived without any policy: the hindsight search over the first
 * (largest startup / interval) + 1 intervals at the SLO's own share, from an empty cluster serving from t = 0, and
 * per role the most it serves in those intervals (what a planner that ran before the trace would have had to hold
 * for them, since nothing asked for at t = 0 is ready sooner). Runs only on the trace's head (those intervals and the
 * time their requests take): cheap whatever the trace's size.
 * Example (startup 180 s, interval 60 s): intervals 0-3 need prefill 5, 6, 9, 7 -> the start holds 9.
 */
export function neutralStart(spec: PolicySpec, profile: PerformanceProfile, trace: Trace): Record<string, number> {
  const full = searchInput(spec, profile, trace);
  const lead = Math.max(0, ...full.roles.map((r) => r.lead));
  const last = Math.min(full.intervals - 1, lead);
  // The head keeps the arrivals that compete with those intervals' requests while they are served (their TTFT target,
  // then up to their longest output at the ITL target), so decode is not sized for a trace that stops.
  const end = (last + 1) * spec.interval;
  let maxOsl = 1;
  for (let i = 0; i < trace.arrival.length && (trace.arrival[i] as number) < end; i++) maxOsl = Math.max(maxOsl, trace.osl[i] as number);
  const sub = searchInput(spec, profile, head(trace, end + (spec.slo.ttft.ms + maxOsl * spec.slo.itl.ms) / 1000));
  const serving = forwardSearch(sub, {}, START_TARGET, Math.min(last, sub.intervals - 1));
  const units = { prefill: 0, decode: 0 } as Record<Role, number>;
  for (const info of full.roles) units[info.role] = Math.max(info.min, ...serving[info.role]);
  return splitRoles(spec, units);
}

export async function hindsight(spec: PolicySpec, profile: PerformanceProfile, trace: Trace, options: HindsightOptions): Promise<HindsightResult> {
  const input = searchInput(spec, profile, trace);
  const start = options.start ?? neutralStart(spec, profile, trace);
  const startUnits = { prefill: 0, decode: 0 } as Record<Role, number>;
  for (const pool of spec.pools) startUnits[pool.role] += start[pool.name] ?? 0;
  input.startUnits = startUnits;
  const bins = binTrace(trace, spec.interval);
  const goal = sloTarget(spec);

  const passes: HindsightResult['passes'] = [];
  let best: { target: number; run: RunResult; desired: Record<string, number>[]; serving: Record<Role, number[]> } | undefined;
  let fallback: typeof best;
  const tryTarget = async (q: number): Promise<boolean> => {
    const serving = forwardSearch(input, start, q, input.intervals - 1);
    const desired = heldSchedule(spec, input.roles, serving, input.intervals);
    const run = await replay({ name: 'hindsight', kind: 'hindsight', spec, profile, trace, bins, initial: start, seed: options.seed, evictions: options.evictions, driver: scheduleDriver(desired) });
    passes.push({ target: q, attainment: run.sloAttainment.both, gpuHours: run.gpuHours.total });
    const met = run.sloAttainment.both >= goal;
    if (met && (!best || run.gpuHours.total < best.run.gpuHours.total)) best = { target: q, run, desired, serving };
    if (!fallback || run.sloAttainment.both > fallback.run.sloAttainment.both) fallback = { target: q, run, desired, serving };
    return met;
  };

  // The per-interval target: the SLO's share first; step down while schedules meet the SLO, bisect once one fails.
  let failing: number | undefined;
  let meeting: number | undefined;
  let q = goal;
  for (let pass = 0; pass < HINDSIGHT_PASSES; pass++) {
    if (await tryTarget(q)) meeting = q;
    else failing = q;
    let next: number;
    if (meeting === undefined) {
      if (q >= 1) break; // even the most replicas allowed miss: infeasible within the bounds and budget
      next = q < 0.99 ? (q + 1) / 2 : 1;
    } else if (failing === undefined) {
      if (q <= LOWEST_TARGET) break;
      next = Math.max(LOWEST_TARGET, meeting - 2 * (1 - goal));
    } else {
      next = (failing + meeting) / 2;
    }
    if (failing !== undefined && meeting !== undefined && Math.abs(meeting - failing) < 0.03) break;
    q = next;
  }
  const kept = best ?? fallback!;
  return {
    start,
    desired: kept.desired,
    serving: kept.serving,
    target: kept.target,
    run: kept.run,
    sloMet: best !== undefined,
    passes,
    windowReplays: input.windowReplays,
  };
}
