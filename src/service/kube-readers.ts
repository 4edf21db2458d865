/**
 * The Kubernetes parts of the service's metric source, shared by every policy of the process: pending pods and
 * evictions from the informers, and each pool's replicas from the informers' caches (the API server only for what
 * they cannot answer yet).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { messageOf } from '../errors.js';
import type { KubernetesConnector } from '../kubernetes/index.js';
import { createKubeState, type KubeState } from '../kubernetes/informers/kube-state.js';
import type { Logger } from '../log.js';
import type { PolicySpec } from '../config/schema.js';
import { PartialPools, type PoolReader } from '../sources/cluster-source.js';
import { targetKey } from './policy-set.js';

export interface KubeStateReader {
  read: PoolReader;
  targets: KubeState['targets'];
  stop: () => void;
}

/**
 * Pending pods, evictions and eviction notices per pool (informers). Started lazily and again after a failed start,
 * so a planner started while the API server is unreachable recovers by itself.
 *
 * One instance serves every policy: one watch per resource type and namespace, not one per graph. Its answers are
 * keyed by pool name, and pool names repeat across policies ("prefill-od" in each), so each call renames the pools
 * to their target key (unique across policies: policy-set.ts refuses two policies scaling one target) and back.
 */
export function kubeStateReader(kubeConfig: KubeConfig, namespace: string, spec: PolicySpec, logger: Logger): KubeStateReader {
  const state = createKubeState({ kubeConfig, namespace, spec, logger });
  let started: Promise<void> | undefined;
  const start = () =>
    (started ??= state.start().catch((error: unknown) => {
      started = undefined;
      state.stop();
      throw new Error(`could not start the pod/node informers: ${messageOf(error)}`);
    }));
  return {
    targets: (current) => state.targets(current),
    read: async (current, now) => {
      await start();
      const byKey = new Map<string, string>();
      const keyed = {
        ...current,
        pools: current.pools.map((pool) => {
          const key = targetKey(pool, namespace);
          if (!key) return pool;
          byKey.set(key, pool.name);
          return { ...pool, name: key };
        }),
      };
      const observed = state.poolObservations(keyed, now);
      return Object.fromEntries(Object.entries(observed).map(([key, obs]) => [byKey.get(key) ?? key, obs]));
    },
    stop: () => state.stop(),
  };
}

/**
 * Replicas of each pool's target: from the informers' caches (no API call; the watches are open anyway for the
 * pod and eviction signals), and from the API server only for what the caches cannot answer yet (before the first
 * list, or an object that is not there, whose 404 then gives the error message). With 50 graphs this saves 150 GETs
 * per tick. It throws when no pool could be read; when some could, the others' reasons come with them
 * (PartialPools), so that a pool whose target cannot be read fails the tick as a source error, not a warning alone.
 */
export function cachedTargets(kubernetes: KubernetesConnector, kubeState: KubeStateReader | undefined): PoolReader {
  return async (spec) => {
    const cached = kubeState?.targets(spec) ?? { pools: {}, missing: spec.pools.filter((p) => p.target).map((p) => p.name) };
    if (cached.missing.length === 0) return cached.pools;
    const rest = { ...spec, pools: spec.pools.filter((p) => cached.missing.includes(p.name)) };
    const read = await kubernetes.readTargetsDetailed(rest);
    const pools = { ...cached.pools, ...read.pools };
    const failed = Object.entries(read.errors);
    if (failed.length === 0) return pools;
    if (Object.keys(pools).length === 0) throw new Error(failed.map(([pool, why]) => `${pool}: ${why}`).join('; '));
    return new PartialPools(pools, read.errors);
  };
}
