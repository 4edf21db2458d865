/**
 * Lease-based leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it:
 *
 *  - every `retryPeriod` each replica tries to acquire or renew the Lease (create it if missing; otherwise a
 *    `replace` carrying the resourceVersion it read, so two replicas racing for it cannot both win: one gets 409);
 *  - a Lease held by someone else is taken over only when it has not changed for `leaseDuration`, measured on
 *    OUR clock from when we first saw its current renewTime (no trust in the other node's clock);
 *  - the leader stops acting when it has not renewed for `renewDeadline` (< leaseDuration). `isLeader()` computes
 *    that from the clock on every call, so it turns false the moment the deadline passes, even while a renew
 *    request is still hanging: the connector's `canAct` guard stops writes at once.
 *    Example: leaseDuration 15 s, renewDeadline 10 s, last renew at t=100 s: isLeader() is true until t=110 s
 *    and false after; another replica may take over from t=115 s (it saw the last change at ~t=100 s). The 5 s
 *    between the two is the margin that keeps two leaders from ever overlapping.
 *  - every term of leadership has its AbortSignal (`term()`), aborted the moment it ends: a lost renew (409, another
 *    holder), the renew deadline passing (a timer set at each renew fires then, so the loss is seen without anyone
 *    asking), or stop(). Whatever waits to write (a retry's backoff) listens to it and ends at once, instead of
 *    finding out only when it asks `isLeader()` again after the wait.
 *    Example: renewed at t=100 s, renewDeadline 10 s, no renew since: the term's signal aborts at t=110 s with
 *    "not the leader any more: no successful renew for 10s".
 *  - on shutdown the leader releases the Lease by clearing holderIdentity, so a successor needs no wait.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { messageOf } from '../errors.js';
import type { Clock } from '../planner/ports.js';

/** The three CoordinationV1Api calls used (client-node 1.x object-parameter style). */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

export interface LeaderElectionOptions {
  api: LeaseApi;
  namespace: string;
  /** Lease name, e.g. "pd-planner-llama-70b-disagg". */
  name: string;
  /** This replica's identity (pod name); default hostname + random suffix. */
  identity?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  clock?: Clock;
  /** Called on every change of leadership, and with `reason` when it is lost. */
  onChange?: (leader: boolean, reason: string) => void;
  /** Called with a message when an attempt fails (the loop goes on). */
  onError?: (message: string) => void;
}

export interface LeaderElector {
  readonly identity: string;
  /** True while we hold the Lease and our last renew is younger than renewDeadline. */
  isLeader(): boolean;
  /**
   * The current term of leadership: a signal aborted the moment it ends (its reason says why); already aborted when
   * not leader. A new term (a new signal) begins with each acquisition.
   */
  term(): AbortSignal;
  /** One acquire-or-renew attempt; resolves to isLeader() after it. The loop calls this every retryPeriod. */
  tryAcquireOrRenew(): Promise<boolean>;
  /** Starts the loop in the background; resolves after the first attempt. */
  start(): Promise<boolean>;
  /** Stops the loop and, if we lead, releases the Lease (holderIdentity cleared). */
  stop(): Promise<void>;
}

/**
 * Epoch ms that move with the monotonic clock: slewed by NTP like the wall clock, but never stepped. Every duration of
 * the election (renew deadline, how long a lease has stayed unrenewed) is measured on it, as client-go measures them
 * on Go's monotonic reading: a wall clock stepped an hour ahead would otherwise let a standby take over a live lease
 * at once (two leaders), and one stepped back would keep a leader past its deadline.
 */
const steadyClock: Clock = { now: () => performance.timeOrigin + performance.now() };

/** A controller already aborted with `why`: the term of a replica that does not lead. */
function ended(why: string): AbortController {
  const controller = new AbortController();
  controller.abort(new Error(why));
  return controller;
}

