/**
 * The observation file `pd-planner decide --observation FILE.json` reads: one tick's view of the world,
 * the `Observation` type of planner/types.ts as strict JSON (see docs/observation.md).
 *
 * Strict: an unknown field is an error (a misspelt `ttftMS` would otherwise be ignored and then reported as
 * missing). Every field except `time` may be left out, or given as null (a metric the exporter could not
 * read); both mean "missing", and the decision's explanation says what was done instead.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { Observation, PoolObservation } from '../planner/types.js';
import type { PolicySpec } from './schema.js';
import { didYouMean, errorMap, formatIssues, formatPath } from './issues.js';
import { protoKeyPath, protoKeyProblem, toNullRecord } from './records.js';
import type { CheckResult } from './validate.js';
import { MAX_OBSERVATION_BYTES, parseJson, readInputFile } from './read.js';

/** Optional, with null meaning the same as absent. */
function missable<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => (value === null ? undefined : value));
}

const nonNegative = z.number().nonnegative();
const count = z.number().int().nonnegative();

/** Keys of a latency summary: "mean", or a percentile "p50", "p95", "p99.9" (0 < p < 100). */
const SUMMARY_KEY = /^(mean|p(\d+(\.\d+)?))$/;

const latencySummary = z.record(z.string(), nonNegative).superRefine((summary, ctx) => {
  for (const key of Object.keys(summary)) {
    const match = SUMMARY_KEY.exec(key);
    const percentile = match?.[2] !== undefined ? Number(match[2]) : undefined;
    if (!match || (percentile !== undefined && (percentile <= 0 || percentile >= 100))) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `unknown key (expected "mean" or a percentile between p0 and p100 such as "p95")${didYouMean(key, ['mean', 'p50', 'p90', 'p95', 'p99'])}`,
      });
    }
  }
});

/** The Ready condition of the pool's graph. `condition` is text for the explanation, kept short. */
const graphReadiness = z.strictObject({
  ready: z.boolean(),
  rollingUpdate: missable(z.boolean()),
  condition: missable(z.string().max(1000)),
});

const poolObservation = z.strictObject({
  desired: missable(count),
  ready: missable(count),
  updated: missable(count),
  graph: missable(graphReadiness),
  pending: missable(count),
  evicted: missable(count),
  evictionNotices: missable(count),
  pendingSeconds: missable(nonNegative),
  startupSeconds: missable(z.array(nonNegative).max(1000)),
});

const fraction = z
  .number()
  .min(0)
  .max(1, { error: (issue) => `expected a fraction between 0 and 1 (0.75 for 75%), got ${String(issue.input)}` });

const observationSchema = z.strictObject({
  time: z.iso.datetime({ offset: true }),
  windowSeconds: missable(z.number().positive()),
  requests: missable(nonNegative),
  peakRequestsPerSecond: missable(nonNegative),
  isl: missable(nonNegative),
  osl: missable(nonNegative),
  islPercentiles: missable(latencySummary),
  oslPercentiles: missable(latencySummary),
  ttftMs: missable(latencySummary),
  itlMs: missable(latencySummary),
  requestDurationSeconds: missable(nonNegative),
  queueDepth: missable(nonNegative),
  kvUsage: missable(fraction),
  pools: missable(z.record(z.string(), poolObservation)),
  errors: missable(z.record(z.string(), z.string())),
});

/** Drop keys whose value is undefined (null in the file), so the result has only what was observed. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Validate parsed JSON as an Observation; problems are `observation.ttftMs.p95: ...` lines. */
export function parseObservation(data: unknown, prefix = 'observation'): Observation {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError([`${prefix}: expected a JSON object with at least "time"`]);
  }
  const proto = protoKeyPath(data);
  if (proto) throw new InputError([protoKeyProblem(formatPath(proto, prefix))]);
  const parsed = observationSchema.safeParse(data, { error: errorMap });
  if (!parsed.success) throw new InputError(formatIssues(parsed.error.issues, prefix), `${prefix}: invalid observation`);
  const { pools, errors, ...rest } = parsed.data;
  const observation: Observation = compact(rest) as Observation;
  // Keyed by names from the file: records without a prototype (a pool named "constructor" is a pool).
  if (pools) {
    observation.pools = toNullRecord(
      Object.entries(pools).map(([name, pool]) => [name, compact({ ...pool, graph: pool.graph ? compact(pool.graph) : undefined }) as PoolObservation] as const),
    );
  }
  if (errors) observation.errors = toNullRecord(errors);
  return observation;
}

/**
 * Checks that need the policy: observed pools must be pools of the policy (a typo would otherwise leave the
 * real pool "missing"); a window that differs from the interval is allowed but worth saying.
 */
function checkObservationAgainstPolicy(observation: Observation, spec: PolicySpec, prefix = 'observation'): CheckResult {
  const out: CheckResult = { problems: [], warnings: [] };
  const names = spec.pools.map((p) => p.name);
  for (const name of Object.keys(observation.pools ?? {})) {
    if (!names.includes(name)) {
      out.problems.push(`${prefix}.pools.${name}: no pool named "${name}" in the policy${didYouMean(name, names)} (pools: ${names.join(', ')})`);
    }
  }
  if (observation.windowSeconds !== undefined && observation.windowSeconds !== spec.interval) {
    out.warnings.push(
      `${prefix}.windowSeconds: ${observation.windowSeconds}s differs from spec.interval (${spec.interval}s); counts are per window, so check the exporter`,
    );
  }
  return out;
}

export interface LoadedObservation {
  observation: Observation;
  warnings: string[];
}

/** Read, parse and check an observation file; with `spec`, also check it against the policy. */
export function loadObservationFile(path: string, spec?: PolicySpec): LoadedObservation {
  const text = readInputFile(path, { maxBytes: { bytes: MAX_OBSERVATION_BYTES, what: 'an observation is a few KB' } });
  return parseObservationText(text, path, spec);
}

export function parseObservationText(text: string, path: string, spec?: PolicySpec): LoadedObservation {
  if (text.trim() === '') throw new InputError([`${path}: the file is empty; expected a JSON observation (see docs/observation.md)`]);
  const observation = parseObservation(parseJson(text, path));
  if (!spec) return { observation, warnings: [] };
  const checked = checkObservationAgainstPolicy(observation, spec);
  if (checked.problems.length > 0) throw new InputError(checked.problems, `${path}: observation does not match the policy`);
  return { observation, warnings: checked.warnings };
}
