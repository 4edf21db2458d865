/**
 * The service's MetricSource: Prometheus (traffic and latency), NATS (prefill queue depth) and Kubernetes
 * (replicas of each target, pending pods, Spot evictions) read in parallel, each bounded by its own timeout,
 * merged into one Observation. A source that fails or times out only loses its own fields: the reason goes to
 * `errors` and the other sources still count.
 */
import type { PolicySpec } from '../config/schema.js';
import type { MetricSource } from '../planner/ports.js';
import type { Observation, PoolObservation } from '../planner/types.js';
import type { ObservationPart } from './prometheus.js';
import { messageOf } from '../errors.js';

export type { ObservationPart } from './prometheus.js';

/** Anything that fills part of an Observation for the window ending at `now`. */
export interface PartSource {
  observe(now: number, windowSeconds: number, spec: PolicySpec): Promise<ObservationPart>;
}

/**
 * What a PoolReader returns when it read some pools and not others: the reasons of the others, per pool. They are
 * source errors like a reader that failed whole (`errors["pools.<pool>"]`): the tick fails and the log names them.
 */
export class PartialPools {
  constructor(
    readonly pools: Record<string, PoolObservation>,
    readonly errors: Record<string, string>,
  ) {}
}

/** Per-pool observations keyed by pool name (kube-state, target readers). */
export type PoolReader = (spec: PolicySpec, now: number) => Promise<Record<string, PoolObservation> | PartialPools>;

export interface ClusterMetricSourceParts {
  prometheus?: PartSource;
  queue?: PartSource;
  /** Pending pods, evictions, eviction notices per pool. */
  kubeState?: PoolReader | { poolObservations: PoolReader };
  /** Current (spec) and ready replicas of each pool's target. */
  readTargets?: PoolReader;
  /** Upper bound for the Kubernetes readers (s); default 10. Prometheus and NATS use their own configured timeouts. */
  kubeTimeoutSeconds?: number;
}

/** Rejects with `message` after `seconds`; the slow promise is left to settle on its own. */
async function bounded<T>(promise: Promise<T>, seconds: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), seconds * 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Field-wise merge: later readers fill what earlier ones left out; both keep their own fields. */
export function mergePools(...sets: (Record<string, PoolObservation> | undefined)[]): Record<string, PoolObservation> | undefined {
  const out: Record<string, PoolObservation> = {};
  let any = false;
  for (const set of sets) {
    if (!set) continue;
    for (const [pool, obs] of Object.entries(set)) {
      any = true;
      out[pool] = { ...out[pool], ...obs };
    }
  }
  return any ? out : undefined;
}

export function createClusterMetricSource(parts: ClusterMetricSourceParts): MetricSource {
  const kubeTimeout = parts.kubeTimeoutSeconds ?? 10;
  const kubeState: PoolReader | undefined =
    typeof parts.kubeState === 'function'
      ? parts.kubeState
      : parts.kubeState
        ? (spec, now) => (parts.kubeState as { poolObservations: PoolReader }).poolObservations(spec, now)
        : undefined;

  return {
    async observe(now, windowSeconds, spec): Promise<Observation> {
      const errors: Record<string, string> = {};
      // A little over the source's own timeout, so its own (better) message normally wins the race.
      const promTimeout = (spec.sources.prometheus?.timeout ?? 10) + 1;
      const queueTimeout = (spec.sources.queue?.timeout ?? 5) + 1;
      const part = async (name: string, source: PartSource | undefined, seconds: number): Promise<ObservationPart> => {
        if (!source) return {};
        try {
          return await bounded(source.observe(now, windowSeconds, spec), seconds, `${name} did not answer within ${seconds}s`);
        } catch (error) {
          return { errors: { [name]: `${name}: ${messageOf(error)}` } };
        }
      };
      const pools = async (name: string, reader: PoolReader | undefined) => {
        if (!reader) return undefined;
        try {
          const read = await bounded(reader(spec, now), kubeTimeout, `did not answer within ${kubeTimeout}s`);
          if (!(read instanceof PartialPools)) return read;
          for (const [pool, why] of Object.entries(read.errors)) errors[`pools.${pool}`] = `kubernetes ${name}: ${pool}: ${why}`;
          return read.pools;
        } catch (error) {
          errors[name] = `kubernetes ${name}: ${messageOf(error)}`;
          return undefined;
        }
      };

      const [prom, queue, targets, state] = await Promise.all([
        part('prometheus', parts.prometheus, promTimeout),
        part('queue', parts.queue, queueTimeout),
        pools('targets', parts.readTargets),
        pools('kubeState', kubeState),
      ]);

      const observation: Observation = { time: new Date(now).toISOString(), windowSeconds };
      for (const p of [prom, queue]) {
        const { errors: partErrors, ...values } = p;
        Object.assign(observation, values);
        Object.assign(errors, partErrors);
      }
      // A failed queue source whose own message did not say which field: name it.
      if (errors.queue && observation.queueDepth === undefined && !errors.queueDepth) {
        errors.queueDepth = errors.queue;
        delete errors.queue;
      }
      if (errors.prometheus && observation.requests === undefined && !errors.requests) {
        errors.requests = errors.prometheus;
        delete errors.prometheus;
      }
      const merged = mergePools(targets, state);
      if (merged) observation.pools = merged;
      if (Object.keys(errors).length > 0) observation.errors = errors;
      return observation;
    },
    // A panic poll reads the queue alone: no Prometheus or Kubernetes call until it is due.
    async observeQueue(now, spec): Promise<number | undefined> {
      if (!parts.queue || !spec.sources.queue) return undefined;
      const seconds = spec.sources.queue.timeout + 1;
      const part = await bounded(parts.queue.observe(now, 0, spec), seconds, `queue did not answer within ${seconds}s`);
      if (part.errors && Object.keys(part.errors).length > 0) throw new Error(Object.values(part.errors).join('; '));
      return part.queueDepth;
    },
  };
}
