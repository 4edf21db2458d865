/**
 * report.json, documented field by field in docs/report.md. Keys come out in a fixed order, the fields other tools
 * read first, so diffs between two runs are readable and consumers that stream the file see the headline figures
 * early. Fields a newer simulator adds are kept (after the known ones), never dropped.
 *
 * Numbers are rounded to what they mean, here and only here (the in-memory report keeps full precision):
 *   seconds of trace time 0.001 s; latencies 0.01 ms; attainment (a share of requests) 6 decimals, one request in a
 *   million; GPU-hours 4 decimals (0.36 GPU-seconds); money 0.01 (cents); request counts and forecasts 0.01;
 *   simulator speed whole requests per second.
 * Example: a GPU-hours total of 38.412345678 is written 38.4123, a cost of 308.3161 is written 308.32.
 */
import { GPU_LAYERS } from '../../planner/gpu-layers.js';
import type { IntervalRecord, RunResult, SimReport } from '../types.js';
import { CURRENT_RUN } from '../current.js';

type Plain = Record<string, unknown>;
type Fix = (v: unknown) => unknown;

/** x rounded to `digits` decimals; non-finite numbers stay as they are (JSON writes them as null). */
function roundTo(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
const digits = (d: number): Fix => (v) => (typeof v === 'number' ? roundTo(v, d) : v);
/** Every number value of a flat object rounded to `d` decimals ({ "prefill-od": 3 }, { p50, p90, ... }). */
const eachNumber = (d: number): Fix => (v) => (v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, digits(d)(x)])) : v);

const SECONDS = digits(3);
const MS = 2;
const SHARE = digits(6);
const GPU_HOURS = digits(4);
const MONEY = digits(2);
const COUNT = digits(2);

/** A copy of `obj` with `first` keys (those present) in that order, then every other key in its own order. */
function ordered(obj: object, first: readonly string[], nested: Record<string, Fix> = {}): Plain {
  const src = obj as Plain;
  const out: Plain = {};
  const put = (key: string): void => {
    if (!(key in src) || key in out) return;
    const value = src[key];
    if (value === undefined) return;
    const fix = nested[key];
    out[key] = fix ? fix(value) : value;
  };
  for (const key of first) put(key);
  for (const key of Object.keys(src)) put(key);
  return out;
}

/** p50, p90, p95, p99 first, then the SLO's own percentile when it is another one; 0.01 ms. */
const percentiles: Fix = (v) => ordered(eachNumber(MS)(v) as object, ['p50', 'p90', 'p95', 'p99']);
const gpuHours: Fix = (v) => ordered(v as object, ['total', 'spot', 'onDemand', 'starting'], { total: GPU_HOURS, spot: GPU_HOURS, onDemand: GPU_HOURS, starting: GPU_HOURS });

function intervalJson(rec: IntervalRecord): Plain {
  return ordered(rec, [
    't', 'requests', 'forecastRequests', 'desired', 'ready', 'ttftMs', 'itlMs', 'attainment',
    'gpus', 'costPerHour', 'evictions', 'queueDepth',
  ], {
    t: SECONDS, forecastRequests: COUNT, ttftMs: percentiles, itlMs: percentiles, attainment: SHARE,
    gpus: COUNT, costPerHour: MONEY, queueDepth: COUNT,
  });
}

/** What a run saves against the `current` run: positive when it costs less than what runs today. */
function savedVsCurrent(run: RunResult, current: RunResult | undefined): Plain | undefined {
  if (!current || run === current) return undefined;
  return { gpuHours: roundTo(current.gpuHours.total - run.gpuHours.total, 4), cost: roundTo(current.cost - run.cost, 2) };
}

function runJson(run: RunResult, current: RunResult | undefined): Plain {
  const saved = savedVsCurrent(run, current);
  return ordered({ ...run, ...(saved ? { savedVsCurrent: saved } : {}) }, [
    // the fields other tools read first
    'policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions',
    // the rest
    'kind', 'savedVsCurrent', 'requeued', 'completedRequests', 'warnings', 'coldStarts', 'desiredGpuHours', 'intervals',
  ], {
    desiredGpuHours: (v) => ordered(v as object, GPU_LAYERS, Object.fromEntries(GPU_LAYERS.map((layer) => [layer, GPU_HOURS]))),
    sloAttainment: (v) => ordered(eachNumber(6)(v) as object, ['ttft', 'itl', 'both']),
    ttftMs: percentiles,
    itlMs: percentiles,
    gpuHours,
    cost: MONEY,
    intervals: (v) => (v as IntervalRecord[]).map(intervalJson),
  });
}

const pass = (v: unknown): unknown => {
  const p = v as Plain;
  return { ...p, attainment: SHARE(p.attainment), gpuHours: GPU_HOURS(p.gpuHours) };
};

/** The report as a plain object in documented order with numbers rounded (what `reportJson` serialises). */
export function reportObject(report: SimReport): Plain {
  const current = report.runs.find((r) => r.policy === CURRENT_RUN);
  return ordered(report, [
    'schemaVersion', 'trace', 'bound', 'surprise', 'runs', 'sim', 'policyName', 'slo', 'pools', 'baselines', 'overrides', 'current',
    'start', 'yardsticks', 'policy', 'generatedAt',
  ], {
    trace: (v) => ordered(v as object, [
      'requests', 'durationSeconds', 'name', 'source', 'format', 'rateScale', 'speedup', 'skippedLines', 'skippedExamples', 'excluded', 'warnings',
    ], { durationSeconds: SECONDS }),
    runs: (v) => (v as RunResult[]).map((run) => runJson(run, current)),
    bound: (v) => ordered(v as object, ['gpuHours', 'prefillGpuHours', 'decodeGpuHours', 'method'], {
      gpuHours: GPU_HOURS, prefillGpuHours: GPU_HOURS, decodeGpuHours: GPU_HOURS,
    }),
    surprise: (v) => ordered(v as object, ['share', 'allowedMisses', 'exceedsAllowance', 'lagIntervals'], { share: SHARE, allowedMisses: SHARE }),
    sim: (v) => ordered(v as object, ['wallSeconds', 'requestsPerSecond', 'seed'], { wallSeconds: SECONDS, requestsPerSecond: digits(0) }),
    slo: (v) => ordered(v as object, ['ttft', 'itl'], {
      ttft: (t) => ordered(t as object, ['percentile', 'ms']),
      itl: (t) => ordered(t as object, ['percentile', 'ms']),
    }),
    yardsticks: (v) => ordered(v as object, ['hindsight', 'hpaTuned'], {
      hindsight: (h) => ordered(h as object, ['sloMet', 'perIntervalTarget', 'passes', 'windowReplays'], {
        passes: (ps) => (ps as unknown[]).map(pass),
      }),
      hpaTuned: (h) => ordered(h as object, ['utilization', 'sloMet', 'grid'], {
        grid: (gs) => (gs as unknown[]).map(pass),
      }),
    }),
  });
}

/**
 * report.json text: 2-space indented, documented order, trailing newline.
 * Non-finite numbers (NaN, Infinity) become null, as JSON requires.
 */
export function reportJson(report: SimReport): string {
  return `${JSON.stringify(reportObject(report), null, 2)}\n`;
}
