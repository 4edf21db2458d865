/**
 * The quality matrix: the default `sla` policy on the bundled traces at several rate scales and on the scenario
 * families (src/sim/scenarios/), next to the baselines an operator could deploy instead, each run's attainment (TTFT
 * and ITL together) and GPU-hours.
 *
 *   npm run bench -- matrix                      all rows, held-out seeds, written to bench/RESULTS.md
 *   npx tsx bench/matrix-run.ts [options]        print only; --help lists the options
 *
 * Goal per row: attainment >= the SLO percentile; GPU-hours no more than the cheapest deployable baseline that meets
 * the SLO (static, hpa-tuned, dynamo); at most 1.3 x the fluid bound where the minimum replicas do not dominate.
 *
 * The yardsticks here are stand-ins kept in bench code so that they are easy to replace:
 * - `hpa-tuned`: the `hpa` baseline (src/sim/baselines.ts) with its target utilisation searched on HPA_GRID, from the
 *   highest down, for the cheapest setting that meets the SLO (cost falls as utilisation rises, so the first setting
 *   met from the top is the cheapest on the grid).
 * - `fluid`: a rough lower bound (fluidBound below): every minute, each role gets exactly the GPUs its token demand
 *   needs at profiled throughput (decode at the largest KV use within the ITL SLO), never fewer than the pools'
 *   minimum replicas; no queueing, no startup, no rounding to replicas.
 * - `oracle` (the sla policy with a perfect forecast) stands in for hindsight.
 *
 * What differs from the embedded default policy (src/sim/default-policy.ts), and why: the budget is lifted to 256 GPUs
 * and 32 replicas per pool (QUALITY_BUDGET), so that no run is held at the budget; and each row sets its SLO.
 * Real traces keep the bench/quality.ts SLOs (p95; TTFT 2 s, Mooncake 8 s; ITL 60 ms); the scenario families use the
 * issue's SLO, p90 TTFT 2 s and ITL 45 ms.
 */
import { parsePolicyText } from '../src/config/load.js';
import type { PolicySpec } from '../src/config/schema.js';
import { loadProfile } from '../src/profiles/load.js';
import type { PerformanceProfile } from '../src/profiles/types.js';
import { hpaTargets, HPA_TARGET_UTILIZATION, type Baseline } from '../src/sim/baselines.js';
import { DEFAULT_POLICY_YAML } from '../src/sim/default-policy.js';
import { simulate } from '../src/sim/run.js';
import { FAMILIES, REPORT_SEEDS, TUNING_SEEDS, isScenarioSpec, parseScenarioSpec, scenarioPlan, type Family } from '../src/sim/scenarios/index.js';
import { BUNDLED_TRACES, isSyntheticSpec, parseSyntheticSpec, readTrace } from '../src/sim/traces/index.js';
import type { RunResult, Trace } from '../src/sim/types.js';
import { QUALITY_BUDGET } from './quality.js';

export interface MatrixSlo {
  percentile: number;
  ttftMs: number;
  itlMs: number;
}

export interface MatrixRow {
  name: string;
  /** A trace path or a generated-trace spec. */
  trace: string;
  rateScale: number;
  slo: MatrixSlo;
  kind: 'real' | Family | 'readme';
}

const REAL_SLO: MatrixSlo = { percentile: 95, ttftMs: 2000, itlMs: 60 };
const MOONCAKE_SLO: MatrixSlo = { percentile: 95, ttftMs: 8000, itlMs: 60 };
/** The issue's SLO for the scenario families. */
export const FAMILY_SLO: MatrixSlo = { percentile: 90, ttftMs: 2000, itlMs: 45 };

export const REAL_ROWS: MatrixRow[] = [
  ...[1, 2, 3].map((x) => ({ name: `azure-code x${x}`, trace: BUNDLED_TRACES.azureCode2023, rateScale: x, slo: REAL_SLO, kind: 'real' as const })),
  ...[2, 4, 6].map((x) => ({ name: `azure-conv x${x}`, trace: BUNDLED_TRACES.azureConv2023, rateScale: x, slo: REAL_SLO, kind: 'real' as const })),
  ...[1, 2].map((x) => ({ name: `mooncake x${x}`, trace: BUNDLED_TRACES.mooncakeSynthetic, rateScale: x, slo: MOONCAKE_SLO, kind: 'real' as const })),
  { name: 'readme step', trace: 'synthetic:step?steps=0:2,10m:8,20m:3&duration=30m', rateScale: 1, slo: REAL_SLO, kind: 'readme' },
];

