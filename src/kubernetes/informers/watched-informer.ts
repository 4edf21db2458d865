/**
 * One list+watch informer (client-node ListWatch) that keeps itself alive: a watch that ends is resumed by
 * client-node from its last resourceVersion (a 410 makes it re-list); an informer that errors is rebuilt (one
 * re-list) after a backoff of 1, 2, 4 ... 30 s; `rebuild()` also serves the periodic resync.
 * Example: three errors in a row -> rebuilt after 1 s, then 2 s, then 4 s; a successful start resets the backoff.
 */
import * as k8s from '@kubernetes/client-node';
import { messageOf } from '../../errors.js';
import { BoundedWatch } from './bounded-watch.js';

export type CachingInformer<T extends k8s.KubernetesObject> = k8s.Informer<T> & k8s.ObjectCache<T>;

export interface InformerEvents {
  /** The informer set stops rebuilding once it is stopped. */
  running(): boolean;
  /** The informer reported an error; return false to stop rebuilding it (no permission, say). */
  failed(name: string, message: string, status: number | undefined): boolean;
  /** Starting it threw; it is rebuilt after the backoff. */
  startFailed(name: string, message: string): void;
  /** It listed without error. */
  synced(name: string): void;
}

/**
 * How long a list may take, and a watch may wait for the API server's headers, before it is given up and tried again.
 * client-node sets no timeout on either: a request the API server never answers (a half-open connection, a server
 * stuck on it) would hold the informer, and the first start, for good. A list of thousands of pods takes a few seconds.
 */
export const DEFAULT_LIST_TIMEOUT_MS = 60_000;

/**
 * Request options that tie a list to `signal`, so a list given up (or an informer stopped while it lists) closes its
 * request instead of leaving it open: each retry against an API server that never answers would otherwise add one
 * more open connection.
 */
export function abortableRequest(signal: AbortSignal): k8s.ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: k8s.RequestContext) => {
          context.setSignal(signal);
          return new k8s.Observable(Promise.resolve(context));
        },
        post: (response: k8s.ResponseContext) => new k8s.Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/**
 * A list function for a client-node ListWatch whose every call ends when `signal` aborts or after `timeoutMs`:
 * ListWatch lists again on its own (after a 410 Gone), outside the first list's timeout in rebuild(), and a re-list
 * that never answers would leave the informer without a watch, its cache going stale unnoticed until the next
 * resync. A call given up throws an error that says so, which the informer reports and which rebuilds it.
 * Example: timeoutMs 60000, the re-list after a 410 hangs -> 60 s later "the list did not answer within 60s".
 */
export function timedList<R>(signal: AbortSignal, timeoutMs: number, call: (options: k8s.ConfigurationOptions) => Promise<R>): () => Promise<R> {
  return async () => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      return await call(abortableRequest(AbortSignal.any([signal, timeout])));
    } catch (error) {
      if (timeout.aborted && !signal.aborted) throw new Error(`the list did not answer within ${timeoutMs / 1000}s; trying again`);
      throw error;
    }
  };
}

/**
 * A client-node informer (ListWatch) on `path` whose requests all end when `signal` aborts and are given up after
 * `timeoutMs` without an answer: each list (timedList) and each watch until its headers come (BoundedWatch).
 */
export function boundedInformer<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  path: string,
  signal: AbortSignal,
  timeoutMs: number,
  list: (options: k8s.ConfigurationOptions) => Promise<k8s.KubernetesListObject<T>>,
): CachingInformer<T> {
  return new k8s.ListWatch<T>(path, new BoundedWatch(kc, signal, timeoutMs), timedList(signal, timeoutMs, list), false);
}

/** Builds an informer whose requests end when `signal` aborts (boundedInformer does so). */
export type InformerBuilder<T extends k8s.KubernetesObject> = (signal: AbortSignal) => CachingInformer<T>;

