/**
 * The policy file (`kind: PlannerPolicy`), as a zod schema.
 *
 * The field names are a public contract (docs/policy.md; policy files in use depend on them): extend, never rename.
 * Every default lives here, next to the field it belongs to, and `docs/policy.md` lists them.
 * Cross-field rules (min <= max, budget >= the sum of minimum GPUs, schedules naming real pools,
 * the profile existing) are in `validate.ts`, which runs after this schema.
 */
import { z } from 'zod';
import { formatDuration, MAX_SCHEDULE_SECONDS, MAX_SEASON_SECONDS, MAX_TIMER_SECONDS, parseDuration } from './duration.js';
import { describeValue } from './issues.js';

export interface DurationOptions {
  /** Seconds when the field is omitted; without it the field is required. */
  default?: number;
  /** Longest allowed, in seconds (default MAX_TIMER_SECONDS, one day). */
  max?: number;
  /** The field's name ends in `Seconds`: a plain number is a count of seconds (as in Kubernetes). */
  plainSeconds?: boolean;
}

/** Every schema `duration()` made: how document.ts finds the fields to write back as "60s" rather than 60. */
export const DURATION_SCHEMAS = new WeakSet<z.ZodType>();

/**
 * A duration string such as "60s" or "5m", parsed to seconds, at most `max` (one day unless said otherwise).
 * A bare number is a units error, except in `…Seconds` fields (`plainSeconds`), where it is seconds.
 * Example: startupSeconds "240s", "4m" and 240 are all 240; interval 60 is an error, interval "2d" too (over a day).
 */
function duration(what: string, opts: DurationOptions = {}) {
  const max = opts.max ?? MAX_TIMER_SECONDS;
  // z.unknown() rather than a string|number union: a wrong type (`interval: true`) then gets the same
  // "expected an interval such as ..." message instead of zod's generic "invalid union".
  const schema = z
    .unknown()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) {
        if (opts.default !== undefined) return opts.default;
        ctx.addIssue({ code: 'custom', message: `${what} is required, e.g. "60s"` });
        return z.NEVER;
      }
      let seconds: number | undefined;
      if (typeof value === 'number') {
        if (!opts.plainSeconds) {
          ctx.addIssue({
            code: 'custom',
            message: `expected ${what} with a unit such as "${value}s" or "${value}m", got the bare number ${value}`,
          });
          return z.NEVER;
        }
        if (!Number.isFinite(value) || value < 0) {
          ctx.addIssue({ code: 'custom', message: `expected ${what} in seconds (a number ≥ 0) or with a unit such as "240s", got ${describeValue(value)}` });
          return z.NEVER;
        }
        seconds = value;
      } else if (typeof value !== 'string') {
        const plain = opts.plainSeconds ? ' or a number of seconds' : '';
        ctx.addIssue({ code: 'custom', message: `expected ${what} such as "60s", "5m" or "1h30m"${plain}, got ${value === null ? 'null' : typeof value}` });
        return z.NEVER;
      } else {
        seconds = parseDuration(value);
        if (seconds === undefined && opts.plainSeconds && /^\s*\d+(\.\d+)?\s*$/.test(value)) seconds = Number(value);
        if (seconds === undefined) {
          ctx.addIssue({ code: 'custom', message: `expected ${what} such as "60s", "5m" or "1h30m", got ${describeValue(value)}` });
          return z.NEVER;
        }
      }
      if (!(seconds <= max)) {
        ctx.addIssue({
          code: 'custom',
          message: `${describeValue(value)} is longer than ${formatDuration(max)}, the most allowed for ${what}${max === MAX_TIMER_SECONDS ? ' (timers hold at most a day here)' : ''}`,
        });
        return z.NEVER;
      }
      return seconds;
    });
  DURATION_SCHEMAS.add(schema);
  return schema;
}

/** A duration field that may be left out (undefined), with the same spelling rules as `duration`. */
function optionalDuration(what: string, opts: Omit<DurationOptions, 'default'> = {}) {
  const inner = duration(what, opts);
  return z
    .unknown()
    .optional()
    .transform((value, ctx): number | undefined => {
      if (value === undefined) return undefined;
      const parsed = inner.safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      return z.NEVER;
    });
}

