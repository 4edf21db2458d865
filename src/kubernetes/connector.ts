/**
 * The Kubernetes connector: sets each pool's replicas on its Dynamo target.
 *
 * Per pool target (several pools may share one graph):
 * - DynamoGraphDeployment component: one GET of the graph per apply; skip while its Ready condition is not True;
 *   PATCH the component's DynamoGraphDeploymentScalingAdapter `/scale` with `{"spec":{"replicas":N}}`; only on
 *   404, patch the graph itself (merge patch on v1alpha1, JSON patch with a `test` op on v1beta1).
 * - DynamoComponentDeployment: merge patch `{"spec":{"replicas":N}}`.
 * Always: field manager `pd-planner`; no PATCH when the spec already holds the count; 409 -> re-read and retry;
 * 429/5xx/timeouts -> bounded backoff (retry.ts); a scale-up is not stacked on a component still becoming ready
 * (readinessTimeout bounds the wait, across ticks, without blocking the tick); `canAct()` is asked right before
 * each write; dry-run logs the patch and writes nothing.
 */
import type * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { PolicySpec, PoolSpec, PoolTarget } from '../config/schema.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import type { Decision, PoolObservation } from '../planner/types.js';
import { createKubeClient, objectPath, type KubeClient } from './client.js';
import { DynamoComponentDeploymentNotFoundError, DynamoGraphDeploymentNotFoundError, KubeApiError, messageOf } from './errors.js';
import {
  adapterName,
  componentDeploymentReplicas,
  readyCondition,
  replicaStatus,
  resolveComponent,
  type DynamoVersion,
  type GraphComponent,
  type KubeObject,
  type ReplicaCounts,
} from './graph.js';
import { graphFallbackPatch, MERGE_PATCH, replicasMergePatch } from './patches.js';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from './retry.js';

export interface KubernetesConnectorOptions {
  kubeConfig: k8s.KubeConfig;
  /** The planner's namespace: the default for targets without one. */
  namespace: string;
  /** Log the patch each pool would get; write nothing. */
  dryRun?: boolean;
  logger?: Logger;
  /** Leader guard, asked right before every write: false -> no write, the pool's result says "not leader". */
  canAct?: () => boolean;
  /** Epoch ms (injectable for tests). */
  now?: () => number;
  /** Backoff sleeps (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Backoff for 429/5xx/timeouts (defaults: 5 attempts, 250 ms doubling to 8 s, Retry-After up to 30 s). */
  retry?: Partial<Omit<RetryOptions, 'sleep'>>;
  /** Re-read-and-retry rounds on 409 Conflict (default 3). */
  conflictRetries?: number;
  /** Force an API version instead of discovering it (GET /apis/nvidia.com). */
  version?: DynamoVersion;
}

export interface TargetReadResult {
  pools: Record<string, PoolObservation>;
  /** Pool name -> why its target could not be read. */
  errors: Record<string, string>;
}

export interface KubernetesConnector extends Connector {
  /** Spec and ready replicas of every pool's target; pools that could not be read are in `errors`. */
  readTargetsDetailed(spec: PolicySpec): Promise<TargetReadResult>;
  /** MetricSource PoolReader shape: the pools it could read; throws only when none could be read. */
  readTargets(spec: PolicySpec, now?: number): Promise<Record<string, PoolObservation>>;
  /** The nvidia.com version in use (discovered on first use). */
  apiVersion(): Promise<DynamoVersion>;
}

type TargetRef =
  | { kind: 'DynamoGraphDeployment'; namespace: string; name: string; service?: string }
  | { kind: 'DynamoComponentDeployment'; namespace: string; name: string };

function targetRef(target: PoolTarget, defaultNamespace: string): TargetRef {
  const namespace = target.namespace ?? defaultNamespace;
  return target.kind === 'DynamoGraphDeployment'
    ? { kind: target.kind, namespace, name: target.name, service: target.service }
    : { kind: target.kind, namespace, name: target.name };
}

