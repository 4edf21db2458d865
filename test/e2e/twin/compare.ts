/**
 * The in-process reference and the comparison of the service's decisions with it.
 *
 * Matching: the simulator ticks at virtual k x I (k = 1, 2, ...). The service ticks on its own timer; its tick at
 * wall time w is at virtual (w - t0) / 1000. A service tick is matched to simulator tick k when it is within a
 * third of an interval of k x I (scheduling jitter on a loaded machine is tens of ms; a whole missed tick is not
 * matched and counts against the coverage asked for below).
 *
 * Agreement of one matched tick and pool, two bands:
 *   close   |service - simulator| <= max(1, 20 % of the simulator's count)     asked on >= 70 % of ticks
 *   near    |service - simulator| <= max(2, 25 % of the simulator's count)     asked on >= 90 % of ticks
 * and a mean |difference| of at most 1 replica per pool.
 * Why not equality: the two see the same load through different instruments.
 *   - Prometheus `increase()` over a 3 s window with a 250 ms scrape extrapolates ~11 samples to the window edges;
 *     the count it returns differs from the exact arrivals by up to about one scrape's worth of requests
 *     (33 req/s x 0.25 s = 8 of ~100, 8 %), and the samples it uses are up to one scrape older than the tick.
 *   - The queue depth is read from NATS at the tick (a burst can fill or drain it within tens of ms); the simulator
 *     reads it at exactly the window's end. The queue-aware term turns a backlog of 10 into +2 prefill replicas.
 *   - Once one decision differs, the two clusters differ for an interval (replicas, queue), and so may the next.
 * Each of these moves a count by a replica or a few percent; the policy sizes in whole replicas with ceil(), so a
 * count near a step can flip by one. A different queue reading can add 2 prefill replicas at once, and the step
 * limit (maxStepDown 2) then carries that gap over the next ticks: that is what the near band and the 70 % allow.
 * Example from a run: queue 16 read vs 10 at the simulator's tick -> prefill 10 vs 8, then 8 vs 6, 6 vs 4 while
 * both step down: three ticks outside `close`, all inside `near`.
 */
import type { Observation } from '../../../src/planner/types.js';
import type { IntervalRecord, Trace } from '../../../src/sim/types.js';
import { DYNAMO_FRONTEND_BUCKETS } from './buckets.js';

/** One tick of the real service, from its JSON log line. */
export interface ServiceTick {
  /** Epoch ms of the tick (its observation's time). */
  wall: number;
  desired: Record<string, number>;
  held: boolean;
  observation: Observation;
  /** How long the tick took (s): its metric reads happened within [wall, wall + durationSeconds]. */
  durationSeconds: number;
}

export interface MatchedTick {
  k: number;
  /** Virtual seconds of the simulator's tick. */
  t: number;
  /** Virtual seconds of the service's tick, and its index in the tick list. */
  serviceT: number;
  tickIndex: number;
  sim: Record<string, number>;
  service: Record<string, number>;
  serviceRequests?: number;
  simRequests: number;
  serviceQueueDepth?: number;
  simQueueDepth: number;
  /** The twin's own prefill queue at the service's tick (its cluster, driven by the service's decisions). */
  twinQueueDepth?: number;
  held: boolean;
  /** Pools whose counts are outside the close band, and outside the near band. */
  outside: string[];
  farOutside: string[];
}

export interface Comparison {
  /** Full simulator intervals (the last, partial one is left out). */
  simTicks: number;
  matched: MatchedTick[];
  /** Share of simulator ticks with a matched service tick. */
  coverage: number;
  /** Per pool: share of matched ticks in the close and near bands and exactly equal, and the mean |difference|. */
  pools: Record<string, { within: number; withinNear: number; meanAbsDiff: number; exact: number }>;
}

/** The close band: |service - sim| <= max(1, 20 % of sim). 8 vs 10 is in (2 <= 2), 4 vs 6 is not. */
export function withinTolerance(service: number, sim: number): boolean {
  return Math.abs(service - sim) <= Math.max(1, 0.2 * sim);
}

/** The near band: |service - sim| <= max(2, 25 % of sim). 4 vs 6 is in, 3 vs 6 is not, 9 vs 12 is in. */
export function withinNear(service: number, sim: number): boolean {
  return Math.abs(service - sim) <= Math.max(2, 0.25 * sim);
}