/**
 * Physical ceilings. Work per decision grows with replica counts (Spot pools are filled one replica at a time, the
 * budget trim takes replicas back one at a time), so counts are bounded far above any real cluster.
 */
export const MAX_POOL_REPLICAS = 10_000;
/** Pools per policy (real ones have 2-8): the Spot fill scans every pool per replica it places. */
const MAX_POOLS = 64;
export const MAX_GPUS_PER_REPLICA = 1024;
export const MAX_BUDGET_GPUS = 10_000_000;
/**
 * Highest cost per GPU-hour, in any currency: far above any price, and low enough that the dearest cluster the
 * other ceilings allow (64 pools x 10,000 replicas x 1,024 GPUs) costs a finite 6.6e17 an hour.
 */
export const MAX_COST_PER_GPU_HOUR = 1_000_000;
/** Intervals a forecaster may look back over (a week of one-minute intervals): bounds the state's history. */
export const MAX_FORECAST_POINTS = 10_080;
/** Spot evictions per replica per hour: one a minute is already no usable capacity. */
export const MAX_EVICTIONS_PER_HOUR = 60;

const nonNegInt = z.number().int().nonnegative();
const replicaCount = nonNegInt.max(MAX_POOL_REPLICAS);
const positive = z.number().positive();

export const ROLES = ['prefill', 'decode'] as const;
export type Role = (typeof ROLES)[number];
const CAPACITIES = ['spot', 'on-demand'] as const;
export type Capacity = (typeof CAPACITIES)[number];
export const POLICY_KINDS = ['sla', 'dynamo', 'load', 'hpa', 'static'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];
const FORECASTER_KINDS = ['trend', 'constant', 'moving-average', 'holt', 'seasonal', 'kalman'] as const;
export type ForecasterKind = (typeof FORECASTER_KINDS)[number];

/**
 * Longest latency targets an SLO may name: a TTFT of an hour, an ITL of a minute per token. Beyond them no request
 * is ever late, and the yardsticks' searches, which follow each request until its deadline, would run for ever.
 */
export const MAX_TTFT_MS = 3_600_000;
export const MAX_ITL_MS = 60_000;

function sloTarget(maxMs: number, what: string) {
  return z.strictObject({
    /** Percentile of requests that must meet `ms`, above 0 and below 100 (95 means p95). */
    percentile: z.number().gt(0).lt(100).default(95),
    ms: positive.refine((v) => v <= maxMs, { message: `at most ${maxMs} ms (${what}); a longer target is never missed` }),
  });
}

const target = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('DynamoGraphDeployment'),
    name: z.string().min(1),
    /** Component (v1beta1) / service (v1alpha1) name; omitted = found by its prefill/decode type. */
    service: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('DynamoComponentDeployment'),
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
  }),
]);
export type PoolTarget = z.infer<typeof target>;

const pool = z.strictObject({
  name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'use lower-case letters, digits and "-" (a DNS label)'),
  role: z.enum(ROLES),
  capacity: z.enum(CAPACITIES).default('on-demand'),
  gpusPerReplica: z.number().int().positive().max(MAX_GPUS_PER_REPLICA).default(1),
  minReplicas: replicaCount.default(1),
  maxReplicas: replicaCount.default(16),
  costPerGpuHour: z.number().nonnegative().max(MAX_COST_PER_GPU_HOUR).default(0),
  startupSeconds: duration('a startup time', { default: 180, plainSeconds: true }),
  target: target.optional(),
});
export type PoolSpec = z.infer<typeof pool>;