export class WatchedInformer<T extends k8s.KubernetesObject> {
  readonly name: string;
  /** Its cache is current: the last (re-)list succeeded. False before the first list and while a re-list is failing. */
  synced = false;
  readonly #build: InformerBuilder<T>;
  readonly #events: InformerEvents;
  /** The informer reads are served from: the last one that listed without error (kept while a re-list fails). */
  #informer: CachingInformer<T> | undefined;
  /** Informers this object stopped itself: the abort of their watch is no failure. */
  readonly #retired = new WeakSet<CachingInformer<T>>();
  /** Per informer, what aborts its list requests. */
  readonly #lists = new WeakMap<CachingInformer<T>, AbortController>();
  /** Informers whose first list is still out: stop() retires them too. */
  readonly #building = new Set<CachingInformer<T>>();
  readonly #listTimeoutMs: number;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(name: string, build: InformerBuilder<T>, events: InformerEvents, listTimeoutMs = DEFAULT_LIST_TIMEOUT_MS) {
    this.name = name;
    this.#build = build;
    this.#events = events;
    this.#listTimeoutMs = listTimeoutMs;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer?.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.#informer?.list(namespace) ?? [];
  }

  /**
   * Builds and starts a new informer; once it has listed, reads go to it and the old one is stopped. Until then
   * reads stay on the old cache: a re-list that is slow or fails must not show an empty one (no pending pods, every
   * node unknown). A failed re-list keeps the old cache but marks it not synced, and is retried after the backoff.
   */
  async rebuild(): Promise<void> {
    if (!this.#events.running()) return;
    const lists = new AbortController();
    const informer = this.#build(lists.signal);
    this.#lists.set(informer, lists);
    this.#building.add(informer);
    let failed = false;
    informer.on('error', (err: unknown) => {
      // Stopping a replaced informer aborts its watch ("The user aborted a request."): not a failure, nothing to rebuild.
      if (this.#retired.has(informer)) return;
      failed = true;
      // The informer reads go to has stopped (client-node's ListWatch does not go on after an error): its cache is
      // not current until the rebuild lists again.
      if (this.#informer === informer) this.synced = false;
      // Not an Error: the client's rejected response, whose body says why.
      const message = messageOf(err instanceof Error ? err : ((err as { body?: unknown })?.body ?? err));
      const status = (err as { code?: number; statusCode?: number })?.code ?? (err as { statusCode?: number })?.statusCode;
      if (this.#events.failed(this.name, message, status)) this.#scheduleRebuild();
    });
    informer.on('connect', () => undefined);
    this.#informer ??= informer;
    let timer: NodeJS.Timeout | undefined;
    try {
      // ListWatch.start() resolves even when its list failed (it reports that through 'error').
      const started = informer.start();
      const listed = await Promise.race([started.then(() => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.#listTimeoutMs)))]);
      if (!listed) {
        failed = true;
        // Given up: its list request is aborted below; should it have answered in the meantime, the watch it then
        // opens is stopped at once.
        void started
          .then(async () => {
            if (this.#retired.has(informer)) await informer.stop();
          })
          .catch(() => undefined);
        this.#events.startFailed(this.name, `the list did not answer within ${this.#listTimeoutMs / 1000}s; trying again`);
        this.#scheduleRebuild();
      }
    } catch (error) {
      failed = true;
      this.#events.startFailed(this.name, messageOf(error));
      this.#scheduleRebuild();
    } finally {
      clearTimeout(timer);
      this.#building.delete(informer);
    }
    if (!this.#events.running()) {
      // Stopped while it listed: never installed, and its watch (if the list answered) closed.
      this.#retire(informer);
      return;
    }
    if (failed) {
      this.synced = false;
      if (this.#informer !== informer) this.#retire(informer);
      else {
        // Still the one reads go to (nothing listed yet): kept, but its errors no longer count and its list ends.
        this.#retired.add(informer);
        this.#lists.get(informer)?.abort();
      }
      return;
    }
    const old = this.#informer;
    this.#informer = informer;
    this.synced = true;
    this.#failures = 0;
    this.#events.synced(this.name);
    if (old && old !== informer) this.#retire(old);
  }

  stop(): void {
    clearTimeout(this.#timer);
    if (this.#informer) this.#retire(this.#informer);
    for (const informer of this.#building) this.#retire(informer);
  }

  #retire(informer: CachingInformer<T>): void {
    this.#retired.add(informer);
    this.#lists.get(informer)?.abort();
    void informer.stop();
  }

  #scheduleRebuild(): void {
    if (!this.#events.running()) return;
    this.#failures += 1;
    const delay = Math.min(30_000, 1000 * 2 ** (this.#failures - 1));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.rebuild(), delay);
    this.#timer.unref?.();
  }
}