export function defaultIdentity(): string {
  return process.env.POD_NAME ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The first line of the error, with its HTTP status when the text does not say it: "HTTP 403: leases is forbidden". */
function leaseFailure(error: unknown): string {
  const status = statusOf(error);
  const text = messageOf(error).split('\n')[0] ?? '';
  return status !== undefined && !text.includes(String(status)) ? `HTTP ${status}: ${text}` : text;
}

class LeaseElector implements LeaderElector {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #renewMs: number;
  readonly #retryMs: number;
  /** "lease <namespace>/<name>", for messages. */
  readonly #where: string;
  /** Epoch ms of our last successful acquire/renew while holding; undefined when not holding. */
  #renewedAt: number | undefined;
  /** Last record we saw from someone else, and when (our clock) we first saw it. */
  #observed: { key: string; at: number } | undefined;
  /** Leadership as last reported to onChange. */
  #reported = false;
  #timer: NodeJS.Timeout | undefined;
  /** Fires when the renew deadline passes, so the loss is reported (and the term ended) without anyone asking. */
  #deadline: NodeJS.Timeout | undefined;
  /** The current term: aborted when leadership ends; an aborted one while not leader. */
  #term: AbortController = ended('not the leader');
  #stopped = false;
  #inFlight: Promise<boolean> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#options = options;
    this.#clock = options.clock ?? steadyClock;
    this.identity = options.identity ?? defaultIdentity();
    this.#leaseMs = (options.leaseDurationSeconds ?? 15) * 1000;
    this.#renewMs = (options.renewDeadlineSeconds ?? 10) * 1000;
    this.#retryMs = (options.retryPeriodSeconds ?? 2) * 1000;
    if (this.#renewMs >= this.#leaseMs) throw new Error(`leader election: renewDeadline (${this.#renewMs / 1000}s) must be shorter than leaseDuration (${this.#leaseMs / 1000}s)`);
    this.#where = `lease ${options.namespace}/${options.name}`;
  }

  isLeader(): boolean {
    const leader = this.#holds();
    if (!leader && this.#reported) this.#report(this.#stopped ? 'stopping' : `no successful renew for ${this.#renewMs / 1000}s`);
    return leader;
  }

  term(): AbortSignal {
    this.isLeader();
    return this.#term.signal;
  }

  tryAcquireOrRenew(): Promise<boolean> {
    // Never two attempts at once (a slow API server must not make them pile up).
    this.#inFlight ??= this.#attempt().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async start(): Promise<boolean> {
    this.#stopped = false;
    const first = await this.tryAcquireOrRenew();
    this.#schedule();
    return first;
  }

  async stop(): Promise<void> {
    const { api, namespace, name } = this.#options;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#deadline) clearTimeout(this.#deadline);
    // The term ends now, not after the release below: nothing may write while the Lease is being given up.
    if (!this.#term.signal.aborted) this.#term.abort(new Error('not the leader any more: stopping'));
    await this.#inFlight?.catch(() => undefined);
    if (this.#renewedAt === undefined) return;
    const wasLeader = this.#holds();
    this.#renewedAt = undefined;
    if (!wasLeader) {
      this.#report('stopped');
      return;
    }
    try {
      const existing = await api.readNamespacedLease({ name, namespace });
      if (existing.spec?.holderIdentity === this.identity) {
        await api.replaceNamespacedLease({
          name,
          namespace,
          body: {
            ...existing,
            metadata: { name, namespace, resourceVersion: existing.metadata?.resourceVersion },
            spec: { ...existing.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.#clock.now()) },
          },
        });
      }
    } catch (error) {
      this.#options.onError?.(`${this.#where}: release failed: ${leaseFailure(error)}`);
    }
    this.#report('released on shutdown');
  }

  /**
   * Holding, and the last renew is younger than renewDeadline (read from the clock on every call). A renew that reads
   * as later than now (a clock set back) proves nothing about the deadline: not leader until the next renew.
   */
  #holds(): boolean {
    if (this.#renewedAt === undefined) return false;
    const age = this.#clock.now() - this.#renewedAt;
    return age >= 0 && age < this.#renewMs;
  }

  #report(reason: string): void {
    const now = this.#holds();
    if (now !== this.#reported) {
      this.#reported = now;
      if (now) this.#term = new AbortController();
      else this.#term.abort(new Error(`not the leader any more: ${reason}`));
      this.#options.onChange?.(now, reason);
    }
  }

  /** A successful acquire or renew at `now`: holding until now + renewDeadline; the deadline timer set for then. */
  #renewed(now: number): void {
    this.#renewedAt = now;
    this.#observed = undefined;
    this.#armDeadline();
  }

  /**
   * Sets the timer for when the renew deadline passes (on the clock, for what is left of it). When it fires and we
   * still hold (a timer a fraction of a ms early, a clock that is not real time), it is set again for what is left.
   */
  #armDeadline(): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (this.#renewedAt === undefined || this.#stopped) return;
    const left = this.#renewMs - (this.#clock.now() - this.#renewedAt);
    this.#deadline = setTimeout(
      () => {
        this.#deadline = undefined;
        if (this.#holds()) this.#armDeadline();
        else this.isLeader();
      },
      Math.max(1, Math.min(left, this.#renewMs)),
    );
    this.#deadline.unref();
  }

  #leaseBody(existing: V1Lease | undefined, now: number, acquiring: boolean): V1Lease {
    const { namespace, name } = this.#options;
    const spec = existing?.spec ?? {};
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace,
        ...(existing?.metadata?.resourceVersion ? { resourceVersion: existing.metadata.resourceVersion } : {}),
        ...(existing?.metadata?.labels ? { labels: existing.metadata.labels } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
        acquireTime: acquiring ? new V1MicroTime(now) : (spec.acquireTime ?? new V1MicroTime(now)),
        renewTime: new V1MicroTime(now),
        // 0 when created; +1 each time the holder changes.
        leaseTransitions: (spec.leaseTransitions ?? 0) + (existing && acquiring && spec.holderIdentity !== this.identity ? 1 : 0),
      },
    };
  }

  async #attempt(): Promise<boolean> {
    const { api, namespace, name } = this.#options;
    const where = this.#where;
    const now = this.#clock.now();
    let existing: V1Lease | undefined;
    try {
      existing = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusOf(error) !== 404) {
        this.#options.onError?.(`${where}: read failed: ${leaseFailure(error)}`);
        this.#report('could not read the lease');
        return this.#holds();
      }
    }
    if (!existing) {
      try {
        await api.createNamespacedLease({ namespace, body: this.#leaseBody(undefined, now, true) });
        this.#renewed(now);
        this.#report('created the lease');
      } catch (error) {
        // 409: another replica created it first. It leads; we observe it on the next attempt.
        this.#options.onError?.(`${where}: create failed: ${leaseFailure(error)}`);
      }
      return this.#holds();
    }

    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const ours = holder === this.identity;
    if (!ours && holder !== '') {
      // Someone else holds it: is it still alive? Judge by how long its record has stayed unchanged on our clock.
      const key = `${holder}|${String(spec.renewTime?.valueOf() ?? '')}|${existing.metadata?.resourceVersion ?? ''}`;
      if (this.#observed?.key !== key) this.#observed = { key, at: now };
      const duration = (spec.leaseDurationSeconds ?? this.#leaseMs / 1000) * 1000;
      this.#renewedAt = undefined;
      if (now - this.#observed.at < duration) {
        this.#report(`lease held by ${holder}`);
        return false;
      }
    }
    try {
      await api.replaceNamespacedLease({ name, namespace, body: this.#leaseBody(existing, now, !ours) });
      this.#renewed(now);
      this.#report(ours ? 'renewed' : holder === '' ? 'acquired a released lease' : `took over an expired lease from ${holder}`);
    } catch (error) {
      const status = statusOf(error);
      if (status === 409) {
        // Someone else wrote first (took over, or renewed). If it was our lease, we have lost it.
        if (ours) this.#renewedAt = undefined;
        this.#report(ours ? 'lease taken by another replica (409)' : 'another replica acquired the lease first');
      } else {
        this.#options.onError?.(`${where}: ${ours ? 'renew' : 'acquire'} failed: ${leaseFailure(error)}`);
        this.#report(`renew failing for over ${this.#renewMs / 1000}s`);
      }
    }
    return this.#holds();
  }

  #schedule(): void {
    if (this.#stopped) return;
    // The deadline check needs no timer (isLeader reads the clock), but onChange should fire promptly.
    this.#timer = setTimeout(() => {
      void this.tryAcquireOrRenew().finally(() => this.#schedule());
    }, this.#retryMs);
  }
}

export function createLeaderElector(options: LeaderElectionOptions): LeaderElector {
  return new LeaseElector(options);
}