export function compareDecisions(
  intervals: IntervalRecord[],
  ticks: ServiceTick[],
  t0: number,
  intervalSeconds: number,
  traceSeconds: number,
  twinTimeline: { t: number; queueDepth: number }[] = [],
): Comparison {
  const full = intervals.filter((r) => r.t <= traceSeconds && Math.abs(r.t / intervalSeconds - Math.round(r.t / intervalSeconds)) < 1e-9);
  const pools = Object.keys(full[0]?.desired ?? {});
  const matched: MatchedTick[] = [];
  for (const record of full) {
    const k = Math.round(record.t / intervalSeconds);
    let bestIndex = -1;
    let bestGap = Infinity;
    ticks.forEach((tick, index) => {
      const gap = Math.abs((tick.wall - t0) / 1000 - record.t);
      if (gap < bestGap) {
        bestIndex = index;
        bestGap = gap;
      }
    });
    const best = ticks[bestIndex];
    if (!best || bestGap > intervalSeconds / 3) continue;
    const outside = pools.filter((p) => !withinTolerance(best.desired[p] ?? Number.NaN, record.desired[p] as number));
    const farOutside = pools.filter((p) => !withinNear(best.desired[p] ?? Number.NaN, record.desired[p] as number));
    const serviceT = (best.wall - t0) / 1000;
    const twinPoint = twinTimeline.filter((p) => p.t <= serviceT).at(-1);
    matched.push({
      k,
      t: record.t,
      serviceT,
      tickIndex: bestIndex,
      sim: record.desired,
      service: best.desired,
      serviceRequests: best.observation.requests,
      simRequests: record.requests,
      serviceQueueDepth: best.observation.queueDepth,
      simQueueDepth: record.queueDepth,
      ...(twinPoint ? { twinQueueDepth: twinPoint.queueDepth } : {}),
      held: best.held,
      outside,
      farOutside,
    });
  }
  const summary: Comparison['pools'] = {};
  for (const p of pools) {
    const n = matched.length || 1;
    summary[p] = {
      within: matched.filter((m) => !m.outside.includes(p)).length / n,
      withinNear: matched.filter((m) => !m.farOutside.includes(p)).length / n,
      exact: matched.filter((m) => m.service[p] === m.sim[p]).length / n,
      meanAbsDiff: matched.reduce((s, m) => s + Math.abs((m.service[p] ?? 0) - (m.sim[p] as number)), 0) / n,
    };
  }
  return { simTicks: full.length, matched, coverage: full.length ? matched.length / full.length : 0, pools: summary };
}