export function familyRows(seeds: readonly number[], families: readonly Family[] = FAMILIES): MatrixRow[] {
  const rows: MatrixRow[] = [];
  for (const family of families) for (const seed of seeds) rows.push({ name: `${family} #${seed}`, trace: `scenario:${family}?seed=${seed}`, rateScale: 1, slo: FAMILY_SLO, kind: family });
  return rows;
}

/** The rows of a run: the real traces and the families at the report (held-out) or tuning seeds. */
export function matrixRows(seeds: 'report' | 'tuning' | number[] = 'report'): MatrixRow[] {
  const list = seeds === 'report' ? REPORT_SEEDS : seeds === 'tuning' ? TUNING_SEEDS.slice(0, 3) : seeds;
  return [...REAL_ROWS, ...familyRows(list)];
}

/** Target utilisations tried for hpa-tuned, highest first. */
export const HPA_GRID = [1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1];

export interface RunFigures {
  attainment: number;
  ttft: number;
  itl: number;
  gpuHours: number;
  peakGpus: number;
  meets: boolean;
}

export interface RowResult {
  row: MatrixRow;
  requests: number;
  durationMinutes: number;
  runs: Record<string, RunFigures>;
  hpaTuned?: { utilization: number; run: RunFigures };
  fluid: { gpuHours: number; minimumGpuHours: number };
  /** The cheapest deployable baseline that meets the SLO (static, hpa, hpa-tuned, dynamo). */
  cheapest?: { name: string; gpuHours: number };
  checks: { meetsSlo: boolean; withinCheapest: boolean | undefined; withinFluid: boolean | undefined; minimumDominates: boolean };
  /** Rows whose load is a series of steps: how the policy's GPUs answered each (see stepResponse). */
  stepResponse?: StepResponse;
}

export interface StepResponse {
  /** Policy peak GPUs / oracle peak GPUs (the oracle stands in for hindsight). */
  peakRatio: number | undefined;
  /** Longest time from a step to the GPUs settling, and the goal: startup + 2 intervals. */
  worstSettleSeconds: number;
  settleGoalSeconds: number;
  /** Direction reversals of the policy's GPUs after settling, summed over the steps (0 = no oscillation). */
  reversals: number;
}

export interface MatrixOptions {
  rows?: MatrixRow[];
  seed?: number;
  /** Baseline runs (default static, hpa, dynamo, oracle) and the hpa-tuned search (default on). */
  baselines?: Baseline[];
  hpaTuned?: boolean;
  /** Change the spec of the policy run (e.g. an improvement off), not of the baselines. */
  policyOverride?: (spec: PolicySpec) => PolicySpec;
  onRow?: (result: RowResult) => void;
}

/** Minimum replicas' share of the fluid bound above which the bound says nothing about sizing. */
export const MINIMUM_DOMINATES = 0.5;

export function rowSpec(base: PolicySpec, slo: MatrixSlo): PolicySpec {
  return {
    ...base,
    slo: { ttft: { ms: slo.ttftMs, percentile: slo.percentile }, itl: { ms: slo.itlMs, percentile: slo.percentile } },
    budget: { ...base.budget, maxGpus: QUALITY_BUDGET.maxGpus },
    pools: base.pools.map((p) => ({ ...p, maxReplicas: Math.max(p.maxReplicas, QUALITY_BUDGET.maxReplicasPerPool) })),
  };
}

export function defaultSpec(): { spec: PolicySpec; profile: PerformanceProfile } {
  const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
  return { spec: loaded.spec, profile: loadProfile(loaded.spec.profile, loaded.baseDir) };
}

