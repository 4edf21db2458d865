/**
 * The Kubernetes connector: sets each pool's replicas on its Dynamo target.
 *
 * Per apply: one GET of each graph however many pools target it (pools in policy order); every pool of a graph
 * resolved to its component first (two pools on one component are an error for both); then each pool through the
 * one write path (scale-write.ts) on its target (scale-targets.ts: the scaling adapter's `/scale`, the graph on 404,
 * or the DynamoComponentDeployment). The readiness gate (no scale-up on a component still becoming ready, nothing
 * during a rolling update) is part of the decision (constraints/readiness.ts), fed by the counts targets.ts reads.
 * The hold marks of the decision (planner/write-rule.ts): a pool with `writable: false` is not read nor written; a
 * held pool is never written below the count its target holds now.
 * Always: field manager `pd-planner`; no PATCH when the spec already holds the count; 409 -> re-read and retry;
 * 429/5xx/timeouts -> bounded backoff (retry.ts) within the tick's budget (its deadline; cut off at once when the
 * tick is given up or the planner stops); `canAct()` is asked right before each write, and a write runs within the
 * term of leadership it began in (a wait or a request ends the moment it ends); dry-run logs the patch and writes
 * nothing.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import { messageOf } from '../errors.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import type { Decision, PoolObservation } from '../planner/types.js';
import { notWritableLine, writeRule } from '../planner/write-rule.js';
import { DynamoApi } from './dynamo-api.js';
import { resolveComponent, type DynamoVersion, type GraphComponent, type KubeObject } from './graph.js';
import type { CallBudget, RetryOptions } from './retry.js';
import { ComponentDeploymentTarget, GraphComponentTarget } from './scale-targets.js';
import { ScaleWriter, type WriteAbandoned } from './scale-write.js';
import { poolsOrThrow, readTargets, serviceOf, targetRef, type GraphRef, type TargetReadResult, type TargetRef } from './targets.js';

export type { TargetReadResult } from './targets.js';
export type { WriteAbandoned } from './scale-write.js';

export interface KubernetesConnectorOptions {
  kubeConfig: k8s.KubeConfig;
  /** The planner's namespace: the default for targets without one. */
  namespace: string;
  /** Log the patch each pool would get; write nothing. */
  dryRun?: boolean;
  logger?: Logger;
  /** Leader guard, asked right before every write: false -> no write, the pool's result says "not leader". */
  canAct?: () => boolean;
  /** Backoff sleeps (injectable for tests); must reject when `signal` aborts. */
  sleep?: RetryOptions['sleep'];
  /**
   * The budget of the calls made now (the service's: the running tick's deadline, its timeout, the planner's stop);
   * every read and write, retries included, ends within it. Default: none.
   */
  callBudget?: () => CallBudget;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Backoff for 429/5xx/timeouts (defaults: 5 attempts, 250 ms doubling to 8 s, Retry-After up to 30 s). */
  retry?: Partial<Omit<RetryOptions, 'sleep'>>;
  /** Re-read-and-retry rounds on 409 Conflict (default 3). */
  conflictRetries?: number;
  /** Called for each write given up while under way: leadership lost, or its tick ended (scale-write.ts). */
  onWriteAbandoned?: (abandoned: WriteAbandoned) => void;
  /** Force an API version instead of discovering it (GET /apis/nvidia.com). */
  version?: DynamoVersion;
}

export interface KubernetesConnector extends Connector {
  /** Spec and ready replicas of every pool's target; pools that could not be read are in `errors`. */
  readTargetsDetailed(spec: PolicySpec): Promise<TargetReadResult>;
  /** MetricSource PoolReader shape: the pools it could read; throws only when none could be read. */
  readTargets(spec: PolicySpec, now?: number): Promise<Record<string, PoolObservation>>;
  /** The nvidia.com version in use (discovered on first use). */
  apiVersion(): Promise<DynamoVersion>;
}

interface PoolJob {
  pool: PoolSpec;
  desired: number;
  /** Set when the decision was a hold: no write below the current count (planner/write-rule.ts). */
  holdWhy?: string;
}

class DynamoConnector implements KubernetesConnector {
  readonly #api: DynamoApi;
  readonly #namespace: string;
  readonly #canAct: () => boolean;
  readonly #writer: ScaleWriter;