/** A plain-text table for the test log and docs: one row per simulator tick. */
export function comparisonTable(c: Comparison, pools: string[]): string {
  const head = ['t(s)', 'req sim/svc', 'queue sim/twin/svc', ...pools.map((p) => `${p} sim/svc`), ''];
  const rows = c.matched.map((m) => [
    m.t.toFixed(0),
    `${m.simRequests}/${m.serviceRequests === undefined ? '-' : m.serviceRequests.toFixed(0)}`,
    `${m.simQueueDepth}/${m.twinQueueDepth ?? '-'}/${m.serviceQueueDepth ?? '-'}`,
    ...pools.map((p) => `${m.sim[p]}/${m.service[p]}`),
    `${m.farOutside.length ? `far: ${m.farOutside.join(',')} ` : ''}${m.outside.length ? `outside: ${m.outside.join(',')}` : ''}${m.held ? ' held' : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/**
 * What the service read from Prometheus and NATS at each matched tick, next to the truth over the same window
 * (v - I, v] from the twin's own per-request record. Means (ISL, OSL, TTFT, ITL) are ratios of two increases, so
 * Prometheus' extrapolation cancels; what remains is the window misalignment (samples up to one scrape old) and the
 * twin's 50 ms step. Queue depth: the service's value against the backlog the twin's stream held while the tick ran.
 */
export interface ObservationAccuracy {
  /** Relative error |service - truth| / truth per matched tick, per field. */
  relativeErrors: Record<'requests' | 'isl' | 'osl' | 'ttftMean' | 'itlMean', number[]>;
  /**
   * Per matched tick: how many Dynamo TTFT buckets apart the service's p95 and the window's exact p95 are
   * (0 = same bucket: histogram_quantile can only interpolate inside the bucket holding the 95th rank).
   */
  ttftP95BucketGap: number[];
  /** Matched ticks whose queue depth is a backlog the twin's stream held while the tick ran. */
  queueWithinRange: number;
  queueTicks: number;
}

export interface WindowTruthInput {
  trace: Trace;
  firstTokenAt: Float64Array;
  doneAt: Float64Array;
  ttftMs: Float32Array;
  itlMs: Float32Array;
  /** The twin's NATS backlog over wall time (twin.ts QueueRecord). */
  queueHistory: { wall: number; pending: number }[];
}

export function observationAccuracy(comparison: Comparison, ticks: ServiceTick[], intervalSeconds: number, truth: WindowTruthInput): ObservationAccuracy {
  const errors: ObservationAccuracy['relativeErrors'] = { requests: [], isl: [], osl: [], ttftMean: [], itlMean: [] };
  const ttftP95BucketGap: number[] = [];
  const bounds = DYNAMO_FRONTEND_BUCKETS.time_to_first_token_seconds;
  const bucket = (seconds: number) => {
    const i = bounds.findIndex((le) => seconds <= le);
    return i === -1 ? bounds.length : i;
  };
  let queueWithinRange = 0;
  let queueTicks = 0;
  const { trace } = truth;
  for (const m of comparison.matched) {
    const tick = ticks[m.tickIndex];
    if (!tick) continue;
    const obs = tick.observation;
    const to = m.serviceT;
    const from = to - intervalSeconds;
    let n = 0;
    let isl = 0;
    let osl = 0;
    let ttftN = 0;
    let ttft = 0;
    const ttfts: number[] = [];
    let itlN = 0;
    let itl = 0;
    for (let i = 0; i < trace.arrival.length; i++) {
      const a = trace.arrival[i] as number;
      if (a > from && a <= to) {
        n += 1;
        isl += trace.isl[i] as number;
        osl += trace.osl[i] as number;
      }
      const f = truth.firstTokenAt[i] as number;
      if (f > from && f <= to) {
        ttftN += 1;
        ttft += truth.ttftMs[i] as number;
        ttfts.push(truth.ttftMs[i] as number);
      }
      const d = truth.doneAt[i] as number;
      if (d > from && d <= to && (trace.osl[i] as number) > 1) {
        itlN += 1;
        itl += truth.itlMs[i] as number;
      }
    }
    const rel = (service: number | undefined, exact: number) => (service === undefined || !(exact > 0) ? undefined : Math.abs(service - exact) / exact);
    const push = (key: keyof ObservationAccuracy['relativeErrors'], value: number | undefined) => {
      if (value !== undefined) errors[key].push(value);
    };
    push('requests', rel(obs.requests, n));
    push('isl', n ? rel(obs.isl, isl / n) : undefined);
    push('osl', n ? rel(obs.osl, osl / n) : undefined);
    push('ttftMean', ttftN ? rel(obs.ttftMs?.mean, ttft / ttftN) : undefined);
    push('itlMean', itlN ? rel(obs.itlMs?.mean, itl / itlN) : undefined);

    const p95 = obs.ttftMs?.p95;
    if (p95 !== undefined && ttfts.length > 0) {
      ttfts.sort((a, b) => a - b);
      // Prometheus' rank: q x count, the first bucket whose cumulative count reaches it.
      const exact = ttfts[Math.max(0, Math.ceil(0.95 * ttfts.length) - 1)] as number;
      ttftP95BucketGap.push(Math.abs(bucket(p95 / 1000) - bucket(exact / 1000)));
    }

    if (obs.queueDepth !== undefined) {
      queueTicks += 1;
      // The read happened somewhere during the tick: the backlog then was the one in force at its start, or any
      // recorded while it ran.
      const start = tick.wall;
      const end = tick.wall + Math.max(0.05, tick.durationSeconds) * 1000;
      const before = truth.queueHistory.filter((r) => r.wall <= start).at(-1);
      const during = truth.queueHistory.filter((r) => r.wall > start && r.wall <= end);
      const values = [...(before ? [before.pending] : [0]), ...during.map((r) => r.pending)];
      if (obs.queueDepth >= Math.min(...values) && obs.queueDepth <= Math.max(...values)) queueWithinRange += 1;
    }
  }
  return { relativeErrors: errors, ttftP95BucketGap, queueWithinRange, queueTicks };
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
