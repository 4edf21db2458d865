/**
 * The what-if simulation: the policy file's policy and the baselines, each replayed through the cluster model
 * (replay.ts), with the yardsticks that do not depend on any policy: the fluid lower bound (yardsticks/bound.ts)
 * and the hindsight schedule (yardsticks/hindsight.ts).
 *
 * Every run starts from the same warm cluster, decided without any policy (neutralStart: the hindsight search over
 * the first intervals), as if a planner had been running before the trace began: no policy is charged for a cold
 * start the trace does not show, and changing the policy under test changes no baseline's result. The `static`
 * baseline is the exception only in that it holds its own fixed counts (hindsight's peak) from t = 0, as a static
 * deployment has no "before".
 */
import type { PolicyFile, PolicySpec } from '../config/schema.js';
import { policyDocument } from '../config/document.js';
import { whatIfFlags, type WhatIf } from './overrides.js';
import type { PerformanceProfile } from '../profiles/types.js';
import type { Decision } from '../planner/types.js';
import { HPA_TARGET_UTILIZATION, staticSpec, type Baseline, type RunKind } from './baselines.js';
import { binTrace, oracleForecast } from './intervals.js';
import { plannerDriver, replay, scheduleDriver, type Driver, type EvictionOptions } from './replay.js';
import { checkCurrent, CURRENT_RUN } from './current.js';
import type { RunResult, SimReport, Trace, YardstickSummary } from './types.js';
import { fluidBound, type FluidBound } from './yardsticks/bound.js';
import { surprise } from './yardsticks/surprise.js';
import { hindsight, neutralStart, type HindsightResult } from './yardsticks/hindsight.js';
import { hpaSpecAt, hpaTuned } from './yardsticks/hpa-tuned.js';
import { dynamoShipsDriver } from './dynamo-ships/loop.js';

export { SIM_EPOCH_MS, WARM_HISTORY_POINTS, type EvictionOptions } from './replay.js';

/**
 * report.json's layout version (docs/report.md): 2 added `schemaVersion`, `bound`, `start`, `yardsticks` and the
 * hindsight / hpa-tuned runs; 3 added p90 and the SLO's own percentile to every latency, `trace.source`,
 * `trace.speedup`, `pools`, `baselines`, `overrides`, `current` (and the `current` run), `policy`, and rounds numbers
 * to their meaning; 4 added `surprise`.
 */
export const REPORT_SCHEMA_VERSION = 4;

export interface SimulateOptions {
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  baselines: Baseline[];
  seed: number;
  evictions?: EvictionOptions;
  /**
   * The warm start (replicas per pool, ready at t = 0) when the caller knows the cluster's state, e.g. a twin of a
   * running service. Default: neutralStart, decided without any policy. Every run, hindsight included, starts from it.
   */
  start?: Record<string, number>;
  /**
   * The replica counts the user runs today (every pool, checked by checkCurrent): adds the static run `current`,
   * right after the policy's, held at these counts from t = 0 with no policy, bound or budget applied.
   */
  current?: Record<string, number>;
  /** The fluid bound, when the caller has computed it already (fluidBound of the same spec, profile and trace). */
  bound?: FluidBound;
  /** Called after each interval of each run (for a progress bar): (runIndex, intervalsDone, intervalsTotal). */
  onProgress?: (run: number, done: number, total: number) => void;
  /** Every tick's full decision (with its explanation) of the planner runs, for tests and debugging. */
  onDecision?: (kind: RunKind | typeof CURRENT_RUN, interval: number, decision: Decision) => void;
}

export interface SimulateResult {
  runs: RunResult[];
  bound: FluidBound;
  /** The warm start every run began from (replicas per pool). */
  start: Record<string, number>;
  yardsticks: YardstickSummary;
  wallSeconds: number;
  requestsReplayed: number;
}

