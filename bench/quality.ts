/**
 * Planner quality on the bundled real traces: the default `sla` policy against the oracle, `dynamo`, `hpa` and
 * `static`, each trace rate-scaled until the oracle's peak needs at least 8 replicas of one role.
 * Targets (issue 4): SLOs met (the share of requests within BOTH targets >= the SLO percentile: a request counts only
 * if its TTFT and its ITL are both in target, stricter than checking each alone), GPU-hours
 * <= 1.15 x oracle, fewer GPU-hours than dynamo and hpa at equal or better attainment.
 *
 * Run: npx tsx bench/quality-run.ts   (prints the table; `--json` for the rows).
 *
 * What differs from the embedded default policy, and why:
 * - Budget lifted to 256 GPUs and 32 replicas per pool, so that no run is held at the budget: a target "at most
 *   1.15 x oracle" against a budget-bound oracle says nothing about sizing. At the scales below the default 128 GPUs
 *   does not bind either (same numbers: `pd-planner simulate --rate-scale 2 --trace <code csv>`); at azure-code x3
 *   and above the static peak would exceed it.
 * - Per-trace SLOs (QUALITY_TRACES[].slo), each feasible on this profile and said why below. The default (TTFT p95 2 s,
 *   ITL p95 60 ms) is kept where the physics allows it.
 *
 * "At equal or better attainment": a baseline that misses the SLO is not cheaper in any useful sense. For `hpa` we
 * also run its one knob, the target utilisation, down from 0.7 until it meets the SLO (HPA_SWEEP) and compare
 * against the cheapest setting that does. `dynamo` has no such knob: its prefill formula is throughput at 100%
 * (min(1, pCf) never adds) and does not read the TTFT target at all, so no SLO handed to it changes its prefill;
 * where it misses, no setting of Dynamo's own formulas meets the SLO, and we say so.
 */
import { readTrace, BUNDLED_TRACES } from '../src/sim/traces/index.js';
import { parsePolicyText } from '../src/config/load.js';
import type { PolicySpec } from '../src/config/schema.js';
import { DEFAULT_POLICY_YAML } from '../src/sim/default-policy.js';
import { loadProfile } from '../src/profiles/load.js';
import type { PerformanceProfile } from '../src/profiles/types.js';
import { simulate } from '../src/sim/run.js';
import { hpaTargets, HPA_TARGET_UTILIZATION } from '../src/sim/baselines.js';
import type { RunResult, Trace } from '../src/sim/types.js';

export interface QualitySetup {
  name: string;
  path: string;
  rateScale: number;
  slo: { ttftMs: number; itlMs: number; percentile: number };
  /** Why this SLO and rate scale. */
  why: string;
}

/** The budget every quality run gets (see the header). */
export const QUALITY_BUDGET = { maxGpus: 256, maxReplicasPerPool: 32 };

/** HPA target utilisations tried, in order, until one meets the SLO (0.7 is the plain baseline). */
export const HPA_SWEEP = [0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1];

export const QUALITY_TRACES: QualitySetup[] = [
  {
    name: 'azure-code-2023',
    path: BUNDLED_TRACES.azureCode2023,
    rateScale: 2,
    slo: { ttftMs: 2000, itlMs: 60, percentile: 95 },
    why:
      'default SLO. Sub-minute bursts of 3-4x the minute mean after silent minutes; x2 puts the peak prefill need above 8 ' +
      'replicas (p95 ISL 7302 -> 0.85 s profiled prefill, so 2 s leaves about 1.1 s of queueing)',
  },
  {
    name: 'azure-conv-2023',
    path: BUNDLED_TRACES.azureConv2023,
    rateScale: 4,
    slo: { ttftMs: 2000, itlMs: 60, percentile: 95 },
    why: 'default SLO. Smooth diurnal-like load; x4 puts the peak above 8 prefill replicas',
  },
  {
    name: 'mooncake-synthetic',
    path: BUNDLED_TRACES.mooncakeSynthetic,
    rateScale: 1,
    slo: { ttftMs: 8000, itlMs: 60, percentile: 95 },
    why:
      'mean ISL 15k, p95 ISL 48.8k: the prefill of a p95 prompt alone takes 5.7 s on this profile (953.6 ms at 8192 ' +
      'extrapolated at 8.59 tok/ms), so a 2 s TTFT p95 is impossible; TTFT target 8 s = 1.4 x that. ITL 60 ms is ' +
      'feasible (at context 15k the step-time model allows 24 sequences per replica at 60 ms). x1 already needs more ' +
      'than 8 prefill replicas at its peak',
  },
];

export interface RunSummary {
  attainment: number;
  ttftAttainment: number;
  itlAttainment: number;
  sloMet: boolean;
  gpuHours: number;
  cost: number;
  ttftP95: number;
  itlP95: number;
  dropped: number;
}

