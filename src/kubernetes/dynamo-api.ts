/**
 * The Dynamo objects as the connector reads and writes them, over client.ts:
 *   - the nvidia.com version in use: forced, or discovered once (GET /apis/nvidia.com); a failed discovery is retried
 *     on the next call, not cached;
 *   - GETs of graphs and component deployments, retried with backoff (retry.ts), a 404 turned into an error that
 *     names the object and its namespace;
 *   - writes retried with backoff that ask `canAct()` before EVERY try, not only the first: the Lease can be lost, or
 *     the tick abandoned on shutdown, while we sleep between tries (up to 3.75 s with the defaults), and a retry sent
 *     after that could race the new leader's writes.
 */
import type * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { createKubeClient, type DynamoPlural, type KubeClient } from './client.js';
import { DynamoComponentDeploymentNotFoundError, DynamoGraphDeploymentNotFoundError, KubeApiError } from './errors.js';
import type { DynamoVersion, KubeObject } from './graph.js';
import { DEFAULT_RETRY, withRetry, type RetryOptions } from './retry.js';

export interface DynamoApiOptions {
  kubeConfig: k8s.KubeConfig;
  logger?: Logger;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Backoff sleeps (injectable for tests). */
  sleep?: (ms: number) => Promise<void>;
  /** Backoff for 429/5xx/timeouts (defaults: 5 attempts, 250 ms doubling to 8 s, Retry-After up to 30 s). */
  retry?: Partial<Omit<RetryOptions, 'sleep'>>;
  /** Force an API version instead of discovering it (GET /apis/nvidia.com). */
  version?: DynamoVersion;
}

/** A namespaced Dynamo object. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

export interface PatchTarget extends ObjectRef {
  plural: DynamoPlural;
  version: DynamoVersion;
  subresource?: 'scale';
}

/** Leadership ended between two tries of a write (during a backoff): the write is dropped, not retried. */
export class LeadershipLostError extends Error {
  constructor() {
    super('leadership lost before the write was sent');
    this.name = 'LeadershipLostError';
  }
}

export class DynamoApi {
  readonly log: Logger;
  readonly #client: KubeClient;
  readonly #retry: RetryOptions;
  readonly #forcedVersion: DynamoVersion | undefined;
  #discovered: Promise<DynamoVersion> | undefined;

  constructor(options: DynamoApiOptions) {
    this.log = options.logger ?? pino({ enabled: false });
    this.#client = createKubeClient(options.kubeConfig, { timeoutMs: options.requestTimeoutMs ?? 10_000 });
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.#retry = { ...DEFAULT_RETRY, ...options.retry, sleep };
    this.#forcedVersion = options.version;
  }

  /** The nvidia.com version in use. */
  version(): Promise<DynamoVersion> {
    if (this.#forcedVersion) return Promise.resolve(this.#forcedVersion);
    this.#discovered ??= this.#call(() => this.#client.discoverVersions()).then((versions) => {
      const chosen = versions[0];
      if (!chosen) throw new Error('GET /apis/nvidia.com lists neither v1beta1 nor v1alpha1; pd-planner supports those two Dynamo API versions');
      this.log.info({ served: versions, using: chosen }, 'nvidia.com API version');
      return chosen;
    });
    this.#discovered.catch(() => {
      this.#discovered = undefined;
    });
    return this.#discovered;
  }

  async getGraph(ref: ObjectRef, version: DynamoVersion): Promise<KubeObject> {
    try {
      return await this.#call(() => this.#client.get('dynamographdeployments', ref.namespace, ref.name, version));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new DynamoGraphDeploymentNotFoundError(ref.name, ref.namespace);
      throw error;
    }
  }

  async getComponentDeployment(ref: ObjectRef, version: DynamoVersion): Promise<KubeObject> {
    try {
      return await this.#call(() => this.#client.get('dynamocomponentdeployments', ref.namespace, ref.name, version));
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new DynamoComponentDeploymentNotFoundError(ref.name, ref.namespace);
      throw error;
    }
  }

  /** A PATCH retried with backoff; rejects with LeadershipLostError when `canAct()` is false before a try. */
  guardedPatch(canAct: () => boolean, target: PatchTarget, body: unknown, contentType: string): Promise<KubeObject> {
    return this.#call(() => {
      if (!canAct()) return Promise.reject(new LeadershipLostError());
      return this.#client.patch(target, body, contentType);
    });
  }

  #call<T>(what: () => Promise<T>): Promise<T> {
    return withRetry(what, this.#retry, (error, attempt, delayMs) => this.log.warn({ err: error.message, attempt, delayMs }, 'kubernetes API call failed; backing off'));
  }
}