function figures(run: RunResult, slo: MatrixSlo): RunFigures {
  let peakGpus = 0;
  for (const record of run.intervals) peakGpus = Math.max(peakGpus, record.gpus);
  return {
    attainment: run.sloAttainment.both,
    ttft: run.sloAttainment.ttft,
    itl: run.sloAttainment.itl,
    gpuHours: run.gpuHours.total,
    peakGpus,
    meets: run.sloAttainment.both >= slo.percentile / 100,
  };
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return values.length ? sum / values.length : 0;
}

/** The hpa baseline at target utilisation u (the shipped baseline uses HPA_TARGET_UTILIZATION). */
export function hpaSpec(spec: PolicySpec, profile: PerformanceProfile, trace: Trace, u: number): PolicySpec {
  const base = hpaTargets(spec, profile, mean(trace.isl), mean(trace.osl));
  const scale = u / HPA_TARGET_UTILIZATION;
  return { ...spec, policy: 'hpa', hpa: { ...spec.hpa, prefillRequestsPerReplica: base.prefill * scale, decodeRequestsPerReplica: base.decode * scale } };
}

/**
 * The rough fluid bound (see the header). Per minute m and role: GPUs = sum over the minute's requests of their
 * token work / (profiled throughput per GPU x 60 s); decode throughput at the largest KV use whose ITL meets the SLO
 * at the request's context isl + osl/2. Never below the minimum replicas' GPUs.
 * Example: 300 requests of ISL 2000 in a minute at 2545 tok/s/GPU: 300 x 2000 / 2545 / 60 = 3.93 prefill GPUs.
 */
export function fluidBound(trace: Trace, spec: PolicySpec, profile: PerformanceProfile): { gpuHours: number; minimumGpuHours: number } {
  const minute = 60;
  const bins = Math.max(1, Math.ceil(trace.durationSeconds / minute));
  const prefill = new Float64Array(bins);
  const decode = new Float64Array(bins);
  const decodeThpt = new Map<number, number>();
  for (let i = 0; i < trace.arrival.length; i++) {
    const b = Math.min(bins - 1, Math.floor((trace.arrival[i] as number) / minute));
    const isl = trace.isl[i] as number;
    const osl = trace.osl[i] as number;
    prefill[b]! += isl / profile.prefillThptPerGpu(isl).value;
    const ctx = Math.round((isl + osl / 2) / 64) * 64;
    let thpt = decodeThpt.get(ctx);
    if (thpt === undefined) {
      thpt = profile.bestDecode(spec.slo.itl.ms, ctx).thptPerGpu;
      decodeThpt.set(ctx, thpt);
    }
    decode[b]! += osl / Math.max(1e-9, thpt);
  }
  const minGpus = { prefill: 0, decode: 0 };
  for (const pool of spec.pools) minGpus[pool.role] += pool.minReplicas * pool.gpusPerReplica;
  let gpuSeconds = 0;
  for (let b = 0; b < bins; b++) {
    gpuSeconds += Math.max(minGpus.prefill, (prefill[b] as number) / minute) * minute;
    gpuSeconds += Math.max(minGpus.decode, (decode[b] as number) / minute) * minute;
  }
  return { gpuHours: gpuSeconds / 3600, minimumGpuHours: ((minGpus.prefill + minGpus.decode) * bins * minute) / 3600 };
}

/** Times (s) at which a generated trace's rate steps, when it is a step load (the readme example, the step family). */
export function stepTimes(trace: string): number[] | undefined {
  if (isSyntheticSpec(trace)) {
    const spec = parseSyntheticSpec(trace);
    return spec.shape.kind === 'step' ? spec.shape.steps.map((x) => x.at).filter((t) => t > 0) : undefined;
  }
  if (isScenarioSpec(trace)) {
    const spec = parseScenarioSpec(trace);
    if (spec.family !== 'step') return undefined;
    const plan = scenarioPlan('step', spec.seed ?? 1);
    const times: number[] = [];
    for (let t = 1; t < plan.durationSeconds; t++) if (plan.rate(t) !== plan.rate(t - 1)) times.push(t);
    return times;
  }
  return undefined;
}

