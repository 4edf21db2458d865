/**
 * The quality matrix: the default `sla` policy on the bundled traces at several rate scales and on the scenario
 * families (src/sim/scenarios/), next to the official yardsticks (src/sim/yardsticks/, docs/yardsticks.md), every
 * run from the same neutral warm start:
 * - `bound`: the strict fluid lower bound (no schedule that meets the SLO costs less);
 * - `hindsight`: the cheapest schedule found with the whole trace known that meets the SLO;
 * - `static`: each pool fixed at hindsight's peak;
 * - `hpa-tuned`: HPA at the cheapest target utilisation on its grid that meets the SLO;
 * - `dynamo`: NVIDIA Dynamo's SLA planner as it ships (its loop, interpolation and budget rule).
 *
 *   npm run bench -- matrix                      all rows, held-out seeds, written to bench/RESULTS.md
 *   npx tsx bench/matrix-run.ts [options]        print only; --help lists the options
 *
 * Goal per row (the checks columns): attainment (TTFT and ITL together) >= the SLO percentile; GPU-hours no more
 * than the cheapest deployable baseline that meets the SLO (static, hpa-tuned, dynamo); at most 1.3 x the bound
 * where the minimum replicas do not dominate it. "Dominate": the pools' minimum replicas held over the whole trace
 * are at least MINIMUM_DOMINATES (half) of the bound's GPU-hours; the bound is then mostly the floor any planner
 * pays, and a factor over it says little about sizing. Example: 1 prefill + 1 decode replica of 4 GPUs for 1 h is
 * 8 GPU-h; against a bound of 12 GPU-h they are 67% of it: the row is not judged on the bound.
 *
 * Cost: the yardsticks and baselines of a row do not depend on the policy under test, so they are computed once per
 * row, trace and seed and kept in memory (yardstickCache): an ablation or a tuning loop in the same process replays
 * only the policy.
 *
 * What differs from the embedded default policy (src/sim/default-policy.ts), and why: the budget is lifted to 256 GPUs
 * and 32 replicas per pool (QUALITY_BUDGET), so that no run is held at the budget; and each row sets its SLO.
 * Real traces keep the bench/quality.ts SLOs (p95; TTFT 2 s, Mooncake 8 s; ITL 60 ms); the scenario families use the
 * issue's SLO, p90 TTFT 2 s and ITL 45 ms.
 */
import type { GpuLayers } from '../src/planner/gpu-layers.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parsePolicyText } from '../src/config/load.js';
import type { PolicySpec } from '../src/config/schema.js';
import { loadProfile } from '../src/profiles/load.js';
import type { PerformanceProfile } from '../src/profiles/types.js';
import { staticSpec } from '../src/sim/baselines.js';
import { DEFAULT_POLICY_YAML } from '../src/sim/default-policy.js';
import { dynamoShipsDriver } from '../src/sim/dynamo-ships/loop.js';
import { binTrace } from '../src/sim/intervals.js';
import { plannerDriver, replay } from '../src/sim/replay.js';
import { findReserve } from '../src/sim/reserve.js';
import { simulate } from '../src/sim/run.js';
import { FAMILIES, REPORT_SEEDS, TUNING_SEEDS, isScenarioSpec, parseScenarioSpec, scenarioPlan, type Family } from '../src/sim/scenarios/index.js';
import { BUNDLED_TRACES, isSyntheticSpec, parseSyntheticSpec, readTrace } from '../src/sim/traces/index.js';
import type { RunResult, Trace } from '../src/sim/types.js';
import { surprise } from '../src/sim/yardsticks/surprise.js';
import { sloTarget, yardsticks, type FluidBound, type HindsightResult } from '../src/sim/yardsticks/index.js';
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
export function matrixRows(seeds: 'report' | 'tuning' | readonly number[] = 'report'): MatrixRow[] {
  const list = seeds === 'report' ? REPORT_SEEDS : seeds === 'tuning' ? TUNING_SEEDS.slice(0, 3) : seeds;
  return [...REAL_ROWS, ...familyRows(list)];
}

