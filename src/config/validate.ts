/**
 * Cross-field checks on a policy that already passed the zod schema: the rules no single field can
 * express (min <= max, the budget fits the minimums, schedules name real pools, Spot rules are satisfiable).
 * Pure: no I/O. The profile check (which reads files) is in load.ts and feeds `checkAgainstProfile`.
 *
 * Problems block the policy (validate exits 2); warnings are printed but the policy is usable.
 */
import cron from 'node-cron';
import type { PolicySpec, PoolSpec } from './schema.js';
import { MAX_FORECAST_POINTS, ROLES } from './schema.js';
import { formatDuration, MIN_INTERVAL_SECONDS } from './duration.js';
import { didYouMean } from './issues.js';
import type { PerformanceProfile } from '../profiles/types.js';

export interface CheckResult {
  problems: string[];
  warnings: string[];
}

/** Every cross-field check, in the order the fields appear in the file. */
export function checkPolicy(spec: PolicySpec): CheckResult {
  const result: CheckResult = { problems: [], warnings: [] };
  checkDurations(spec, result);
  checkPools(spec, result);
  checkRoles(spec, result);
  checkBudget(spec, result);
  checkSpot(spec, result);
  checkSchedules(spec, result);
  checkScaleToZero(spec, result);
  checkPanicPoll(spec, result);
  checkPolicyOptions(spec, result);
  checkForecaster(spec, result);
  checkSources(spec, result);
  return result;
}

function poolNames(spec: PolicySpec): string {
  return [...new Set(spec.pools.map((p) => p.name))].join(', ');
}

/** `spec.pools[i]` for a pool name, for messages that point at the other pool involved. */
function poolIndex(spec: PolicySpec, name: string): number {
  return spec.pools.findIndex((p) => p.name === name);
}

/**
 * Durations the planner divides by or waits on must be positive, and a tick needs at least a second (the schema
 * checks their spelling and the one-day ceiling).
 */
function checkDurations(spec: PolicySpec, out: CheckResult): void {
  if (spec.interval < MIN_INTERVAL_SECONDS) {
    out.problems.push(`spec.interval: ${formatDuration(spec.interval)} is shorter than ${formatDuration(MIN_INTERVAL_SECONDS)}, the shortest interval; use e.g. "60s"`);
  }
  const positive: [string, number][] = [];
  if (spec.sources.prometheus) positive.push(['spec.sources.prometheus.timeout', spec.sources.prometheus.timeout]);
  if (spec.sources.queue) positive.push(['spec.sources.queue.timeout', spec.sources.queue.timeout]);
  for (const [path, seconds] of positive) {
    if (seconds <= 0) out.problems.push(`${path}: must be longer than 0s`);
  }
  if (spec.interval >= MIN_INTERVAL_SECONDS && spec.interval < 5) {
    out.warnings.push(
      `spec.interval: ${formatDuration(spec.interval)} is shorter than Prometheus scrapes usually are (15-30s); most ticks will see no new data`,
    );
  }
}

/**
 * The Kubernetes object a pool scales, as one comparable string; `namespace` is the policy's (a target without its
 * own is in it). Example: a graph target without `service` -> "DynamoGraphDeployment dynamo/llama (decode component)".
 */
export function targetKey(pool: PoolSpec, namespace?: string): string | undefined {
  const t = pool.target;
  if (!t) return undefined;
  const ns = t.namespace ?? namespace ?? '(planner namespace)';
  // A graph target without `service` is found by the pool's role, so the role is part of its identity.
  if (t.kind === 'DynamoGraphDeployment') return `${t.kind} ${ns}/${t.name} ${t.service ?? `(${pool.role} component)`}`;
  return `${t.kind} ${ns}/${t.name}`;
}

function checkPools(spec: PolicySpec, out: CheckResult): void {
  const firstByName = new Map<string, number>();
  const firstByTarget = new Map<string, number>();
  spec.pools.forEach((pool, i) => {
    const at = `spec.pools[${i}]`;
    const earlier = firstByName.get(pool.name);
    if (earlier !== undefined) out.problems.push(`${at}.name: duplicate pool name "${pool.name}" (also spec.pools[${earlier}])`);
    else firstByName.set(pool.name, i);

    if (pool.maxReplicas < pool.minReplicas) {
      out.problems.push(`${at}.maxReplicas: ${pool.maxReplicas} is below minReplicas ${pool.minReplicas}`);
    } else if (pool.maxReplicas === 0) {
      out.warnings.push(`${at}.maxReplicas: 0 means pool "${pool.name}" never runs a replica`);
    }

    const key = targetKey(pool);
    if (key !== undefined) {
      const other = firstByTarget.get(key);
      if (other !== undefined) {
        out.problems.push(
          `${at}.target: same target as spec.pools[${other}] (${key}); two pools would overwrite each other's replica count`,
        );
      } else firstByTarget.set(key, i);
    }
  });
}