const forecaster = z.strictObject({
  kind: z.enum(FORECASTER_KINDS).default('trend'),
  /** moving-average: number of intervals averaged. */
  window: z.number().int().positive().max(MAX_FORECAST_POINTS).default(5),
  /** holt and trend: level and trend smoothing. */
  alpha: z.number().gt(0).lte(1).default(0.5),
  beta: z.number().gt(0).lte(1).default(0.3),
  /** trend: standard deviations of its own one-step error added per sqrt(interval) beyond the next interval. */
  confidence: z.number().nonnegative().max(10).default(1),
  /** seasonal: season length ("24h" daily, "168h" weekly) and how much history to blend. */
  season: duration('a season length', { default: 86400, max: MAX_SEASON_SECONDS }),
  /** kalman: process and measurement noise (relative to the level). */
  processNoise: positive.default(0.05),
  measurementNoise: positive.default(0.2),
});
export type ForecasterSpec = z.infer<typeof forecaster>;

const slaOptions = z.strictObject({
  /** Use observed/profiled latency ratios (Dynamo's correction factors). */
  correction: z.boolean().default(true),
  /** Our improvements over Dynamo's formulas; each switchable so the simulator can show what it buys. */
  improvements: z
    .strictObject({
      /** Size against the SLO percentile (observed pXX) rather than the mean. */
      percentile: z.boolean().default(true),
      /** TTFT worse than profiled adds prefill (Dynamo only ever removes: min(1, pCf)). */
      ttftOvershoot: z.boolean().default(true),
      /** Provision for the load `startupSeconds` ahead, since new workers take that long to help. */
      leadTime: z.boolean().default(true),
      /** Split a GPU-budget shortfall by SLO pressure rather than proportionally. */
      budgetSplit: z.boolean().default(true),
      /** Add prefill for the backlog in the queue (queueing-aware TTFT). */
      queueAware: z.boolean().default(true),
      /** Size both roles for the busiest 10 s of an interval (observed peak / mean rate, carried with a slow decay), not its mean. */
      burst: z.boolean().default(true),
      /** Keep the correction factors while their role is saturated or still starting, and bound them. */
      correctionGuard: z.boolean().default(true),
      /** Learn a headroom per role from the SLO's misses, trimming margins the SLO does not need and adding where requests miss. */
      sloFeedback: z.boolean().default(true),
      /** Answer a sharp rise at once: a window far above the forecast raises the forecasts to what was observed. */
      fastPath: z.boolean().default(true),
      /** Hold the burst floor longer while the SLO's miss budget is being spent (needs sloFeedback's record of misses). */
      budgetHold: z.boolean().default(true),
      /** Once half the SLO's miss budget is spent, keep the bare need of the highest recent peak demand (needs `burst` and sloFeedback's record of misses). */
      crowdHold: z.boolean().default(true),
      /** While the graph sees no demand at all, for up to 30 minutes, keep a share of what each role ran when the pause began: 60% prefill, 70% decode (a pause is not a trend). */
      pauseHold: z.boolean().default(true),
      /** With sloFeedback: while less than a quarter of the SLO's miss budget is spent (after its 15 minutes of evidence), the scale-down window is 0.6 of stabilization.scaleDown, never under one interval. */
      budgetWindow: z.boolean().default(true),
      /** With `percentile`: read the prefill correction as the service-time factor that explains the observed TTFT in the queue model, not the latency ratio. */
      serviceTimeCorrection: z.boolean().default(true),
    })
    .prefault({}),
  /** Target utilisation of profiled capacity: sizing aims at this fraction of throughput (headroom for bursts). */
  targetUtilization: z.number().gt(0).lte(1).default(0.85),
  /** With fastPath: how often a graph not at zero reads its prefill queue between ticks, deciding at once when it is long (planner/panic.ts). */
  panicPoll: duration('a panic poll period', { default: 10 }),
});

const loadOptions = z.strictObject({
  /** Prefill: queued requests per prefill replica above which we add one, below which we remove one. */
  prefillQueuePerReplica: z
    .strictObject({ up: z.number().nonnegative().default(4), down: z.number().nonnegative().default(1) })
    .prefault({}),
  /** Decode: mean KV-cache use (0..1) above which we add one, below which we remove one. */
  decodeKvUsage: z
    .strictObject({ up: z.number().gt(0).lte(1).default(0.8), down: z.number().gte(0).lt(1).default(0.4) })
    .prefault({}),
  /** Replicas added or removed per tick. */
  step: z.number().int().positive().max(MAX_POOL_REPLICAS).default(1),
});

