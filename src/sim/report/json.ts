/**
 * report.json: the public contract of SPEC section 8. Keys come out in a fixed order, the contract
 * fields first, so diffs between two runs are readable and consumers that stream the file see the
 * headline figures early. Fields a newer simulator adds are kept (after the known ones), never dropped.
 */
import type { IntervalRecord, RunResult, SimReport } from '../types.js';

type Plain = Record<string, unknown>;

/** A copy of `obj` with `first` keys (those present) in that order, then every other key in its own order. */
function ordered(obj: object, first: readonly string[], nested: Record<string, (v: unknown) => unknown> = {}): Plain {
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

const percentiles = (v: unknown): unknown => ordered(v as object, ['p50', 'p95', 'p99']);

function intervalJson(rec: IntervalRecord): Plain {
  return ordered(rec, [
    't', 'requests', 'forecastRequests', 'desired', 'ready', 'ttftMs', 'itlMs', 'attainment',
    'gpus', 'costPerHour', 'evictions', 'queueDepth',
  ], { ttftMs: percentiles, itlMs: percentiles });
}

function runJson(run: RunResult): Plain {
  return ordered(run, [
    // SPEC section 8 contract
    'policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions',
    // the rest
    'kind', 'requeued', 'completedRequests', 'warnings', 'intervals',
  ], {
    sloAttainment: (v) => ordered(v as object, ['ttft', 'itl', 'both']),
    ttftMs: percentiles,
    itlMs: percentiles,
    gpuHours: (v) => ordered(v as object, ['total', 'spot', 'onDemand']),
    intervals: (v) => (v as IntervalRecord[]).map(intervalJson),
  });
}

/** The report as a plain object in contract order (what `reportJson` serialises). */
export function reportObject(report: SimReport): Plain {
  return ordered(report, ['schemaVersion', 'trace', 'bound', 'runs', 'sim', 'policyName', 'slo', 'start', 'yardsticks', 'generatedAt'], {
    trace: (v) => ordered(v as object, [
      'requests', 'durationSeconds', 'name', 'format', 'rateScale', 'skippedLines', 'skippedExamples',
    ]),
    runs: (v) => (v as RunResult[]).map(runJson),
    bound: (v) => ordered(v as object, ['gpuHours', 'prefillGpuHours', 'decodeGpuHours', 'method']),
    sim: (v) => ordered(v as object, ['wallSeconds', 'requestsPerSecond', 'seed']),
    slo: (v) => ordered(v as object, ['ttft', 'itl'], {
      ttft: (t) => ordered(t as object, ['percentile', 'ms']),
      itl: (t) => ordered(t as object, ['percentile', 'ms']),
    }),
  });
}

/**
 * report.json text: 2-space indented, contract fields first, trailing newline.
 * Non-finite numbers (NaN, Infinity) become null, as JSON requires.
 */
export function reportJson(report: SimReport): string {
  return `${JSON.stringify(reportObject(report), null, 2)}\n`;
}