/**
 * Every role needs a pool. An error for the sizing policies: they compute prefill and decode together (the
 * budget split keeps their ratio, Dynamo's decode sizing uses the prefill forecast), so a missing role is
 * almost always a forgotten pool, and the planner would silently leave that role unmanaged. `static` sizes
 * each pool on its own, so there it is only a warning (e.g. a file that pins prefill while decode is fixed).
 */
function checkRoles(spec: PolicySpec, out: CheckResult): void {
  for (const role of ROLES) {
    if (spec.pools.some((p) => p.role === role)) continue;
    const message = `spec.pools: no pool has role ${role}; add one (prefill and decode are sized together)`;
    if (spec.policy === 'static') out.warnings.push(`spec.pools: no pool has role ${role}; that role is not managed`);
    else out.problems.push(message);
  }
}

/** "prefill-od 2x4, decode-od 1x4" for the pools with a minimum. */
function minimumBreakdown(pools: readonly PoolSpec[], mins: Record<string, number>): string {
  return pools
    .filter((p) => (mins[p.name] ?? 0) > 0)
    .map((p) => `${p.name} ${mins[p.name]}x${p.gpusPerReplica}`)
    .join(', ');
}

function minimumGpus(pools: readonly PoolSpec[], mins: Record<string, number>): number {
  return pools.reduce((sum, p) => sum + (mins[p.name] ?? 0) * p.gpusPerReplica, 0);
}

function minimumCost(pools: readonly PoolSpec[], mins: Record<string, number>): number {
  return pools.reduce((sum, p) => sum + (mins[p.name] ?? 0) * p.gpusPerReplica * p.costPerGpuHour, 0);
}

function poolMinimums(spec: PolicySpec): Record<string, number> {
  return Object.fromEntries(spec.pools.map((p) => [p.name, p.minReplicas]));
}

/**
 * The budget must hold the minimums, or the planner has no valid answer at all (Dynamo then scales both
 * roles to 0; we refuse the file instead). Example: prefill-od min 2 x 4 GPUs + decode-od min 1 x 4 = 12 > 8.
 */