export async function simulate(options: SimulateOptions): Promise<SimulateResult> {
  const started = performance.now();
  const { spec, profile, trace, seed, evictions } = options;
  const bins = binTrace(trace, spec.interval);
  const bound = options.bound ?? fluidBound(spec, profile, trace);
  const start = options.start ?? neutralStart(spec, profile, trace);
  const yardsticks: YardstickSummary = {};
  const kinds: (RunKind | typeof CURRENT_RUN)[] = ['policy', ...(options.current ? [CURRENT_RUN] : []), ...options.baselines];
  let replayed = 0;

  let hs: HindsightResult | undefined;
  if (kinds.includes('hindsight') || kinds.includes('static')) {
    hs = await hindsight(spec, profile, trace, { seed, evictions, start });
    replayed += hs.passes.length * trace.arrival.length;
    yardsticks.hindsight = { sloMet: hs.sloMet, perIntervalTarget: round4(hs.target), passes: hs.passes.map((p) => ({ target: round4(p.target), attainment: p.attainment, gpuHours: p.gpuHours })), windowReplays: hs.windowReplays };
  }

  const runs: RunResult[] = [];
  for (const [index, kind] of kinds.entries()) {
    const progress = (done: number, total: number) => options.onProgress?.(index, done, total);
    const planned = (name: string, runSpec: PolicySpec, initial: Record<string, number>, forecastAt?: (k: number) => ReturnType<typeof oracleForecast>): Promise<RunResult> => {
      const driver: Driver = plannerDriver({ spec: runSpec, profile, trace, bins, initial, forecastAt, onDecision: (k, d) => options.onDecision?.(kind, k, d) });
      replayed += trace.arrival.length;
      return replay({ name, kind: name === 'policy' || name === 'perfect-forecast' ? runSpec.policy : name, spec: runSpec, profile, trace, bins, initial, seed, evictions, driver, progress });
    };
    let run: RunResult;
    switch (kind) {
      case 'policy':
        run = await planned('policy', spec, start);
        break;
      case CURRENT_RUN: {
        const { counts, warnings } = checkCurrent(spec, options.current as Record<string, number>);
        replayed += trace.arrival.length;
        run = await replay({ name: CURRENT_RUN, kind: 'static', spec, profile, trace, bins, initial: counts, seed, evictions, driver: scheduleDriver([counts]), progress });
        run.warnings.unshift(...warnings);
        break;
      }
      case 'perfect-forecast': {
        const startup = Math.max(...spec.pools.map((p) => p.startupSeconds));
        run = await planned('perfect-forecast', { ...spec, policy: 'sla' }, start, (k) => oracleForecast(bins, k, spec.interval, startup));
        break;
      }
      case 'hpa':
        run = await planned('hpa', hpaSpecAt(spec, profile, trace, HPA_TARGET_UTILIZATION), start);
        break;
      case 'static': {
        const peak = peakOf((hs as HindsightResult).desired);
        run = await planned('static', staticSpec(spec, peak), peak);
        break;
      }
      case 'hindsight':
        run = (hs as HindsightResult).run;
        progress(1, 1);
        break;
      case 'hpa-tuned': {
        const tuned = await hpaTuned(spec, profile, trace, { seed, start, bins, evictions });
        replayed += tuned.grid.length * trace.arrival.length;
        yardsticks.hpaTuned = { utilization: tuned.utilization, sloMet: tuned.sloMet, grid: tuned.grid };
        run = tuned.run;
        progress(1, 1);
        break;
      }
      case 'dynamo':
        replayed += trace.arrival.length;
        run = await replay({ name: 'dynamo', kind: 'dynamo', spec, profile, trace, bins, initial: start, seed, evictions, driver: dynamoShipsDriver(spec, profile, start), progress });
        break;
    }
    runs.push(run);
  }
  return { runs, bound, start, yardsticks, wallSeconds: (performance.now() - started) / 1000, requestsReplayed: replayed };
}

function peakOf(schedule: readonly Record<string, number>[]): Record<string, number> {
  const peak: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const step of schedule) for (const [pool, n] of Object.entries(step)) peak[pool] = Math.max(peak[pool] ?? 0, n);
  return peak;
}

function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}

export interface ReportInputs {
  /** The policy file's metadata (name, namespace, labels), for the effective policy document. */
  metadata?: PolicyFile['metadata'];
  /** The trace as given: a path or a synthetic/scenario spec. */
  traceSource?: string;
  speedup?: number;
  baselines?: readonly string[];
  /** The what-if knobs applied to the policy file. */
  whatIf?: WhatIf;
  current?: Record<string, number>;
}

export function buildReport(args: {
  policyName: string;
  spec: PolicySpec;
  trace: Trace;
  rateScale: number;
  seed: number;
  result: SimulateResult;
  generatedAt: string;
  inputs?: ReportInputs;
}): SimReport {
  const { trace, result, spec } = args;
  const inputs = args.inputs ?? {};
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    generatedAt: args.generatedAt,
    policyName: args.policyName,
    trace: {
      name: trace.name,
      format: trace.format,
      requests: trace.arrival.length,
      durationSeconds: trace.durationSeconds,
      rateScale: args.rateScale,
      skippedLines: trace.skipped.count,
      skippedExamples: trace.skipped.examples,
      ...(inputs.traceSource !== undefined ? { source: inputs.traceSource } : {}),
      ...(inputs.speedup !== undefined ? { speedup: inputs.speedup } : {}),
      ...(trace.excluded && trace.excluded.length > 0 ? { excluded: trace.excluded.map((e) => ({ ...e })) } : {}),
      ...(trace.warnings && trace.warnings.length > 0 ? { warnings: [...trace.warnings] } : {}),
    },
    slo: { ttft: { ...spec.slo.ttft }, itl: { ...spec.slo.itl } },
    bound: result.bound,
    surprise: surprise(spec, trace),
    start: result.start,
    yardsticks: result.yardsticks,
    runs: result.runs,
    sim: {
      wallSeconds: result.wallSeconds,
      requestsPerSecond: result.wallSeconds > 0 ? result.requestsReplayed / result.wallSeconds : 0,
      seed: args.seed,
    },
    pools: spec.pools.map((p) => ({
      name: p.name, role: p.role, capacity: p.capacity, gpusPerReplica: p.gpusPerReplica,
      minReplicas: p.minReplicas, maxReplicas: p.maxReplicas, costPerGpuHour: p.costPerGpuHour, startupSeconds: p.startupSeconds,
    })),
    ...(inputs.baselines ? { baselines: [...inputs.baselines] } : {}),
    overrides: whatIfFlags(inputs.whatIf ?? {}),
    ...(inputs.current ? { current: { ...inputs.current } } : {}),
    policy: policyDocument(inputs.metadata ?? { name: args.policyName }, spec),
  };
}