const hpaOptions = z.strictObject({
  /** The one metric: requests per second per replica (per role), as HPA's AverageValue target. */
  prefillRequestsPerReplica: positive.default(2),
  decodeRequestsPerReplica: positive.default(2),
  tolerance: z.number().nonnegative().lt(1).default(0.1),
});

const staticOptions = z.strictObject({
  /** Fixed replicas per pool name; pools not listed stay at minReplicas. */
  replicas: z.record(z.string(), replicaCount).default({}),
});

const spot = z.strictObject({
  /** Highest share (0..1) of a role's replicas that may run on Spot pools. */
  maxShare: z.number().min(0).max(1).default(0.7),
  /** On-demand replicas kept per role whatever the Spot pools hold. */
  onDemandFloor: replicaCount.default(1),
  /** Expected evictions per Spot replica per hour (Poisson); drives the headroom. */
  evictionRatePerHour: z.number().nonnegative().max(MAX_EVICTIONS_PER_HOUR).default(0.05),
  /** Notice given before an eviction (Azure 30 s, AWS 120 s). */
  noticeSeconds: duration('a notice period', { default: 30, plainSeconds: true }),
  /** Spot replicas pending longer than this count as unavailable and their need moves to on-demand. */
  pendingGrace: duration('a grace period', { default: 120 }),
  /** After an eviction, keep the replacement on on-demand for this long. */
  evictionCooldown: duration('a cool-down', { default: 600 }),
  /**
   * How a role's replicas move between its Spot and on-demand pools (constraints/spot.ts rule 5): `share` splits every
   * tick's total by the share rules alone; `one-pool` gives a scale-up to one side where it fits and takes a scale-down
   * from on-demand first, so that the other side can take the next order while the first is starting.
   */
  placement: z.enum(['share', 'one-pool']).default('share'),
});
export type SpotSpec = z.infer<typeof spot>;

const schedule = z.strictObject({
  /** node-cron expression (5 or 6 fields) in the schedule's time zone. */
  cron: z.string().min(1),
  duration: duration('a schedule duration', { max: MAX_SCHEDULE_SECONDS }),
  timezone: z.string().default('UTC'),
  /** Raised minimum replicas per pool name while the schedule is active. */
  minReplicas: z.record(z.string(), replicaCount).default({}),
});
export type ScheduleSpec = z.infer<typeof schedule>;

const promQuery = z.string().min(1);
const natsUrl = z.string().regex(/^nats:\/\//, {
  error: (issue) => `expected a nats:// URL such as "nats://nats:4222", got ${JSON.stringify(issue.input)}`,
});
const sources = z.strictObject({
  prometheus: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      timeout: duration('a timeout', { default: 10 }),
      /** Label filters applied to Dynamo's metrics, e.g. { model: "llama", dynamo_namespace: "ns" }. */
      labels: z.record(z.string(), z.string()).default({}),
      /** Override any query; `$window` is replaced by the interval ("60s"), `$labels` by the label filter. */
      queries: z
        .strictObject({
          requests: promQuery.optional(),
          isl: promQuery.optional(),
          osl: promQuery.optional(),
          ttftMean: promQuery.optional(),
          ttftPercentile: promQuery.optional(),
          itlMean: promQuery.optional(),
          itlPercentile: promQuery.optional(),
          requestDuration: promQuery.optional(),
          kvUsage: promQuery.optional(),
          /** Busiest 10 s arrival rate in the window (requests/s), for the sla policy's burst sizing. */
          peakRequestsPerSecond: promQuery.optional(),
          /** ISL percentile (`$quantile`) for the TTFT-percentile prefill time. */
          islPercentile: promQuery.optional(),
        })
        .default({}),
    })
    .optional(),
  queue: z
    .strictObject({
      nats: natsUrl,
      stream: z.string().min(1),
      consumer: z.string().min(1).optional(),
      timeout: duration('a timeout', { default: 5 }),
    })
    .optional(),
  /** Virtual connector: publish decisions to this NATS KV bucket instead of (or as well as) Kubernetes. */
  virtual: z
    .strictObject({ nats: natsUrl, bucket: z.string().min(1).default('pd-planner') })
    .optional(),
});