export interface QualityRow {
  trace: string;
  rateScale: number;
  requests: number;
  slo: QualitySetup['slo'];
  why: string;
  peakOracleReplicas: { prefill: number; decode: number };
  runs: Record<string, RunSummary>;
  /** policy GPU-hours / other run's GPU-hours. */
  gpuHoursRatio: Record<string, number>;
  /** The cheapest HPA utilisation in the sweep that meets the SLO, or undefined when none does. */
  hpaTuned?: { utilization: number; run: RunSummary };
  sloMet: boolean;
  targets: { withinOracle115: boolean; fewerThanDynamo: boolean; fewerThanHpa: boolean };
  notes: string[];
}

/** The embedded default policy with the quality budget and a trace's SLO. */
export function qualitySpec(base: PolicySpec, setup: QualitySetup): PolicySpec {
  const { ttftMs, itlMs, percentile } = setup.slo;
  return {
    ...base,
    slo: { ttft: { ms: ttftMs, percentile }, itl: { ms: itlMs, percentile } },
    budget: { ...base.budget, maxGpus: QUALITY_BUDGET.maxGpus },
    pools: base.pools.map((p) => ({ ...p, maxReplicas: Math.max(p.maxReplicas, QUALITY_BUDGET.maxReplicasPerPool) })),
  };
}

function summarize(run: RunResult, spec: PolicySpec): RunSummary {
  return {
    attainment: run.sloAttainment.both,
    ttftAttainment: run.sloAttainment.ttft,
    itlAttainment: run.sloAttainment.itl,
    sloMet: run.sloAttainment.both >= Math.max(spec.slo.ttft.percentile, spec.slo.itl.percentile) / 100,
    gpuHours: run.gpuHours.total,
    cost: run.cost,
    ttftP95: run.ttftMs.p95,
    itlP95: run.itlMs.p95,
    dropped: run.droppedRequests,
  };
}

function peakPerRole(run: RunResult, spec: PolicySpec): { prefill: number; decode: number } {
  const peak = { prefill: 0, decode: 0 };
  for (const record of run.intervals) {
    const sum = { prefill: 0, decode: 0 };
    for (const pool of spec.pools) sum[pool.role] += record.desired[pool.name] ?? 0;
    peak.prefill = Math.max(peak.prefill, sum.prefill);
    peak.decode = Math.max(peak.decode, sum.decode);
  }
  return peak;
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return values.length ? sum / values.length : 0;
}

/** HPA at target utilisation `u` (the baseline uses HPA_TARGET_UTILIZATION = 0.7), run as the file's policy. */
async function runHpa(spec: PolicySpec, profile: PerformanceProfile, trace: Trace, u: number, seed: number): Promise<RunResult> {
  const base = hpaTargets(spec, profile, mean(trace.isl), mean(trace.osl));
  const scale = u / HPA_TARGET_UTILIZATION;
  const hpaSpec: PolicySpec = {
    ...spec,
    policy: 'hpa',
    hpa: { ...spec.hpa, prefillRequestsPerReplica: base.prefill * scale, decodeRequestsPerReplica: base.decode * scale },
  };
  const result = await simulate({ spec: hpaSpec, profile, trace, baselines: [], seed });
  return result.runs[0] as RunResult;
}

export interface BenchQualityOptions {
  seed?: number;
  /** Only these traces (QUALITY_TRACES names). */
  traces?: string[];
  /** Run the HPA utilisation sweep where HPA misses the SLO (default true). */
  tuneHpa?: boolean;
  /** Change the spec before running (e.g. switch an improvement off). */
  specOverride?: (spec: PolicySpec) => PolicySpec;
}