/**
 * Step response of a run: after each step, the time until the provisioned GPUs stay within max(1 replica, 10%) of
 * where they end before the next step, the direction reversals after that, and the peak against the oracle's.
 * Example: a step at 600 s, GPUs 8, 8, 24, 40, 44, 40, 40 ... at the 60 s ticks after it, ending at 40: settled
 * from the 4th tick (240 s), then one reversal (44 -> 40 is a turn after 40 -> 44).
 */
export function stepResponse(run: RunResult, oracle: RunResult | undefined, steps: number[], spec: PolicySpec): StepResponse {
  const startup = Math.max(...spec.pools.map((p) => p.startupSeconds));
  const replicaGpus = Math.max(...spec.pools.map((p) => p.gpusPerReplica));
  const bounds = [...steps, Infinity];
  let worst = 0;
  let reversals = 0;
  for (let i = 0; i < steps.length; i++) {
    const from = steps[i] as number;
    const to = bounds[i + 1] as number;
    const seg = run.intervals.filter((r) => r.t > from && r.t <= to);
    if (seg.length === 0) continue;
    const final = (seg[seg.length - 1] as { gpus: number }).gpus;
    const band = Math.max(replicaGpus, 0.1 * final);
    let settledIndex = seg.length - 1;
    for (let k = seg.length - 1; k >= 0 && Math.abs((seg[k] as { gpus: number }).gpus - final) <= band; k--) settledIndex = k;
    worst = Math.max(worst, (seg[settledIndex] as { t: number }).t - from);
    let direction = 0;
    for (let k = settledIndex + 1; k < seg.length; k++) {
      const d = Math.sign((seg[k] as { gpus: number }).gpus - (seg[k - 1] as { gpus: number }).gpus);
      if (d !== 0 && direction !== 0 && d !== direction) reversals++;
      if (d !== 0) direction = d;
    }
  }
  const peak = (r: RunResult) => Math.max(...r.intervals.map((x) => x.gpus));
  return { peakRatio: oracle ? peak(run) / peak(oracle) : undefined, worstSettleSeconds: worst, settleGoalSeconds: startup + 2 * spec.interval, reversals };
}