function checkBudget(spec: PolicySpec, out: CheckResult): void {
  const mins = poolMinimums(spec);
  const { maxGpus, maxCostPerHour } = spec.budget;
  if (maxGpus !== undefined) {
    const need = minimumGpus(spec.pools, mins);
    if (need > maxGpus) {
      out.problems.push(
        `spec.budget.maxGpus: ${maxGpus} GPUs is below the ${need} the pools' minReplicas need (${minimumBreakdown(spec.pools, mins)})`,
      );
    }
  }
  if (maxCostPerHour !== undefined) {
    const cost = minimumCost(spec.pools, mins);
    if (cost > maxCostPerHour) {
      out.problems.push(
        `spec.budget.maxCostPerHour: ${maxCostPerHour}/h is below the ${round2(cost)}/h the pools' minReplicas cost (${minimumBreakdown(spec.pools, mins)})`,
      );
    }
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function checkSpot(spec: PolicySpec, out: CheckResult): void {
  const spotPools = spec.pools.filter((p) => p.capacity === 'spot');
  if (spotPools.length === 0) return;
  if (spec.spot.maxShare === 0) {
    out.problems.push(
      `spec.spot.maxShare: 0 allows no Spot replicas, but ${spotPools.map((p) => `"${p.name}"`).join(', ')} ${spotPools.length === 1 ? 'is a Spot pool' : 'are Spot pools'}; raise maxShare or remove the Spot pools`,
    );
  }
  const floor = spec.spot.onDemandFloor;
  for (const role of ROLES) {
    const roleSpot = spotPools.filter((p) => p.role === role);
    if (roleSpot.length === 0 || floor === 0) continue;
    const onDemand = spec.pools.filter((p) => p.role === role && p.capacity === 'on-demand');
    const room = onDemand.reduce((sum, p) => sum + p.maxReplicas, 0);
    if (onDemand.length === 0) {
      // A warning, not an error: a role on Spot alone is a choice (the planner then puts all of it on Spot).
      out.warnings.push(
        `spec.spot.onDemandFloor: ${floor} on-demand ${role} replica${floor === 1 ? '' : 's'} asked for, but role ${role} has only Spot pools (${roleSpot.map((p) => p.name).join(', ')}), so every ${role} replica runs on Spot; add an on-demand ${role} pool, or set onDemandFloor: 0 to silence this`,
      );
    } else if (room < floor) {
      out.problems.push(
        `spec.spot.onDemandFloor: ${floor} on-demand ${role} replicas required, but the on-demand ${role} pools allow at most ${room} (${onDemand.map((p) => `${p.name} max ${p.maxReplicas}`).join(', ')})`,
      );
    }
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function checkSchedules(spec: PolicySpec, out: CheckResult): void {
  const byName = new Map(spec.pools.map((p) => [p.name, p]));
  const names = [...byName.keys()];
  spec.schedules.forEach((schedule, i) => {
    const at = `spec.schedules[${i}]`;
    if (!cron.validate(schedule.cron)) {
      out.problems.push(
        `${at}.cron: invalid cron expression "${schedule.cron}" (expected 5 fields "minute hour day-of-month month day-of-week", or 6 with seconds first, e.g. "0 8 * * 1-5")`,
      );
    }
    if (schedule.duration <= 0) out.problems.push(`${at}.duration: must be longer than 0s`);
    if (!isTimeZone(schedule.timezone)) {
      out.problems.push(`${at}.timezone: unknown time zone "${schedule.timezone}" (use an IANA name such as "Europe/Amsterdam" or "UTC")`);
    }
    const entries = Object.entries(schedule.minReplicas);
    if (entries.length === 0) out.warnings.push(`${at}.minReplicas: empty, so this schedule changes nothing`);
    let allKnown = true;
    for (const [name, min] of entries) {
      const pool = byName.get(name);
      if (!pool) {
        allKnown = false;
        out.problems.push(`${at}.minReplicas.${name}: no pool named "${name}"${didYouMean(name, names)} (pools: ${poolNames(spec)})`);
        continue;
      }
      if (min > pool.maxReplicas) {
        out.problems.push(
          `${at}.minReplicas.${name}: ${min} is above the pool's maxReplicas ${pool.maxReplicas} (spec.pools[${poolIndex(spec, name)}])`,
        );
      }
    }
    // While active, a schedule raises mins (never lowers them); the raised set must still fit the budget.
    if (allKnown && spec.budget.maxGpus !== undefined && entries.length > 0) {
      const mins = poolMinimums(spec);
      for (const [name, min] of entries) mins[name] = Math.max(mins[name] ?? 0, min);
      const need = minimumGpus(spec.pools, mins);
      if (need > spec.budget.maxGpus) {
        out.problems.push(
          `${at}.minReplicas: while active, the pools' minReplicas need ${need} GPUs, above spec.budget.maxGpus ${spec.budget.maxGpus} (${minimumBreakdown(spec.pools, mins)})`,
        );
      }
    }
  });
}

/** The poll interval is only used at zero, and only when it is shorter than the interval. */
function checkScaleToZero(spec: PolicySpec, out: CheckResult): void {
  const poll = spec.scaleToZero.pollInterval;
  if (poll === undefined) return;
  if (poll < MIN_INTERVAL_SECONDS) {
    out.problems.push(`spec.scaleToZero.pollInterval: ${formatDuration(poll)} is shorter than ${formatDuration(MIN_INTERVAL_SECONDS)}, the shortest interval; use e.g. "10s"`);
  } else if (poll >= spec.interval) {
    out.warnings.push(`spec.scaleToZero.pollInterval: ${formatDuration(poll)} is not shorter than spec.interval (${formatDuration(spec.interval)}), so it changes nothing`);
  }
  const canReachZero = ROLES.some((role) => spec.pools.some((p) => p.role === role) && spec.pools.filter((p) => p.role === role).every((p) => p.minReplicas === 0));
  if (!canReachZero) {
    out.warnings.push('spec.scaleToZero.pollInterval: no role can reach zero (each has a pool with minReplicas >= 1), so the graph is never polled at zero');
  }
}

/** A panic poll of 0 turns panic polls off; a shorter one than the shortest interval would poll NATS without pause. */
function checkPanicPoll(spec: PolicySpec, out: CheckResult): void {
  const poll = spec.sla.panicPoll;
  if (poll > 0 && poll < MIN_INTERVAL_SECONDS) {
    out.problems.push(`spec.sla.panicPoll: ${formatDuration(poll)} is shorter than ${formatDuration(MIN_INTERVAL_SECONDS)}, the shortest interval; use e.g. "10s", or "0s" for no panic polls`);
  }
}

function checkPolicyOptions(spec: PolicySpec, out: CheckResult): void {
  const { prefillQueuePerReplica: queue, decodeKvUsage: kv } = spec.load;
  // The gap between down and up is the hysteresis; without it the load policy flaps every tick.
  if (queue.down >= queue.up) {
    out.problems.push(`spec.load.prefillQueuePerReplica.down: ${queue.down} is not below up ${queue.up} (the gap is the hysteresis)`);
  }
  if (kv.down >= kv.up) {
    out.problems.push(`spec.load.decodeKvUsage.down: ${kv.down} is not below up ${kv.up} (the gap is the hysteresis)`);
  }
  const byName = new Map(spec.pools.map((p) => [p.name, p]));
  for (const [name, replicas] of Object.entries(spec.static.replicas)) {
    const at = `spec.static.replicas.${name}`;
    const pool = byName.get(name);
    if (!pool) {
      out.problems.push(`${at}: no pool named "${name}"${didYouMean(name, [...byName.keys()])} (pools: ${poolNames(spec)})`);
    } else if (replicas < pool.minReplicas || replicas > pool.maxReplicas) {
      out.problems.push(`${at}: ${replicas} is outside the pool's range ${pool.minReplicas}..${pool.maxReplicas} (spec.pools[${poolIndex(spec, name)}])`);
    }
  }
}

function checkForecaster(spec: PolicySpec, out: CheckResult): void {
  const f = spec.forecaster;
  if (f.kind !== 'seasonal') return;
  // Seasonal needs at least two points per season to tell a shape from a level (24h at 60s = 1440 points).
  if (f.season < 2 * spec.interval) {
    out.problems.push(
      `spec.forecaster.season: ${formatDuration(f.season)} is shorter than two intervals (${formatDuration(2 * spec.interval)}); a season needs at least two points`,
    );
  } else if (f.season / spec.interval > MAX_FORECAST_POINTS) {
    out.problems.push(
      `spec.forecaster.season: ${formatDuration(f.season)} is ${Math.ceil(f.season / spec.interval)} intervals of ${formatDuration(spec.interval)}; at most ${MAX_FORECAST_POINTS} (the history kept grows with it): use a longer interval or a shorter season`,
    );
  } else if (f.season % spec.interval !== 0) {
    out.warnings.push(
      `spec.forecaster.season: ${formatDuration(f.season)} is not a whole number of intervals (${formatDuration(spec.interval)}); seasonal slots will drift`,
    );
  }
}

function natsUrlProblem(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.hostname === '') return `expected a nats:// URL with a host such as "nats://nats:4222", got "${value}"`;
    return undefined;
  } catch {
    return `expected a nats:// URL such as "nats://nats:4222", got "${value}"`;
  }
}

function checkSources(spec: PolicySpec, out: CheckResult): void {
  const { queue, virtual } = spec.sources;
  if (queue) {
    const problem = natsUrlProblem(queue.nats);
    if (problem) out.problems.push(`spec.sources.queue.nats: ${problem}`);
  }
  if (virtual) {
    const problem = natsUrlProblem(virtual.nats);
    if (problem) out.problems.push(`spec.sources.virtual.nats: ${problem}`);
  }
}

/** Lowest value of a list (profiles are small: tens to a few thousand points). */
function lowest(values: readonly number[]): number {
  return values.reduce((a, b) => Math.min(a, b), Infinity);
}

/**
 * SLOs the engine cannot meet even idle. Warnings, not errors: the file is consistent, but the planner will
 * scale to the maximum and still miss. Example: profile ITL at kv 0 is 22 ms at best; `itl.ms: 15` is unreachable.
 */
export function checkAgainstProfile(spec: PolicySpec, profile: PerformanceProfile): CheckResult {
  const out: CheckResult = { problems: [], warnings: [] };
  const bestTtft = lowest(profile.prefill.ttftMs);
  if (Number.isFinite(bestTtft) && spec.slo.ttft.ms < bestTtft) {
    out.warnings.push(
      `spec.slo.ttft.ms: ${spec.slo.ttft.ms} ms is below the profile's fastest prefill (${round2(bestTtft)} ms at ISL ${profile.prefill.isl[0]}); TTFT cannot meet it`,
    );
  }
  const bestItl = lowest(profile.decode.rows.flatMap((row) => row.itlMs));
  if (Number.isFinite(bestItl) && spec.slo.itl.ms < bestItl) {
    out.warnings.push(
      `spec.slo.itl.ms: ${spec.slo.itl.ms} ms is below the profile's fastest decode step (${round2(bestItl)} ms); ITL cannot meet it`,
    );
  }
  return out;
}