export async function benchQuality(options: BenchQualityOptions | number = {}): Promise<QualityRow[]> {
  const opts: BenchQualityOptions = typeof options === 'number' ? { seed: options } : options;
  const seed = opts.seed ?? 1;
  const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
  const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
  const rows: QualityRow[] = [];
  for (const setup of QUALITY_TRACES) {
    if (opts.traces && !opts.traces.includes(setup.name)) continue;
    let spec = qualitySpec(loaded.spec, setup);
    if (opts.specOverride) spec = opts.specOverride(spec);
    const trace = await readTrace(setup.path, { rateScale: setup.rateScale, seed });
    const result = await simulate({ spec, profile, trace, baselines: ['static', 'hpa', 'dynamo', 'oracle'], seed });
    const byName = new Map(result.runs.map((r) => [r.policy, r] as const));
    const policy = byName.get('policy') as RunResult;
    const runs: QualityRow['runs'] = {};
    const gpuHoursRatio: Record<string, number> = {};
    for (const run of result.runs) {
      runs[run.policy] = summarize(run, spec);
      if (run.policy !== 'policy') gpuHoursRatio[run.policy] = policy.gpuHours.total / run.gpuHours.total;
    }
    const ours = runs.policy as RunSummary;
    const notes: string[] = [];

    let hpaTuned: QualityRow['hpaTuned'];
    const hpa = runs.hpa as RunSummary;
    if (!hpa.sloMet && opts.tuneHpa !== false) {
      for (const u of HPA_SWEEP) {
        const run = summarize(await runHpa(spec, profile, trace, u, seed), spec);
        if (run.sloMet) {
          hpaTuned = { utilization: u, run };
          break;
        }
      }
      if (hpaTuned) gpuHoursRatio['hpa-tuned'] = ours.gpuHours / hpaTuned.run.gpuHours;
    }

    // Beats a baseline: fewer GPU-hours than it at equal or better attainment; when it misses the SLO, fewer than
    // its cheapest tuned setting that meets it, or (none does) meeting the SLO where it cannot.
    const beats = (other: RunSummary, tuned: RunSummary | undefined, name: string): boolean => {
      if (!ours.sloMet) return ours.gpuHours < other.gpuHours && ours.attainment >= other.attainment;
      if (other.sloMet) return ours.gpuHours < other.gpuHours;
      if (tuned) return ours.gpuHours < tuned.gpuHours;
      const why =
        name === 'hpa'
          ? `at every target utilisation tried (${[HPA_TARGET_UTILIZATION, ...HPA_SWEEP].join(', ')})`
          : 'and no setting of its formulas adds prefill headroom';
      notes.push(`${name} misses the SLO (${(other.attainment * 100).toFixed(1)}% within both targets) ${why}: beaten on attainment`);
      return true;
    };
    const sloMet = ours.sloMet;
    rows.push({
      trace: setup.name,
      rateScale: setup.rateScale,
      requests: trace.arrival.length,
      slo: setup.slo,
      why: setup.why,
      peakOracleReplicas: peakPerRole(byName.get('oracle') as RunResult, spec),
      runs,
      gpuHoursRatio,
      ...(hpaTuned ? { hpaTuned } : {}),
      sloMet,
      targets: {
        withinOracle115: (gpuHoursRatio.oracle as number) <= 1.15,
        fewerThanDynamo: beats(runs.dynamo as RunSummary, undefined, 'dynamo'),
        fewerThanHpa: beats(hpa, hpaTuned?.run, 'hpa'),
      },
      notes,
    });
  }
  return rows;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The rows as a Markdown report: one table per trace, then the targets. */
export function formatQuality(rows: QualityRow[]): string {
  const out: string[] = [];
  for (const row of rows) {
    out.push(`### ${row.trace} x${row.rateScale} (${row.requests} requests)`);
    out.push(`SLO: TTFT p${row.slo.percentile} <= ${row.slo.ttftMs} ms, ITL p${row.slo.percentile} <= ${row.slo.itlMs} ms (${row.why})`);
    out.push(`oracle peak: ${row.peakOracleReplicas.prefill} prefill, ${row.peakOracleReplicas.decode} decode replicas; budget ${QUALITY_BUDGET.maxGpus} GPUs`);
    out.push('');
    out.push('| run | both | TTFT ok | ITL ok | SLO met | TTFT p95 ms | ITL p95 ms | GPU-h | policy / run GPU-h |');
    out.push('|---|---|---|---|---|---|---|---|---|');
    const all: [string, RunSummary][] = Object.entries(row.runs);
    if (row.hpaTuned) all.push([`hpa-tuned (u ${row.hpaTuned.utilization})`, row.hpaTuned.run]);
    for (const [name, r] of all) {
      const key = name.startsWith('hpa-tuned') ? 'hpa-tuned' : name;
      const ratio = name === 'policy' ? '1' : (row.gpuHoursRatio[key] ?? NaN).toFixed(3);
      out.push(
        `| ${name} | ${pct(r.attainment)} | ${pct(r.ttftAttainment)} | ${pct(r.itlAttainment)} | ${r.sloMet ? 'yes' : 'no'} | ${Math.round(r.ttftP95)} | ${Math.round(r.itlP95)} | ${r.gpuHours.toFixed(2)} | ${ratio} |`,
      );
    }
    const t = row.targets;
    out.push('');
    out.push(`targets: SLO met ${row.sloMet ? 'yes' : 'NO'}; <= 1.15 x oracle ${t.withinOracle115 ? 'yes' : 'NO'}; beats dynamo ${t.fewerThanDynamo ? 'yes' : 'NO'}; beats hpa ${t.fewerThanHpa ? 'yes' : 'NO'}`);
    for (const note of row.notes) out.push(`- ${note}`);
    out.push('');
  }
  return out.join('\n');
}