/** A small subset for a quick look (`--quick`): two real rows and every family at one seed. */
export function quickRows(seed: number = REPORT_SEEDS[0] as number): MatrixRow[] {
  return [...REAL_ROWS.filter((r) => r.name === 'azure-code x2' || r.name === 'mooncake x1'), ...familyRows([seed])];
}

export interface RunFigures {
  attainment: number;
  ttft: number;
  itl: number;
  gpuHours: number;
  xBound: number;
  xHindsight: number;
  peakGpus: number;
  meets: boolean;
  /** The desired GPU-hours by what asked for them (runs of the planner only; src/planner/gpu-layers.ts). */
  layers?: GpuLayers;
}

/** The runs that are candidates for "the cheapest deployable baseline". */
export const DEPLOYABLE = ['static', 'hpa-tuned', 'dynamo'] as const;

export interface RowResult {
  row: MatrixRow;
  requests: number;
  durationMinutes: number;
  bound: FluidBound;
  /** The pools' minimum replicas held over the trace (GPU-hours), and whether they dominate the bound. */
  minimumGpuHours: number;
  /** policy, hindsight, and (unless skipped) static, hpa-tuned, dynamo. */
  runs: Record<string, RunFigures>;
  hpaTunedUtilization?: number;
  /** The cheapest deployable baseline that meets the SLO. */
  cheapest?: { name: string; gpuHours: number };
  checks: { meetsSlo: boolean; withinCheapest: boolean | undefined; withinBound: boolean | undefined; minimumDominates: boolean };
  /** Rows whose load is a series of steps: how the policy's GPUs answered each (see stepResponse). */
  stepResponse?: StepResponse;
  /** Loads that jump without a precursor (step, flash, idle, the README step): the surprise share (src/sim/yardsticks/surprise.ts). */
  surprise?: number;
  /** Those rows: the policy's misses in its first episode of intervals below the SLO, as a share of the trace. */
  firstEpisode?: { fromSeconds: number; toSeconds: number; missShare: number };
  /**
   * Those rows, when the policy misses the SLO: the standing reserve `pd-planner reserve` finds (src/sim/reserve.ts),
   * found on the row's own trace as static and hpa-tuned are; null when no reserve tried meets the SLO.
   */
  reserve?: { prefill: number; decode: number; attainment: number; gpuHours: number; runs: number } | null;
}

/** The rows whose surprise is reported. */
const JUMPS: readonly MatrixRow['kind'][] = ['step', 'flash', 'idle', 'readme'];

export interface StepResponse {
  /** Policy peak GPUs / hindsight's peak GPUs. */
  peakRatio: number;
  /** Longest time from a step to the GPUs settling (steps up, steps down), and the goal: startup + 2 intervals. */
  worstSettleSeconds: number;
  worstSettleUpSeconds: number;
  worstSettleDownSeconds: number;
  settleGoalSeconds: number;
  /** Direction reversals of the policy's GPUs after settling, summed over the steps (0 = no oscillation). */
  reversals: number;
}

export interface MatrixOptions {
  rows?: MatrixRow[];
  seed?: number;
  /** Run static, hpa-tuned and dynamo (default true); hindsight and the bound are always computed. */
  baselines?: boolean;
  /** Change the spec of the policy run (e.g. an improvement off), not of the yardsticks. */
  policyOverride?: (spec: PolicySpec) => PolicySpec;
  onRow?: (result: RowResult) => void;
  /** On rows that jump and miss the SLO, also search the standing reserve that meets it (RowResult.reserve). */
  reserve?: boolean;
}

/** Share of the bound that the minimum replicas must reach to "dominate" it (see the header). */
export const MINIMUM_DOMINATES = 0.5;
/** The goal's factor over the bound. */
export const BOUND_FACTOR = 1.3;

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

function peakGpus(run: RunResult): number {
  let peak = 0;
  for (const record of run.intervals) peak = Math.max(peak, record.gpus);
  return peak;
}