function serviceOf(pool: PoolSpec): string | undefined {
  return pool.target?.kind === 'DynamoGraphDeployment' ? pool.target.service : undefined;
}

/** Shared between apply() and readTargets(): the pieces that talk to the API server. */
interface Context {
  client: KubeClient;
  log: Logger;
  retry: RetryOptions;
  version: () => Promise<DynamoVersion>;
}

async function call<T>(ctx: Context, what: () => Promise<T>): Promise<T> {
  return withRetry(what, ctx.retry, (error, attempt, delayMs) => ctx.log.warn({ err: error.message, attempt, delayMs }, 'kubernetes API call failed; backing off'));
}

/** Leadership ended between two tries of a write (during a backoff): the write is dropped, not retried. */
class LeadershipLostError extends Error {
  constructor() {
    super('leadership lost before the write was sent');
    this.name = 'LeadershipLostError';
  }
}

/**
 * A write retried with backoff that asks `canAct()` before EVERY try, not only the first: the Lease can be lost, or
 * the tick abandoned on shutdown, while we sleep between tries (up to 3.75 s with the defaults), and a retry sent
 * after that could race the new leader's writes.
 */
async function guardedWrite<T>(ctx: Context, canAct: () => boolean, what: () => Promise<T>): Promise<T> {
  return call(ctx, () => {
    if (!canAct()) return Promise.reject(new LeadershipLostError());
    return what();
  });
}

async function getGraph(ctx: Context, ref: TargetRef, version: DynamoVersion): Promise<KubeObject> {
  try {
    return await call(ctx, () => ctx.client.get('dynamographdeployments', ref.namespace, ref.name, version));
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) throw new DynamoGraphDeploymentNotFoundError(ref.name, ref.namespace);
    throw error;
  }
}

async function getComponentDeployment(ctx: Context, ref: TargetRef, version: DynamoVersion): Promise<KubeObject> {
  try {
    return await call(ctx, () => ctx.client.get('dynamocomponentdeployments', ref.namespace, ref.name, version));
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) throw new DynamoComponentDeploymentNotFoundError(ref.name, ref.namespace);
    throw error;
  }
}

function makeContext(options: KubernetesConnectorOptions): Context {
  const log = options.logger ?? pino({ enabled: false });
  const client = createKubeClient(options.kubeConfig, { timeoutMs: options.requestTimeoutMs ?? 10_000 });
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry, sleep };
  let discovered: Promise<DynamoVersion> | undefined;
  const ctx: Context = {
    client,
    log,
    retry,
    version: () => {
      if (options.version) return Promise.resolve(options.version);
      discovered ??= call(ctx, () => client.discoverVersions()).then((versions) => {
        const chosen = versions[0];
        if (!chosen) throw new Error('GET /apis/nvidia.com lists neither v1beta1 nor v1alpha1; pd-planner supports those two Dynamo API versions');
        log.info({ served: versions, using: chosen }, 'nvidia.com API version');
        return chosen;
      });
      // A failed discovery is retried on the next call, not cached.
      discovered.catch(() => {
        discovered = undefined;
      });
      return discovered;
    },
  };
  return ctx;
}