export async function runMatrix(options: MatrixOptions = {}): Promise<RowResult[]> {
  const { spec: base, profile } = defaultSpec();
  const seed = options.seed ?? 1;
  const baselines = options.baselines ?? ['static', 'hpa', 'dynamo', 'perfect-forecast'];
  const results: RowResult[] = [];
  for (const row of options.rows ?? matrixRows()) {
    const spec = rowSpec(base, row.slo);
    const trace = await readTrace(row.trace, { rateScale: row.rateScale, seed });
    const policySpec = options.policyOverride ? options.policyOverride(spec) : spec;
    const runs: Record<string, RunFigures> = {};
    const policyRun = await simulate({ spec: policySpec, profile, trace, baselines: [], seed });
    runs.policy = figures(policyRun.runs[0] as RunResult, row.slo);
    let oracleRun: RunResult | undefined;
    if (baselines.length > 0) {
      const other = await simulate({ spec, profile, trace, baselines, seed });
      for (const run of other.runs) if (run.policy !== 'policy') runs[run.policy] = figures(run, row.slo);
      oracleRun = other.runs.find((r) => r.policy === 'perfect-forecast');
    }
    const steps = stepTimes(row.trace);
    let hpaTuned: RowResult['hpaTuned'];
    if (options.hpaTuned !== false) {
      for (const u of HPA_GRID) {
        const r = await simulate({ spec: hpaSpec(spec, profile, trace, u), profile, trace, baselines: [], seed });
        const f = figures(r.runs[0] as RunResult, row.slo);
        if (f.meets) {
          hpaTuned = { utilization: u, run: f };
          break;
        }
      }
    }
    const fluid = fluidBound(trace, spec, profile);
    const candidates: [string, RunFigures | undefined][] = [
      ['static', runs.static],
      ['hpa', runs.hpa],
      ['hpa-tuned', hpaTuned?.run],
      ['dynamo', runs.dynamo],
    ];
    let cheapest: RowResult['cheapest'];
    for (const [name, f] of candidates) if (f?.meets && (cheapest === undefined || f.gpuHours < cheapest.gpuHours)) cheapest = { name, gpuHours: f.gpuHours };
    const ours = runs.policy;
    const minimumDominates = fluid.minimumGpuHours > MINIMUM_DOMINATES * fluid.gpuHours;
    const result: RowResult = {
      row,
      requests: trace.arrival.length,
      durationMinutes: trace.durationSeconds / 60,
      runs,
      ...(hpaTuned ? { hpaTuned } : {}),
      fluid,
      ...(cheapest ? { cheapest } : {}),
      ...(steps ? { stepResponse: stepResponse(policyRun.runs[0] as RunResult, oracleRun, steps, policySpec) } : {}),
      checks: {
        meetsSlo: ours.meets,
        withinCheapest: cheapest === undefined ? undefined : ours.gpuHours <= cheapest.gpuHours,
        withinFluid: minimumDominates ? undefined : ours.gpuHours <= 1.3 * fluid.gpuHours,
        minimumDominates,
      },
    };
    results.push(result);
    options.onRow?.(result);
  }
  return results;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const gh = (x: number) => x.toFixed(1);
const mark = (b: boolean | undefined) => (b === undefined ? '–' : b ? 'yes' : '**no**');

/** One Markdown table: a row per trace, the policy and each baseline as attainment / GPU-h, then the checks. */
export function formatMatrix(results: RowResult[]): string {
  const lines = [
    '| trace | SLO | policy | oracle | static | hpa | hpa-tuned | dynamo | fluid | cheapest ok | policy / cheapest | policy / fluid | SLO met | <= cheapest | <= 1.3 fluid |',
    '|---|---|---|---|---|---|---|---|---:|---|---:|---:|---|---|---|',
  ];
  const cell = (f: RunFigures | undefined) => (f ? `${pct(f.attainment)} / ${gh(f.gpuHours)}` : '–');
  for (const r of results) {
    const p = r.runs.policy as RunFigures;
    const tuned = r.hpaTuned ? `${cell(r.hpaTuned.run)} (u ${r.hpaTuned.utilization})` : 'none meets';
    lines.push(
      `| ${[
        r.row.name,
        `p${r.row.slo.percentile} ${r.row.slo.ttftMs / 1000}s/${r.row.slo.itlMs}ms`,
        cell(p),
        cell(r.runs['perfect-forecast']),
        cell(r.runs.static),
        cell(r.runs.hpa),
        tuned,
        cell(r.runs.dynamo),
        gh(r.fluid.gpuHours) + (r.checks.minimumDominates ? ' (min)' : ''),
        r.cheapest ? `${r.cheapest.name} ${gh(r.cheapest.gpuHours)}` : 'none',
        r.cheapest ? (p.gpuHours / r.cheapest.gpuHours).toFixed(2) : '–',
        (p.gpuHours / r.fluid.gpuHours).toFixed(2),
        mark(r.checks.meetsSlo),
        mark(r.checks.withinCheapest),
        mark(r.checks.withinFluid),
      ].join(' | ')} |`,
    );
  }
  const n = results.length;
  const count = (f: (r: RowResult) => boolean | undefined) => results.filter((r) => f(r) === true).length;
  const applicable = (f: (r: RowResult) => boolean | undefined) => results.filter((r) => f(r) !== undefined).length;
  lines.push(
    '',
    `SLO met on ${count((r) => r.checks.meetsSlo)} of ${n} rows; GPU-h <= the cheapest baseline that meets the SLO on ${count((r) => r.checks.withinCheapest)} of ${applicable((r) => r.checks.withinCheapest)} (rows where one does); <= 1.3 x the fluid bound on ${count((r) => r.checks.withinFluid)} of ${applicable((r) => r.checks.withinFluid)} (rows where the minimum replicas do not dominate).`,
    'Cells: attainment (TTFT and ITL together) / GPU-hours.',
  );
  const stepped = results.filter((r) => r.stepResponse);
  if (stepped.length > 0) {
    lines.push('', 'Step response (goal: peak <= 1.3 x the oracle peak, settled within startup + 2 intervals, no reversal after settling):', '');
    lines.push('| trace | peak / oracle peak | worst settle (s) | goal (s) | reversals |', '|---|---:|---:|---:|---:|');
    for (const r of stepped) {
      const x = r.stepResponse as StepResponse;
      lines.push(`| ${r.row.name} | ${x.peakRatio === undefined ? '–' : x.peakRatio.toFixed(2)} | ${x.worstSettleSeconds} | ${x.settleGoalSeconds} | ${x.reversals} |`);
    }
  }
  return lines.join('\n');
}

/** Improvements switched off one at a time in the ablation (the forecaster's bound is `forecaster.confidence` 0). */
export const ABLATION = ['percentile', 'ttftOvershoot', 'leadTime', 'queueAware', 'burst', 'correctionGuard', 'sloFeedback', 'fastPath', 'trendBound'] as const;

export interface AblationRow {
  off: string;
  /** Per matrix row: attainment and GPU-hours of the policy with this improvement off. */
  rows: { name: string; attainment: number; gpuHours: number; meets: boolean }[];
}

/** The policy run of every row with one improvement off at a time (no baselines). */
export async function runAblation(rows: MatrixRow[], seed = 1): Promise<AblationRow[]> {
  const out: AblationRow[] = [];
  for (const off of ABLATION) {
    const policyOverride = (spec: PolicySpec): PolicySpec =>
      off === 'trendBound'
        ? { ...spec, forecaster: { ...spec.forecaster, confidence: 0 } }
        : { ...spec, sla: { ...spec.sla, improvements: { ...spec.sla.improvements, [off]: false } } };
    const results = await runMatrix({ rows, seed, baselines: [], hpaTuned: false, policyOverride });
    out.push({ off, rows: results.map((r) => ({ name: r.row.name, attainment: r.runs.policy!.attainment, gpuHours: r.runs.policy!.gpuHours, meets: r.runs.policy!.meets })) });
  }
  return out;
}

/** The ablation as one table: per improvement switched off, rows meeting the SLO and GPU-hours against the defaults. */
export function formatAblation(defaults: RowResult[], ablation: AblationRow[]): string {
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const baseGpu = total(defaults.map((r) => r.runs.policy!.gpuHours));
  const baseMet = defaults.filter((r) => r.runs.policy!.meets).length;
  const meanAtt = (xs: number[]) => (100 * total(xs)) / xs.length;
  const lines = [
    '| switched off | rows meeting the SLO | mean attainment | GPU-h (all rows) | vs defaults | rows that change most |',
    '|---|---:|---:|---:|---:|---|',
    `| (none: the defaults) | ${baseMet} of ${defaults.length} | ${meanAtt(defaults.map((r) => r.runs.policy!.attainment)).toFixed(1)}% | ${baseGpu.toFixed(0)} | 1.00 | |`,
  ];
  for (const a of ablation) {
    const gpu = total(a.rows.map((r) => r.gpuHours));
    const changes = a.rows
      .map((r, i) => ({ name: r.name, dAtt: r.attainment - defaults[i]!.runs.policy!.attainment, dGpu: r.gpuHours / defaults[i]!.runs.policy!.gpuHours - 1 }))
      .sort((x, y) => Math.abs(y.dAtt) * 10 + Math.abs(y.dGpu) - (Math.abs(x.dAtt) * 10 + Math.abs(x.dGpu)))
      .slice(0, 3)
      .map((c) => `${c.name} ${c.dAtt >= 0 ? '+' : ''}${(100 * c.dAtt).toFixed(1)} pt, ${c.dGpu >= 0 ? '+' : ''}${(100 * c.dGpu).toFixed(0)}% GPU-h`);
    lines.push(
      `| ${a.off === 'trendBound' ? 'forecast upper bound (forecaster.confidence 0)' : a.off} | ${a.rows.filter((r) => r.meets).length} of ${a.rows.length} | ${meanAtt(a.rows.map((r) => r.attainment)).toFixed(1)}% | ${gpu.toFixed(0)} | ${(gpu / baseGpu).toFixed(2)} | ${changes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}