function figures(run: RunResult, spec: PolicySpec, bound: number, hindsight: number): RunFigures {
  return {
    attainment: run.sloAttainment.both,
    ttft: run.sloAttainment.ttft,
    itl: run.sloAttainment.itl,
    gpuHours: run.gpuHours.total,
    xBound: run.gpuHours.total / bound,
    xHindsight: run.gpuHours.total / hindsight,
    peakGpus: peakGpus(run),
    meets: run.sloAttainment.both >= sloTarget(spec) - 1e-12,
    ...(run.desiredGpuHours ? { layers: run.desiredGpuHours } : {}),
  };
}

/** A row's trace, yardsticks and baseline runs: everything that does not depend on the policy under test. */
export interface RowYardsticks {
  trace: Trace;
  spec: PolicySpec;
  bound: FluidBound;
  start: Record<string, number>;
  hindsight: HindsightResult;
  baselines?: { static: RunResult; 'hpa-tuned': RunResult; dynamo: RunResult; hpaTunedUtilization: number };
}

/** Yardsticks per row, trace, rate, SLO and seed, kept for the life of the process (see the header). */
const yardstickCache = new Map<string, Promise<RowYardsticks>>();
/** A directory where the yardsticks are also kept between processes (bench/tune.ts --cache), or undefined. */
let diskCache: string | undefined;

/**
 * Keep the yardsticks in `dir` as well (one JSON file per row, trace, rate, SLO and seed), for tuning runs that start
 * a process per variant. They are kept under a fingerprint of the code they come from (sourceFingerprint), so a
 * change to the cluster model, a baseline, the constraints or the default policy is never read against yardsticks an
 * older version wrote; the `sla` policy under test is left out of it, so its variants share them.
 */
export function setYardstickCacheDir(dir: string | undefined): void {
  diskCache = dir === undefined ? undefined : path.join(dir, sourceFingerprint());
}

/** What the yardsticks do not depend on: the policy under test. */
const NOT_YARDSTICK_SOURCE = path.join('src', 'policies', 'sla') + path.sep;

/**
 * 16 hex digits of a SHA-256 over the path and content of every .ts file under src/ except the `sla` policy, and of
 * this file: the code the yardsticks are computed with. Example: editing src/constraints/spot.ts changes it (hpa-tuned
 * and static run through the constraints); editing src/policies/sla/slo-feedback.ts does not.
 */
export function sourceFingerprint(root = path.resolve(import.meta.dirname, '..')): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts') && !path.relative(root, full).startsWith(NOT_YARDSTICK_SOURCE)) files.push(full);
    }
  };
  walk(path.join(root, 'src'));
  files.push(path.join(root, 'bench', 'matrix.ts'));
  const hash = createHash('sha256');
  for (const file of files.sort()) hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function peakOf(schedule: readonly Record<string, number>[]): Record<string, number> {
  const peak: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const step of schedule) for (const [pool, n] of Object.entries(step)) peak[pool] = Math.max(peak[pool] ?? 0, n);
  return peak;
}

export function rowYardsticks(row: MatrixRow, seed: number, withBaselines: boolean): Promise<RowYardsticks> {
  const key = JSON.stringify([row.trace, row.rateScale, row.slo, seed, withBaselines]);
  const full = JSON.stringify([row.trace, row.rateScale, row.slo, seed, true]);
  const cached = yardstickCache.get(key) ?? yardstickCache.get(full);
  if (cached) return cached;
  const made = diskCache ? fromDisk(diskCache, key, row, seed, withBaselines) : computeYardsticks(row, seed, withBaselines);
  yardstickCache.set(key, made);
  return made;
}