export const policySpec = z.strictObject({
  interval: duration('an interval', { default: 60 }),
  slo: z.strictObject({ ttft: sloTarget(MAX_TTFT_MS, 'an hour'), itl: sloTarget(MAX_ITL_MS, 'a minute per token') }),
  policy: z.enum(POLICY_KINDS).default('sla'),
  sla: slaOptions.prefault({}),
  load: loadOptions.prefault({}),
  hpa: hpaOptions.prefault({}),
  static: staticOptions.prefault({}),
  forecaster: forecaster.prefault({}),
  /** Profile directory (Dynamo layout: prefill_raw_data.json, decode_raw_data.json), relative to the policy file; "builtin:llama2-70b-h100-tp4" is bundled. */
  profile: z.string().min(1).default('builtin:llama2-70b-h100-tp4'),
  budget: z
    .strictObject({
      /** Total GPUs across all pools; omitted = no budget. */
      maxGpus: z.number().int().positive().max(MAX_BUDGET_GPUS).optional(),
      /** Optional cost ceiling per hour across all pools. */
      maxCostPerHour: positive.optional(),
    })
    .default({}),
  limits: z
    .strictObject({
      maxStepUp: z.number().int().positive().max(MAX_POOL_REPLICAS).default(8),
      maxStepDown: z.number().int().positive().max(MAX_POOL_REPLICAS).default(2),
    })
    .prefault({}),
  stabilization: z
    .strictObject({
      scaleDown: duration('a window', { default: 300 }),
      scaleUp: duration('a window', { default: 0 }),
    })
    .prefault({}),
  spot: spot.prefault({}),
  pools: z.array(pool).min(1, 'at least one pool is needed').max(MAX_POOLS, `at most ${MAX_POOLS} pools per policy; split the model's pools over several policies`),
  schedules: z.array(schedule).default([]),
  /** Roles whose pools all have minReplicas 0 go to zero after this much idle time, and wake on demand (planner/idle.ts). */
  scaleToZero: z
    .strictObject({
      /** No request and an empty queue for this long before such a role is scaled to zero. */
      idleSeconds: duration('an idle time', { default: 300, plainSeconds: true }),
      /** While every pool is at zero, look for demand this often instead of every interval (omitted = every interval). */
      pollInterval: optionalDuration('a poll interval'),
    })
    .prefault({}),
  sources: sources.default({}),
  /** Ticks that may fail in a row before /readyz reports not ready. */
  failureThreshold: z.number().int().positive().default(3),
  /** Wait for a previous scale-up to become ready before stacking another (Dynamo: 180 x 10 s). */
  readinessTimeout: duration('a timeout', { default: 1800 }),
});

/**
 * A policy's or a fleet's metadata. The name is a Kubernetes object name (a DNS-1123 subdomain) because `run` names its
 * Lease after it (pd-planner-<name>, pd-planner-fleet-<name>: at most 253 characters in all); the namespace is a DNS
 * label, as Kubernetes requires. Example: "llama-70b.disagg" passes; "Llama 70B" would make an API server refuse the
 * Lease at the first tick, so validate refuses it.
 */
export const metadataSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(236, 'at most 236 characters (it names the Lease pd-planner-fleet-<name>, at most 253)')
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (a Kubernetes object name: it names the Lease pd-planner-<name>)'),
  namespace: z
    .string()
    .max(63, 'at most 63 characters (a Kubernetes namespace)')
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'use lower-case letters, digits and "-" (a Kubernetes namespace)')
    .optional(),
  labels: z.record(z.string(), z.string()).optional(),
});

export const policyFile = z.strictObject({
  apiVersion: z.literal('pd-planner/v1'),
  kind: z.literal('PlannerPolicy'),
  metadata: metadataSchema,
  spec: policySpec,
});

export type PolicyFile = z.infer<typeof policyFile>;
export type PolicySpec = z.infer<typeof policySpec>;
export type SloSpec = PolicySpec['slo'];
