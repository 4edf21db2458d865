/**
 * The Dynamo objects as the connector reads and writes them, over client.ts:
 *   - the nvidia.com version in use: forced, or discovered once (GET /apis/nvidia.com); a failed discovery is retried
 *     on the next call, not cached;
 *   - GETs of graphs and component deployments, retried with backoff (retry.ts), a 404 turned into an error that
 *     names the object and its namespace;
 *   - writes retried with backoff that ask `canAct()` before EVERY try, not only the first, and that run within the
 *     term of leadership they began in (`callBudget().leadership`): the Lease can be lost while we wait between tries
 *     (up to 3.75 s with the defaults, up to 30 s on a Retry-After), and a retry sent after that could race the new
 *     leader's writes. The moment the term ends the wait ends, a request not yet out is not sent, and one in flight
 *     is cut off (LeadershipLostError, naming the request);
 *   - every call, read or write, within the budget of the tick that makes it (`callBudget`, asked at the start of each
 *     call: it reads the tick's context, as `canAct()` does): its waits and tries end by the tick's deadline, and at
 *     once when the tick is given up or the planner stops (retry.ts).
 */
import type * as k8s from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { waitUnlessAborted } from '../http/retry-after.js';
import { createKubeClient, objectPath, type DynamoPlural, type KubeClient, type RequestLimits } from './client.js';
import { abortReason, DynamoComponentDeploymentNotFoundError, DynamoGraphDeploymentNotFoundError, KubeApiError, KubeCallAbortedError, LeadershipLostError } from './errors.js';
import type { DynamoVersion, KubeObject } from './graph.js';
import { abandonReason, writeBudget, type CallBudget } from '../call-budget.js';
import { DEFAULT_RETRY, withRetry, type CallTarget, type RetryOptions } from './retry.js';

export interface DynamoApiOptions {
  kubeConfig: k8s.KubeConfig;
  logger?: Logger;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Backoff sleeps (injectable for tests); must reject when `signal` aborts. Default: a timer that does. */
  sleep?: RetryOptions['sleep'];
  /** Backoff for 429/5xx/timeouts (defaults: 5 attempts, 250 ms doubling to 8 s, Retry-After up to 30 s). */
  retry?: Partial<Omit<RetryOptions, 'sleep'>>;
  /** Force an API version instead of discovering it (GET /apis/nvidia.com). */
  version?: DynamoVersion;
  /**
   * The budget of the calls made now, asked at the start of each call (the service's: the running tick's deadline,
   * its timeout and the planner's stop). Default: none (each try bounded by its own timeout only).
   */
  callBudget?: () => CallBudget;
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

/** A discovery of the nvidia.com version, and the signal of the budget it runs within. */
interface Discovery {
  versions: Promise<DynamoVersion>;
  signal: AbortSignal | undefined;
}

export class DynamoApi {
  readonly log: Logger;
  readonly #client: KubeClient;
  readonly #retry: RetryOptions;
  readonly #forcedVersion: DynamoVersion | undefined;
  readonly #budget: () => CallBudget;
  #discovered: Discovery | undefined;

  constructor(options: DynamoApiOptions) {
    this.log = options.logger ?? pino({ enabled: false });
    this.#client = createKubeClient(options.kubeConfig, { timeoutMs: options.requestTimeoutMs ?? 10_000 });
    this.#retry = { ...DEFAULT_RETRY, ...options.retry, sleep: options.sleep ?? waitUnlessAborted };
    this.#forcedVersion = options.version;
    this.#budget = options.callBudget ?? (() => ({}));
  }

  /**
   * The nvidia.com version in use. Callers at the same time share one discovery, made within the budget of the first;
   * when that one is given up with its tick (timed out), a caller whose own tick is still on asks again, within its own.
   */
  async version(): Promise<DynamoVersion> {
    if (this.#forcedVersion) return this.#forcedVersion;
    const own = this.#budget().signal;
    const shared = this.#discover(own);
    try {
      return await shared.versions;
    } catch (error) {
      if (error instanceof KubeCallAbortedError && shared.signal !== own && !own?.aborted) return this.#discover(own).versions;
      throw error;
    }
  }

  /** The discovery under way (or done), else a new one made within the budget of the caller, whose signal is `signal`. */
  #discover(signal: AbortSignal | undefined): Discovery {
    if (this.#discovered) return this.#discovered;
    const versions = this.#call({ method: 'GET', path: '/apis/nvidia.com' }, (limits) => this.#client.discoverVersions(limits)).then((served) => {
      const chosen = served[0];
      if (!chosen) throw new Error('GET /apis/nvidia.com lists neither v1beta1 nor v1alpha1; pd-planner supports those two Dynamo API versions');
      this.log.info({ served, using: chosen }, 'nvidia.com API version');
      return chosen;
    });
    const discovery: Discovery = { versions, signal };
    this.#discovered = discovery;
    // A failed discovery is not kept: the next call asks again.
    versions.catch(() => {
      if (this.#discovered === discovery) this.#discovered = undefined;
    });
    return discovery;
  }

  async getGraph(ref: ObjectRef, version: DynamoVersion): Promise<KubeObject> {
    try {
      return await this.#get('dynamographdeployments', ref, version);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new DynamoGraphDeploymentNotFoundError(ref.name, ref.namespace);
      throw error;
    }
  }

  async getComponentDeployment(ref: ObjectRef, version: DynamoVersion): Promise<KubeObject> {
    try {
      return await this.#get('dynamocomponentdeployments', ref, version);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) throw new DynamoComponentDeploymentNotFoundError(ref.name, ref.namespace);
      throw error;
    }
  }

  /**
   * A PATCH retried with backoff, within the tick's budget and the term of leadership it began in. Rejects with
   * LeadershipLostError when `canAct()` is false before a try or the term ends (a wait ended, a request not sent or
   * cut off), and with KubeCallAbortedError when the tick's budget ended it (cut off in flight: not known to be applied).
   */
  async guardedPatch(canAct: () => boolean, target: PatchTarget, body: unknown, contentType: string): Promise<KubeObject> {
    const path = objectPath(target.plural, target.namespace, target.name, target.version, target.subresource);
    const own = this.#budget();
    const { budget, release } = writeBudget(own);
    try {
      return await this.#call(
        { method: 'PATCH', path },
        (limits) => {
          if (!canAct()) return Promise.reject(new LeadershipLostError('PATCH', path, 'not the leader any more (canAct() is false)', false));
          return this.#client.patch(target, body, contentType, limits);
        },
        budget,
      );
    } catch (error) {
      // The term ended first (not the tick, not the planner's stop): say so.
      if (error instanceof KubeCallAbortedError && own.leadership && abandonReason(own, budget) === 'leadership-lost') {
        throw new LeadershipLostError('PATCH', path, abortReason(own.leadership), error.inFlight);
      }
      throw error;
    } finally {
      release();
    }
  }

  #get(plural: DynamoPlural, ref: ObjectRef, version: DynamoVersion): Promise<KubeObject> {
    const path = objectPath(plural, ref.namespace, ref.name, version);
    return this.#call({ method: 'GET', path }, (limits) => this.#client.get(plural, ref.namespace, ref.name, version, limits));
  }

  #call<T>(target: CallTarget, what: (limits: RequestLimits) => Promise<T>, budget: CallBudget = this.#budget()): Promise<T> {
    return withRetry(target, what, this.#retry, budget, (error, attempt, delayMs) =>
      this.log.warn({ err: error.message, attempt, delayMs, request: `${target.method} ${target.path}` }, 'kubernetes API call failed; backing off'),
    );
  }
}