async function fromDisk(dir: string, key: string, row: MatrixRow, seed: number, withBaselines: boolean): Promise<RowYardsticks> {
  const file = path.join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.json`);
  if (fs.existsSync(file)) {
    // The spec is rebuilt, not read: the policy's own fields (its defaults) may have changed since the file was written.
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Omit<RowYardsticks, 'trace' | 'spec'>;
    return { ...stored, spec: rowSpec(defaultSpec().spec, row.slo), trace: await readTrace(row.trace, { rateScale: row.rateScale, seed }) };
  }
  const made = await computeYardsticks(row, seed, withBaselines);
  fs.mkdirSync(dir, { recursive: true });
  const { trace: _trace, spec: _spec, ...stored } = made;
  fs.writeFileSync(file, JSON.stringify(stored));
  return made;
}

async function computeYardsticks(row: MatrixRow, seed: number, withBaselines: boolean): Promise<RowYardsticks> {
  const { spec: base, profile } = defaultSpec();
  const spec = rowSpec(base, row.slo);
  const trace = await readTrace(row.trace, { rateScale: row.rateScale, seed });
  const y = await yardsticks(spec, profile, trace, seed, { withHpaTuned: withBaselines });
  const out: RowYardsticks = { trace, spec, bound: y.bound, start: y.start, hindsight: y.hindsight };
  if (withBaselines && y.hpaTuned) {
    const bins = binTrace(trace, spec.interval);
    const peak = peakOf(y.hindsight.desired);
    const fixed = staticSpec(spec, peak);
    const staticRun = await replay({ name: 'static', kind: 'static', spec: fixed, profile, trace, bins, initial: peak, seed, driver: plannerDriver({ spec: fixed, profile, trace, bins, initial: peak }) });
    const dynamoRun = await replay({ name: 'dynamo', kind: 'dynamo', spec, profile, trace, bins, initial: y.start, seed, driver: dynamoShipsDriver(spec, profile, y.start) });
    out.baselines = { static: staticRun, 'hpa-tuned': y.hpaTuned.run, dynamo: dynamoRun, hpaTunedUtilization: y.hpaTuned.utilization };
  }
  return out;
}


/**
 * The first episode of a run: the first stretch of consecutive intervals whose attainment is below the SLO's share,
 * and the requests it missed (1 - attainment of each interval x its requests) as a share of the trace's requests.
 * Example: intervals of 500 requests at 100%, 20%, 0%, 60%, 100%: the episode is intervals 1-3, missing 400 + 500
 * + 200 = 1100 of 2500 = 44%.
 */
export function firstEpisode(run: RunResult, spec: PolicySpec): RowResult['firstEpisode'] {
  const goal = sloTarget(spec);
  let total = 0;
  for (const r of run.intervals) total += r.requests;
  let start = -1;
  let missed = 0;
  for (let k = 0; k < run.intervals.length; k++) {
    const r = run.intervals[k] as RunResult['intervals'][number];
    const below = r.attainment !== undefined && r.attainment < goal;
    if (below) {
      if (start < 0) start = k;
      missed += (1 - (r.attainment as number)) * r.requests;
    } else if (start >= 0) {
      return { fromSeconds: (run.intervals[start] as { t: number }).t - spec.interval, toSeconds: (run.intervals[k - 1] as { t: number }).t, missShare: total > 0 ? missed / total : 0 };
    }
  }
  return start < 0 ? undefined : { fromSeconds: (run.intervals[start] as { t: number }).t - spec.interval, toSeconds: (run.intervals.at(-1) as { t: number }).t, missShare: total > 0 ? missed / total : 0 };
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
 * where they end before the next step, the direction reversals after that, and the peak against hindsight's.
 * Example: a step at 600 s, GPUs 8, 8, 24, 40, 44, 40, 40 ... at the 60 s ticks after it, ending at 40: settled
 * from the 4th tick (240 s), then one reversal (44 -> 40 is a turn after 40 -> 44).
 */
export function stepResponse(run: RunResult, hindsight: RunResult, steps: number[], spec: PolicySpec): StepResponse {
  const startup = Math.max(...spec.pools.map((p) => p.startupSeconds));
  const replicaGpus = Math.max(...spec.pools.map((p) => p.gpusPerReplica));
  const bounds = [...steps, Infinity];
  let worstUp = 0;
  let worstDown = 0;
  let reversals = 0;
  for (let i = 0; i < steps.length; i++) {
    const from = steps[i] as number;
    const to = bounds[i + 1] as number;
    const seg = run.intervals.filter((r) => r.t > from && r.t <= to);
    if (seg.length === 0) continue;
    const before = run.intervals.filter((r) => r.t <= from).at(-1)?.gpus ?? (seg[0] as { gpus: number }).gpus;
    const final = (seg[seg.length - 1] as { gpus: number }).gpus;
    const band = Math.max(replicaGpus, 0.1 * final);
    let settledIndex = seg.length - 1;
    for (let k = seg.length - 1; k >= 0 && Math.abs((seg[k] as { gpus: number }).gpus - final) <= band; k--) settledIndex = k;
    const settle = (seg[settledIndex] as { t: number }).t - from;
    if (final >= before) worstUp = Math.max(worstUp, settle);
    else worstDown = Math.max(worstDown, settle);
    let direction = 0;
    for (let k = settledIndex + 1; k < seg.length; k++) {
      const d = Math.sign((seg[k] as { gpus: number }).gpus - (seg[k - 1] as { gpus: number }).gpus);
      if (d !== 0 && direction !== 0 && d !== direction) reversals++;
      if (d !== 0) direction = d;
    }
  }
  return {
    peakRatio: peakGpus(run) / peakGpus(hindsight),
    worstSettleSeconds: Math.max(worstUp, worstDown),
    worstSettleUpSeconds: worstUp,
    worstSettleDownSeconds: worstDown,
    settleGoalSeconds: startup + 2 * spec.interval,
    reversals,
  };
}

export async function runMatrix(options: MatrixOptions = {}): Promise<RowResult[]> {
  const { profile } = defaultSpec();
  const seed = options.seed ?? 1;
  const withBaselines = options.baselines !== false;
  const results: RowResult[] = [];
  for (const row of options.rows ?? matrixRows()) {
    const y = await rowYardsticks(row, seed, withBaselines);
    const { spec, trace, bound } = y;
    const policySpec = options.policyOverride ? options.policyOverride(spec) : spec;
    const policyRun = (await simulate({ spec: policySpec, profile, trace, baselines: [], seed, start: y.start, bound })).runs[0] as RunResult;
    const hs = y.hindsight.run.gpuHours.total;
    const fig = (run: RunResult) => figures(run, spec, bound.gpuHours, hs);
    const runs: Record<string, RunFigures> = { policy: fig(policyRun), hindsight: fig(y.hindsight.run) };
    if (y.baselines) for (const name of DEPLOYABLE) runs[name] = fig(y.baselines[name]);
    let cheapest: RowResult['cheapest'];
    for (const name of DEPLOYABLE) {
      const f = runs[name];
      if (f?.meets && (cheapest === undefined || f.gpuHours < cheapest.gpuHours)) cheapest = { name, gpuHours: f.gpuHours };
    }
    let minimumGpus = 0;
    for (const pool of spec.pools) minimumGpus += pool.minReplicas * pool.gpusPerReplica;
    const minimumGpuHours = (minimumGpus * trace.durationSeconds) / 3600;
    const minimumDominates = minimumGpuHours >= MINIMUM_DOMINATES * bound.gpuHours;
    const ours = runs.policy as RunFigures;
    const steps = stepTimes(row.trace);
    const result: RowResult = {
      row,
      requests: trace.arrival.length,
      durationMinutes: trace.durationSeconds / 60,
      bound,
      minimumGpuHours,
      runs,
      ...(y.baselines ? { hpaTunedUtilization: y.baselines.hpaTunedUtilization } : {}),
      ...(cheapest ? { cheapest } : {}),
      ...(steps ? { stepResponse: stepResponse(policyRun, y.hindsight.run, steps, policySpec) } : {}),
      ...(JUMPS.includes(row.kind) ? { surprise: surprise(spec, trace).share } : {}),
      ...(JUMPS.includes(row.kind) && firstEpisode(policyRun, spec) ? { firstEpisode: firstEpisode(policyRun, spec) } : {}),
      checks: {
        meetsSlo: ours.meets,
        withinCheapest: cheapest === undefined ? undefined : ours.gpuHours <= cheapest.gpuHours,
        withinBound: minimumDominates ? undefined : ours.gpuHours <= BOUND_FACTOR * bound.gpuHours,
        minimumDominates,
      },
    };
    if (options.reserve && JUMPS.includes(row.kind) && !ours.meets) {
      const search = await findReserve({ spec: policySpec, profile, traces: [trace], seed });
      result.reserve = search.best
        ? { ...search.best.reserve, attainment: search.best.attainment, gpuHours: search.best.gpuHours, runs: search.trials.length }
        : null;
    }
    results.push(result);
    options.onRow?.(result);
  }
  return results;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const mark = (b: boolean | undefined) => (b === undefined ? '–' : b ? 'yes' : '**no**');

/** One cell: attainment / GPU-h / x bound / x hindsight; a miss of the SLO in bold. */
function cell(f: RunFigures | undefined): string {
  if (!f) return '–';
  const att = f.meets ? pct(f.attainment) : `**${pct(f.attainment)}**`;
  return `${att} / ${f.gpuHours.toFixed(1)} / ${f.xBound.toFixed(2)} / ${f.xHindsight.toFixed(2)}`;
}

/** One Markdown table: a row per trace, the policy and each baseline, then the checks; a summary and the step response. */
export function formatMatrix(results: RowResult[]): string {
  const lines = [
    '| trace | SLO | bound GPU-h | policy | hindsight | static | hpa-tuned | dynamo | cheapest that meets | policy / cheapest | SLO met | <= cheapest | <= 1.3 x bound |',
    '|---|---|---:|---|---|---|---|---|---|---:|---|---|---|',
  ];
  for (const r of results) {
    const p = r.runs.policy as RunFigures;
    const tuned = r.runs['hpa-tuned'] ? `${cell(r.runs['hpa-tuned'])} (u ${r.hpaTunedUtilization})` : '–';
    lines.push(
      `| ${[
        r.row.name,
        `p${r.row.slo.percentile} ${r.row.slo.ttftMs / 1000}s/${r.row.slo.itlMs}ms`,
        r.bound.gpuHours.toFixed(1) + (r.checks.minimumDominates ? ' (min)' : ''),
        cell(p),
        cell(r.runs.hindsight),
        cell(r.runs.static),
        tuned,
        cell(r.runs.dynamo),
        r.cheapest ? `${r.cheapest.name} ${r.cheapest.gpuHours.toFixed(1)}` : r.runs.static ? 'none' : '–',
        r.cheapest ? (p.gpuHours / r.cheapest.gpuHours).toFixed(2) : '–',
        mark(r.checks.meetsSlo),
        mark(r.checks.withinCheapest),
        mark(r.checks.withinBound),
      ].join(' | ')} |`,
    );
  }
  const n = results.length;
  const count = (f: (r: RowResult) => boolean | undefined) => results.filter((r) => f(r) === true).length;
  const applicable = (f: (r: RowResult) => boolean | undefined) => results.filter((r) => f(r) !== undefined).length;
  const judged = results.filter((r) => !r.checks.minimumDominates);
  const hindsightWithin = judged.filter((r) => (r.runs.hindsight as RunFigures).xBound <= BOUND_FACTOR).length;
  const all = results.filter((r) => r.checks.meetsSlo && r.checks.withinCheapest !== false && r.checks.withinBound !== false).length;
  lines.push(
    '',
    `Cells: attainment (TTFT and ITL together; **bold** = misses the SLO) / GPU-hours / x bound / x hindsight. "(min)": the pools' minimum replicas are at least ${MINIMUM_DOMINATES * 100}% of the bound, so the row is not judged on it.`,
    '',
    `SLO met on ${count((r) => r.checks.meetsSlo)} of ${n} rows; GPU-h <= the cheapest deployable baseline that meets the SLO on ${count((r) => r.checks.withinCheapest)} of ${applicable((r) => r.checks.withinCheapest)} (rows where one does); ` +
      `<= ${BOUND_FACTOR} x the bound on ${count((r) => r.checks.withinBound)} of ${applicable((r) => r.checks.withinBound)} (rows where the minimum replicas do not dominate; hindsight itself is within it on ${hindsightWithin} of them); all three on ${all} of ${n}.`,
  );
  const stepped = results.filter((r) => r.stepResponse);
  if (stepped.length > 0) {
    lines.push('', "Step response (goal: peak <= 1.3 x hindsight's peak, settled within startup + 2 intervals, no reversal after settling):", '');
    lines.push("| trace | peak / hindsight's peak | worst settle after a step up (s) | after a step down (s) | goal (s) | reversals |", '|---|---:|---:|---:|---:|---:|');
    for (const r of stepped) {
      const x = r.stepResponse as StepResponse;
      lines.push(`| ${r.row.name} | ${x.peakRatio.toFixed(2)} | ${x.worstSettleUpSeconds} | ${x.worstSettleDownSeconds} | ${x.settleGoalSeconds} | ${x.reversals} |`);
    }
  }
  return lines.join('\n');
}