export function createKubernetesConnector(options: KubernetesConnectorOptions): KubernetesConnector {
  const ctx = makeContext(options);
  const log = ctx.log;
  const now = options.now ?? Date.now;
  const canAct = options.canAct ?? (() => true);
  const conflictRetries = options.conflictRetries ?? 3;
  /** When a graph was first seen not Ready / a component first seen becoming ready (epoch ms), by key. */
  const notReadySince = new Map<string, number>();
  const becomingReadySince = new Map<string, number>();

  interface PoolJob {
    pool: PoolSpec;
    desired: number;
  }

  /**
   * The readiness gate for a scale-up. A component with fewer ready (or updated) replicas than its spec is still
   * coming up: adding more now would stack a second scale-up on the first (Dynamo waits 180 x 10 s for Ready).
   * We skip for up to readinessTimeout after first seeing it so, then scale anyway and say it timed out.
   * A component without status counts cannot be checked and is not held back.
   */
  function scaleUpGate(key: string, label: string, status: ReplicaCounts | undefined, specReplicas: number | undefined, timeoutSeconds: number): { ok: true; timedOut?: string } | { ok: false; reason: string } {
    if (!status) {
      becomingReadySince.delete(key);
      return { ok: true };
    }
    const s = replicaStatus(specReplicas, status);
    if (s.ready >= s.desired && s.updated >= s.desired) {
      becomingReadySince.delete(key);
      return { ok: true };
    }
    const t = now();
    const since = becomingReadySince.get(key) ?? t;
    becomingReadySince.set(key, since);
    const waited = Math.round((t - since) / 1000);
    if (waited < timeoutSeconds) {
      return { ok: false, reason: `skipped: ${label} is still becoming ready (${s.ready}/${s.desired} ready, ${s.updated} updated); waited ${waited}s of ${timeoutSeconds}s before adding more` };
    }
    becomingReadySince.delete(key);
    return { ok: true, timedOut: `${label} is not ready after ${timeoutSeconds}s (${s.ready}/${s.desired} ready); scaling anyway` };
  }

  /** One write: leader check, dry-run, then the write; sets the pool's result line. True when something was written. */
  async function write(result: ApplyResult, poolName: string, describe: string, doWrite: () => Promise<string | undefined>): Promise<boolean> {
    if (!canAct()) {
      result.pools[poolName] = `not leader: no write (would ${describe})`;
      log.warn({ pool: poolName }, 'not the leader; nothing written');
      return false;
    }
    if (options.dryRun) {
      result.pools[poolName] = `dry-run: would ${describe}`;
      log.info({ pool: poolName, patch: describe }, 'dry-run: patch not sent');
      return false;
    }
    let line: string | undefined;
    try {
      line = await doWrite();
    } catch (error) {
      if (!(error instanceof LeadershipLostError)) throw error;
      log.warn({ pool: poolName }, 'leadership lost before the write was (re)sent; nothing more written');
    }
    if (line === undefined) {
      result.pools[poolName] = `not leader: no write (would ${describe})`;
      return false;
    }
    result.pools[poolName] = line;
    return true;
  }

  async function applyGraph(result: ApplyResult, ref: TargetRef & { kind: 'DynamoGraphDeployment' }, jobs: PoolJob[], spec: PolicySpec, version: DynamoVersion): Promise<void> {
    const graphKey = `dgd/${ref.namespace}/${ref.name}`;
    const fail = (job: PoolJob, error: unknown) => {
      result.errors[job.pool.name] = messageOf(error);
      result.pools[job.pool.name] = 'error';
    };
    let dgd: KubeObject;
    try {
      dgd = await getGraph(ctx, ref, version);
    } catch (error) {
      for (const job of jobs) fail(job, error);
      return;
    }
    const ready = readyCondition(dgd);
    const timeout = spec.readinessTimeout;
    let graphNotReady: string | undefined;
    if (!ready.ready) {
      const t = now();
      const since = notReadySince.get(graphKey) ?? t;
      notReadySince.set(graphKey, since);
      const waited = Math.round((t - since) / 1000);
      const why = ready.status === undefined ? 'no Ready condition' : `Ready=${ready.status}${ready.reason ? `, reason ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''}`;
      const rolling = /rolling/i.test(ready.reason ?? '');
      if (waited < timeout && rolling) {
        for (const job of jobs) {
          result.pools[job.pool.name] = `skipped: DynamoGraphDeployment ${ref.namespace}/${ref.name} is not Ready (${why}); not scaling for ${waited}s of ${timeout}s`;
        }
        log.info({ graph: graphKey, why }, 'graph is rolling out, ignoring this scaling');
        return;
      }
      if (waited < timeout) {
        // Dynamo skips the whole graph while it is not Ready. Short of a rolling update, we still let a STABLE
        // component grow: a Spot eviction makes the graph not Ready, and that is exactly when the on-demand
        // component must take the need over (SPEC 10: within one tick). Scale-downs and components still coming
        // up wait, as Dynamo's do.
        graphNotReady = `DynamoGraphDeployment ${ref.namespace}/${ref.name} is not Ready (${why}); not scaling for ${waited}s of ${timeout}s`;
        log.info({ graph: graphKey, why }, 'graph is not ready: only scale-ups of stable components go ahead');
      } else {
        notReadySince.delete(graphKey);
        for (const job of jobs) result.errors[job.pool.name] = `DynamoGraphDeployment ${ref.namespace}/${ref.name} is not ready after ${timeout}s (${why}); scaling anyway`;
      }
    } else {
      notReadySince.delete(graphKey);
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
      if (graphNotReady) {
        const status = replicaStatus(component.replicas, component.status);
        const growsStable = job.desired > (component.replicas ?? 0) && status.ready >= status.desired && status.updated >= status.desired;
        if (!growsStable) {
          result.pools[job.pool.name] = `skipped: ${graphNotReady}`;
          continue;
        }
      }
      try {
        dgd = await scaleGraphComponent(result, ref, dgd, component, job, spec, version);
      } catch (error) {
        fail(job, error);
      }
    }
  }

  /** Scales one component; returns the freshest graph it read (re-reads happen on conflicts). */
  async function scaleGraphComponent(
    result: ApplyResult,
    ref: TargetRef & { kind: 'DynamoGraphDeployment' },
    graph: KubeObject,
    initial: GraphComponent,
    job: PoolJob,
    spec: PolicySpec,
    version: DynamoVersion,
  ): Promise<KubeObject> {
    let dgd = graph;
    let component = initial;
    const poolName = job.pool.name;
    const key = `dgd/${ref.namespace}/${ref.name}/${component.name}`;
    for (let round = 0; ; round += 1) {
      const current = component.replicas ?? 0;
      if (current === job.desired) {
        result.pools[poolName] = `unchanged (${current})`;
        return dgd;
      }
      if (job.desired > current) {
        const gate = scaleUpGate(key, `component ${component.name} of ${ref.namespace}/${ref.name}`, component.status, component.replicas, spec.readinessTimeout);
        if (!gate.ok) {
          result.pools[poolName] = gate.reason;
          return dgd;
        }
        if (gate.timedOut) result.errors[poolName] = gate.timedOut;
      }
      const adapter = adapterName(ref.name, component.name);
      const scalePath = objectPath('dynamographdeploymentscalingadapters', ref.namespace, adapter, version, 'scale');
      const describe = `PATCH ${scalePath} ${JSON.stringify(replicasMergePatch(job.desired))} (${current}->${job.desired}; on 404 the graph itself)`;
      try {
        const written = await write(result, poolName, describe, async () => {
          try {
            await guardedWrite(ctx, canAct, () =>
              ctx.client.patch({ plural: 'dynamographdeploymentscalingadapters', namespace: ref.namespace, name: adapter, version, subresource: 'scale' }, replicasMergePatch(job.desired), MERGE_PATCH),
            );
            log.info({ pool: poolName, adapter, from: current, to: job.desired }, 'scaled through DynamoGraphDeploymentScalingAdapter');
            return `patched ${current}->${job.desired} (DynamoGraphDeploymentScalingAdapter ${adapter}/scale)`;
          } catch (error) {
            if (!(error instanceof KubeApiError) || error.status !== 404) throw error;
          }
          // Only a 404 from /scale lands here: no adapter for this component (or no DGDSA CRD).
          const fallback = graphFallbackPatch(version, component, job.desired);
          if (!canAct()) return undefined;
          await guardedWrite(ctx, canAct, () => ctx.client.patch({ plural: 'dynamographdeployments', namespace: ref.namespace, name: ref.name, version }, fallback.body, fallback.contentType));
          log.info({ pool: poolName, graph: ref.name, component: component.name, from: current, to: job.desired }, 'scaled by patching the DynamoGraphDeployment (no scaling adapter)');
          return `patched ${current}->${job.desired} (DynamoGraphDeployment ${ref.name} component ${component.name}; no scaling adapter)`;
        });
        if (written && job.desired > current) becomingReadySince.set(key, now());
        return dgd;
      } catch (error) {
        const conflict = error instanceof KubeApiError && error.status === 409;
        // A failed JSON-patch `test` (422) means spec.components moved under us: re-read and retry like a conflict.
        const moved = error instanceof KubeApiError && error.status === 422 && version === 'v1beta1' && /test/i.test(error.detail);
        if (!(conflict || moved) || round >= conflictRetries) throw error;
        log.warn({ pool: poolName, err: (error as Error).message, round: round + 1 }, 'write conflicted; re-reading the graph and retrying');
        dgd = await getGraph(ctx, ref, version);
        component = resolveComponent(dgd, job.pool.role, serviceOf(job.pool));
        if (moved && component.index === initial.index) throw error;
      }
    }
  }

  async function applyComponentDeployment(result: ApplyResult, ref: TargetRef, job: PoolJob, spec: PolicySpec, version: DynamoVersion): Promise<void> {
    const poolName = job.pool.name;
    const key = `dcd/${ref.namespace}/${ref.name}`;
    const path = objectPath('dynamocomponentdeployments', ref.namespace, ref.name, version);
    try {
      for (let round = 0; ; round += 1) {
        const dcd = await getComponentDeployment(ctx, ref, version);
        const { specReplicas, status } = componentDeploymentReplicas(dcd);
        const current = specReplicas ?? 0;
        if (current === job.desired) {
          result.pools[poolName] = `unchanged (${current})`;
          return;
        }
        if (job.desired > current) {
          const gate = scaleUpGate(key, `DynamoComponentDeployment ${ref.namespace}/${ref.name}`, status, specReplicas, spec.readinessTimeout);
          if (!gate.ok) {
            result.pools[poolName] = gate.reason;
            return;
          }
          if (gate.timedOut) result.errors[poolName] = gate.timedOut;
        }
        try {
          const written = await write(result, poolName, `PATCH ${path} ${JSON.stringify(replicasMergePatch(job.desired))} (${current}->${job.desired})`, async () => {
            await guardedWrite(ctx, canAct, () => ctx.client.patch({ plural: 'dynamocomponentdeployments', namespace: ref.namespace, name: ref.name, version }, replicasMergePatch(job.desired), MERGE_PATCH));
            log.info({ pool: poolName, dcd: ref.name, from: current, to: job.desired }, 'scaled DynamoComponentDeployment');
            return `patched ${current}->${job.desired} (DynamoComponentDeployment ${ref.name})`;
          });
          if (written && job.desired > current) becomingReadySince.set(key, now());
          return;
        } catch (error) {
          if (!(error instanceof KubeApiError && error.status === 409) || round >= conflictRetries) throw error;
          log.warn({ pool: poolName, round: round + 1 }, 'write conflicted; re-reading and retrying');
        }
      }
    } catch (error) {
      result.errors[poolName] = messageOf(error);
      result.pools[poolName] = 'error';
    }
  }

  const connector: KubernetesConnector = {
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
        if (!Number.isInteger(decided.desired) || decided.desired < 0) {
          result.pools[pool.name] = 'error';
          result.errors[pool.name] = `desired replicas ${decided.desired} is not a non-negative integer; nothing written`;
          continue;
        }
        jobs.push({ ref: targetRef(pool.target, options.namespace), job: { pool, desired: decided.desired } });
      }
      if (jobs.length === 0) return result;
      let version: DynamoVersion;
      try {
        version = await ctx.version();
      } catch (error) {
        for (const { job } of jobs) {
          result.pools[job.pool.name] = 'error';
          result.errors[job.pool.name] = `cannot discover the nvidia.com API version: ${messageOf(error)}`;
        }
        return result;
      }
      // One graph read per graph, however many pools target it; pools in policy order.
      const graphs = new Map<string, { ref: TargetRef & { kind: 'DynamoGraphDeployment' }; jobs: PoolJob[] }>();
      const order: (() => Promise<void>)[] = [];
      for (const { ref, job } of jobs) {
        if (ref.kind === 'DynamoGraphDeployment') {
          const key = `${ref.namespace}/${ref.name}`;
          const group = graphs.get(key);
          if (group) group.jobs.push(job);
          else {
            const entry = { ref, jobs: [job] };
            graphs.set(key, entry);
            order.push(() => applyGraph(result, entry.ref, entry.jobs, spec, version));
          }
        } else {
          order.push(() => applyComponentDeployment(result, ref, job, spec, version));
        }
      }
      for (const step of order) await step();
      return result;
    },

    async readTargetsDetailed(spec: PolicySpec): Promise<TargetReadResult> {
      return readTargetsWith(ctx, options.namespace, spec);
    },

    async readTargets(spec: PolicySpec): Promise<Record<string, PoolObservation>> {
      const { pools, errors } = await readTargetsWith(ctx, options.namespace, spec);
      return poolsOrThrow(pools, errors, log);
    },

    apiVersion: () => ctx.version(),
  };
  return connector;
}

function poolsOrThrow(pools: Record<string, PoolObservation>, errors: Record<string, string>, log: Logger): Record<string, PoolObservation> {
  const failed = Object.entries(errors);
  if (failed.length > 0 && Object.keys(pools).length === 0) throw new Error(failed.map(([pool, why]) => `${pool}: ${why}`).join('; '));
  for (const [pool, why] of failed) log.warn({ pool, err: why }, 'could not read the pool target');
  return pools;
}

async function readTargetsWith(ctx: Context, defaultNamespace: string, spec: PolicySpec): Promise<TargetReadResult> {
  const out: TargetReadResult = { pools: {}, errors: {} };
  const withTarget = spec.pools.filter((p) => p.target);
  if (withTarget.length === 0) return out;
  let version: DynamoVersion;
  try {
    version = await ctx.version();
  } catch (error) {
    for (const p of withTarget) out.errors[p.name] = `cannot discover the nvidia.com API version: ${messageOf(error)}`;
    return out;
  }
  const graphs = new Map<string, Promise<KubeObject>>();
  for (const pool of withTarget) {
    const ref = targetRef(pool.target as PoolTarget, defaultNamespace);
    try {
      if (ref.kind === 'DynamoGraphDeployment') {
        const key = `${ref.namespace}/${ref.name}`;
        if (!graphs.has(key)) graphs.set(key, getGraph(ctx, ref, version));
        const dgd = await (graphs.get(key) as Promise<KubeObject>);
        const component = resolveComponent(dgd, pool.role, ref.service);
        const s = replicaStatus(component.replicas, component.status);
        out.pools[pool.name] = { desired: s.desired, ...(component.status ? { ready: s.ready } : {}) };
      } else {
        const dcd = await getComponentDeployment(ctx, ref, version);
        const { specReplicas, status } = componentDeploymentReplicas(dcd);
        const s = replicaStatus(specReplicas, status);
        out.pools[pool.name] = { desired: s.desired, ...(status ? { ready: s.ready } : {}) };
      }
    } catch (error) {
      out.errors[pool.name] = messageOf(error);
    }
  }
  return out;
}

/** Reads every pool's target once: `{ desired, ready }` per pool (for the MetricSource), plus per-pool errors. */
export async function readTargets(options: Omit<KubernetesConnectorOptions, 'dryRun' | 'canAct'>, spec: PolicySpec): Promise<TargetReadResult> {
  return readTargetsWith(makeContext(options), options.namespace, spec);
}