  constructor(options: KubernetesConnectorOptions) {
    this.#api = new DynamoApi(options);
    this.#namespace = options.namespace;
    this.#canAct = options.canAct ?? (() => true);
    this.#writer = new ScaleWriter({
      log: this.#api.log,
      canAct: this.#canAct,
      dryRun: options.dryRun ?? false,
      conflictRetries: options.conflictRetries ?? 3,
      ...(options.onWriteAbandoned ? { onAbandoned: options.onWriteAbandoned } : {}),
    });
  }

  async apply(decision: Decision, spec: PolicySpec): Promise<ApplyResult> {
    const result: ApplyResult = { pools: {}, errors: {} };
    const jobs: { ref: TargetRef; job: PoolJob }[] = [];
    for (const pool of spec.pools) {
      const decided = decision.pools[pool.name];
      if (!decided) {
        result.pools[pool.name] = 'no decision for this pool: nothing done';
        continue;
      }
      if (!pool.target) {
        result.pools[pool.name] = 'no target: nothing to scale';
        continue;
      }
      const rule = writeRule(decision, pool.name);
      if (rule.kind === 'none') {
        result.pools[pool.name] = notWritableLine(rule.why);
        this.#api.log.warn({ pool: pool.name, why: rule.why }, `${pool.name}: nothing known of its count; nothing written`);
        continue;
      }
      if (!Number.isInteger(decided.desired) || decided.desired < 0) {
        result.pools[pool.name] = 'error';
        result.errors[pool.name] = `desired replicas ${decided.desired} is not a non-negative integer; nothing written`;
        continue;
      }
      const job: PoolJob = { pool, desired: decided.desired, ...(rule.kind === 'not-below-current' ? { holdWhy: rule.why } : {}) };
      jobs.push({ ref: targetRef(pool.target, this.#namespace), job });
    }
    if (jobs.length === 0) return result;
    let version: DynamoVersion;
    try {
      version = await this.#api.version();
    } catch (error) {
      for (const { job } of jobs) {
        result.pools[job.pool.name] = 'error';
        result.errors[job.pool.name] = `cannot discover the nvidia.com API version: ${messageOf(error)}`;
      }
      return result;
    }
    // One graph read per graph, however many pools target it; pools in policy order.
    const graphs = new Map<string, { ref: GraphRef; jobs: PoolJob[] }>();
    const order: (() => Promise<void>)[] = [];
    for (const { ref, job } of jobs) {
      if (ref.kind === 'DynamoGraphDeployment') {
        const key = `${ref.namespace}/${ref.name}`;
        const group = graphs.get(key);
        if (group) group.jobs.push(job);
        else {
          const entry = { ref, jobs: [job] };
          graphs.set(key, entry);
          order.push(() => this.#applyGraph(result, entry.ref, entry.jobs, version));
        }
      } else {
        order.push(() => this.#applyComponentDeployment(result, ref, job, version));
      }
    }
    for (const step of order) await step();
    return result;
  }

  readTargetsDetailed(spec: PolicySpec): Promise<TargetReadResult> {
    return readTargets(this.#api, this.#namespace, spec);
  }

  async readTargets(spec: PolicySpec): Promise<Record<string, PoolObservation>> {
    return poolsOrThrow(await readTargets(this.#api, this.#namespace, spec), this.#api.log);
  }

  apiVersion(): Promise<DynamoVersion> {
    return this.#api.version();
  }

  async #applyGraph(result: ApplyResult, ref: GraphRef, jobs: PoolJob[], version: DynamoVersion): Promise<void> {
    const fail = (job: PoolJob, error: unknown) => {
      result.errors[job.pool.name] = messageOf(error);
      result.pools[job.pool.name] = 'error';
    };
    let dgd: KubeObject;
    try {
      dgd = await this.#api.getGraph(ref, version);
    } catch (error) {
      for (const job of jobs) fail(job, error);
      return;
    }
    // Resolve every pool first: two pools on one component would fight over it.
    const resolved = new Map<PoolJob, GraphComponent>();
    const owners = new Map<string, string[]>();
    for (const job of jobs) {
      try {
        const component = resolveComponent(dgd, job.pool.role, serviceOf(job.pool));
        resolved.set(job, component);
        owners.set(component.name, [...(owners.get(component.name) ?? []), job.pool.name]);
      } catch (error) {
        fail(job, error);
      }
    }
    for (const job of jobs) {
      const component = resolved.get(job);
      if (!component) continue;
      const sharing = owners.get(component.name) ?? [];
      if (sharing.length > 1) {
        fail(job, new Error(`pools ${sharing.join(', ')} all resolve to component "${component.name}" of DynamoGraphDeployment ${ref.namespace}/${ref.name}; give each pool its own target.service`));
        continue;
      }
      try {
        const target = new GraphComponentTarget(this.#api, ref, version, job.pool, component, this.#canAct);
        await this.#writer.scale(result, job.pool.name, job.desired, target, job.holdWhy);
      } catch (error) {
        fail(job, error);
      }
    }
  }

  async #applyComponentDeployment(result: ApplyResult, ref: TargetRef, job: PoolJob, version: DynamoVersion): Promise<void> {
    const pool = job.pool.name;
    try {
      const target = new ComponentDeploymentTarget(this.#api, ref, version, pool, this.#canAct);
      await this.#writer.scale(result, pool, job.desired, target, job.holdWhy);
    } catch (error) {
      result.errors[pool] = messageOf(error);
      result.pools[pool] = 'error';
    }
  }
}

export function createKubernetesConnector(options: KubernetesConnectorOptions): KubernetesConnector {
  return new DynamoConnector(options);
}