/**
 * Loads that jump without a precursor: the surprise (src/sim/yardsticks/surprise.ts) against the SLO's allowance, what the policy
 * reached, and what it took to meet the SLO (hindsight, which knows the future; the cheapest deployable baseline).
 */
export function formatSurprise(results: RowResult[]): string {
  const rows = results.filter((r) => r.surprise !== undefined);
  if (rows.length === 0) return '';
  const lines = [
    '| trace | surprise | allowed misses | policy | policy misses in its first episode | policy with the reserve `reserve` finds | hindsight | cheapest deployable that meets |',
    '|---|---:|---:|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const p = r.runs.policy as RunFigures;
    const h = r.runs.hindsight as RunFigures;
    lines.push(
      `| ${r.row.name} | ${pct(r.surprise as number)} | ${(100 - r.row.slo.percentile).toFixed(0)}% | ${pct(p.attainment)}, ${p.gpuHours.toFixed(1)} GPU-h | ${r.firstEpisode ? `${pct(r.firstEpisode.missShare)} (minutes ${r.firstEpisode.fromSeconds / 60}-${r.firstEpisode.toSeconds / 60})` : 'none'} | ${reserveCell(r)} | ${pct(h.attainment)}, ${h.gpuHours.toFixed(1)} GPU-h | ${r.cheapest ? `${r.cheapest.name}: ${pct((r.runs[r.cheapest.name] as RunFigures).attainment)}, ${r.cheapest.gpuHours.toFixed(1)} GPU-h (${(r.cheapest.gpuHours / h.gpuHours).toFixed(2)} x hindsight)` : r.runs.static ? 'none' : '–'} |`,
    );
  }
  return lines.join('\n');
}

/** "prefill 2 / decode 4 always running: 93.1%, 59.6 GPU-h (0.95 x cheapest)"; "–" where the policy meets the SLO as written. */
function reserveCell(r: RowResult): string {
  if (r.reserve === undefined) return '–';
  if (r.reserve === null) return 'no reserve meets';
  const vs = r.cheapest ? ` (${(r.reserve.gpuHours / r.cheapest.gpuHours).toFixed(2)} x cheapest)` : '';
  return `prefill ${r.reserve.prefill} / decode ${r.reserve.decode} always running: ${pct(r.reserve.attainment)}, ${r.reserve.gpuHours.toFixed(1)} GPU-h${vs}`;
}

/** Rows by family, the README's step with the real traces, in the order they come. */
function byFamily(results: RowResult[]): Map<string, RowResult[]> {
  const groups = new Map<string, RowResult[]>();
  for (const r of results) {
    const key = r.row.kind === 'readme' ? 'real' : r.row.kind;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return groups;
}

/** Per family (and the real traces), the share of rows meeting each goal and the policy's mean x hindsight. */
export function formatFamilies(results: RowResult[]): string {
  const groups = byFamily(results);
  const lines = ['| family | rows | SLO met | <= cheapest | policy attainment (min-max) | policy x hindsight (min-max) | cheapest that meets x hindsight |', '|---|---:|---:|---:|---|---|---|'];
  const range = (xs: number[], f: (x: number) => string) => (xs.length ? `${f(Math.min(...xs))}-${f(Math.max(...xs))}` : '–');
  for (const [family, rows] of groups) {
    const met = rows.filter((r) => r.checks.meetsSlo).length;
    const cheap = rows.filter((r) => r.checks.withinCheapest === true).length;
    const judged = rows.filter((r) => r.checks.withinCheapest !== undefined).length;
    const cheapX = rows.filter((r) => r.cheapest).map((r) => (r.cheapest as { gpuHours: number }).gpuHours / (r.runs.hindsight as RunFigures).gpuHours);
    lines.push(
      `| ${family} | ${rows.length} | ${met} | ${cheap} of ${judged} | ${range(rows.map((r) => r.runs.policy!.attainment), pct)} | ${range(rows.map((r) => r.runs.policy!.xHindsight), (x) => x.toFixed(2))} | ${range(cheapX, (x) => x.toFixed(2))} |`,
    );
  }
  return lines.join('\n');
}

/** The layers the table shows, in order; the rest (warm start, minimums, held counts, step limits, gate, caps, ...) add up as "rest". */
const SHOWN_LAYERS = ['need', 'margins', 'evictionSpare', 'stabilization'] as const;

/**
 * Per family, where the desired GPU-hours of the policy and of hpa-tuned went (planner/gpu-layers.ts), as shares of
 * their desired GPU-hours summed over the family's rows, and the policy's over hindsight's GPU-hours: which rule the
 * distance to hindsight is made of.
 */
export function formatLayers(results: RowResult[]): string {
  const groups = byFamily(results);
  const head = ['family', 'run', 'desired GPU-h', 'need', 'margins', 'eviction spare', 'stabilization', 'rest', 'hindsight GPU-h'];
  const lines = [`| ${head.join(' | ')} |`, `|---|---|${head.slice(2).map(() => '---:').join('|')}|`];
  for (const [family, rows] of groups) {
    for (const run of ['policy', 'hpa-tuned'] as const) {
      const sums: Record<string, number> = {};
      let total = 0;
      let hindsight = 0;
      let counted = 0;
      for (const r of rows) {
        const layers = r.runs[run]?.layers;
        if (!layers) continue;
        counted++;
        hindsight += r.runs.hindsight?.gpuHours ?? 0;
        for (const [layer, value] of Object.entries(layers)) {
          sums[layer] = (sums[layer] ?? 0) + value;
          total += value;
        }
      }
      if (counted === 0 || !(total > 0)) continue;
      const shown = SHOWN_LAYERS.map((l) => sums[l] ?? 0);
      const rest = total - shown.reduce((a, b) => a + b, 0);
      const share = (x: number) => `${((100 * x) / total).toFixed(1)}%`;
      lines.push(`| ${family} | ${run} | ${total.toFixed(1)} | ${shown.map(share).join(' | ')} | ${share(rest)} | ${hindsight.toFixed(1)} |`);
    }
  }
  return lines.join('\n');
}

/** Improvements switched off one at a time in the ablation (the forecaster's bound is `forecaster.confidence` 0). */
export const ABLATION = ['percentile', 'serviceTimeCorrection', 'ttftOvershoot', 'leadTime', 'queueAware', 'burst', 'correctionGuard', 'sloFeedback', 'fastPath', 'budgetHold', 'crowdHold', 'pauseHold', 'budgetWindow', 'trendBound'] as const;

export interface AblationRow {
  off: string;
  /** Per matrix row: attainment and GPU-hours of the policy with this improvement off. */
  rows: { name: string; attainment: number; gpuHours: number; xHindsight: number; meets: boolean }[];
}

/** Switch one improvement off (`trendBound`: the forecaster's upper bound). */
export function switchOff(off: string): (spec: PolicySpec) => PolicySpec {
  return (spec) =>
    off === 'trendBound'
      ? { ...spec, forecaster: { ...spec.forecaster, confidence: 0 } }
      : { ...spec, sla: { ...spec.sla, improvements: { ...spec.sla.improvements, [off]: false } } };
}

/** The policy run of every row with one improvement off at a time (the yardsticks from the cache). */
export async function runAblation(rows: MatrixRow[], seed = 1, improvements: readonly string[] = ABLATION): Promise<AblationRow[]> {
  const out: AblationRow[] = [];
  for (const off of improvements) {
    const results = await runMatrix({ rows, seed, baselines: false, policyOverride: switchOff(off) });
    out.push({
      off,
      rows: results.map((r) => ({ name: r.row.name, attainment: r.runs.policy!.attainment, gpuHours: r.runs.policy!.gpuHours, xHindsight: r.runs.policy!.xHindsight, meets: r.runs.policy!.meets })),
    });
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
