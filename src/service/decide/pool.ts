/**
 * decide() off the event loop: a small pool of worker threads that run planner/decide's decide() (the very code the
 * simulator calls inline), so that a computation that does not end cannot stop the service. While a worker spins,
 * the event loop still answers /healthz, reads sources, renews the Lease and handles SIGTERM; at the deadline the
 * worker is terminated (V8 stops even a tight loop), the call fails with DecideTimeoutError (the tick then holds:
 * nothing is written) and a fresh worker takes the next call.
 *
 * Sizing: `minWorkers` ready (1; 2 with several policies), and more (up to `maxWorkers`) only while calls wait
 * behind busy ones for GROW_AFTER_MS; workers above the minimum that stay idle for IDLE_MS are stopped, and a worker
 * stopped at a deadline is replaced at once. A decide takes well under a millisecond, so one worker
 * serves many policies; a second one lets the other policies decide while one spins until its deadline.
 * Each worker's heap is capped (`maxHeapMb`): a decide that allocates without end dies alone, not the process.
 *
 * What a call costs over an inline decide(): the structured clone of the observation and the planner state there
 * and of the result back; specs and profiles are sent once per worker (by id) and kept there. `npm run bench --
 * decide` measures it.
 */
import { Worker } from 'node:worker_threads';
import { toNullRecord } from '../../config/records.js';
import type { FleetInput, FleetResult } from '../../fleet/decide.js';
import type { DecideInput, DecideResult } from '../../planner/decide.js';
import { profileData } from '../../profiles/profile.js';
import type { Logger } from '../../log.js';
import type { DecideReply, DecideRequest, FleetGraphRequest, ReadyMessage, WorkerRequest } from './protocol.js';

/** A decide that did not return in time (or was given up: its tick timed out, the service stopped). */
export class DecideTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecideTimeoutError';
  }
}

export interface DecideCallOptions {
  /** Give up (and restart the worker) after this long once the call runs on a worker. */
  timeoutMs: number;
  /** Give up now: the tick timed out. */
  signal?: AbortSignal;
}

/** What the tick runner needs: decide() with a deadline (and the fleet round: decideFleet() with one). */
export interface Decider {
  decide(input: DecideInput, options: DecideCallOptions): Promise<DecideResult>;
  /** src/fleet/decide.ts decideFleet() over every graph of a fleet, with one deadline for all of them. */
  decideFleet?(input: FleetInput, options: DecideCallOptions): Promise<FleetResult>;
  /** Starts one worker and waits until it is ready (so the first tick does not pay for it). */
  start?(): Promise<void>;
  /** Stops every worker; calls still running fail with DecideTimeoutError. */
  close?(): Promise<void>;
}

export interface DecidePoolOptions {
  /** The worker's entry; default this folder's worker. Tests pass one that misbehaves. */
  worker?: URL;
  /** Most workers at once (default 3; each costs about 20 MB). */
  maxWorkers?: number;
  /**
   * Workers kept ready (default 1). With several policies 2: while one policy's decide spins until its deadline,
   * the others decide on the second without waiting for a new thread to start.
   */
  minWorkers?: number;
  /** Heap cap of each worker in MB (default 64; a decide uses well under 1 MB). */
  maxHeapMb?: number;
  /** How long a worker may take to load its modules (default 60 s). */
  bootTimeoutMs?: number;
  log?: Logger;
}

/** Calls wait this long behind busy workers before another worker is started (a decide takes well under 1 ms). */
export const GROW_AFTER_MS = 1000;
/** Workers beyond the first are stopped after this long without work. */
export const IDLE_MS = 60_000;
/** The ids a worker is known to hold are forgotten past this many (it then gets specs and profiles again). */
const SENT_LIMIT = 512;

/** A call: one graph's decide(), or a fleet's decideFleet(). */
type Work = { kind: 'decide'; input: DecideInput } | { kind: 'fleet'; input: FleetInput };

interface Job {
  work: Work;
  options: DecideCallOptions;
  resolve: (result: unknown) => void;
  reject: (error: Error) => void;
  /** Set while the job runs on a worker. */
  slot?: Slot;
  /** The spec and profile were sent with this try (a `missing` reply after that is an error, not a retry). */
  sentAll?: boolean;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  idleTimer?: NodeJS.Timeout;
  /** Spec and profile ids this worker was sent. */
  sent: Set<number>;
  /** Why it failed, when it did ('error' event). */
  failure?: string;
}

/** A worker entry next to this file: the compiled JavaScript, or under tsx a boot file that registers tsx first. */
function defaultWorker(): URL {
  const compiled = import.meta.url.endsWith('.js');
  return new URL(compiled ? './worker.js' : './worker-boot.mjs', import.meta.url);
}

export class DecidePool implements Decider {
  readonly #worker: URL;
  readonly #max: number;
  readonly #min: number;
  readonly #heapMb: number;
  readonly #bootTimeoutMs: number;
  readonly #log: Logger | undefined;
  readonly #slots = new Set<Slot>();
  readonly #queue: Job[] = [];
  readonly #ids = new WeakMap<object, number>();
  #nextId = 1;
  #nextRequest = 1;
  #growTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Workers terminated at a deadline, since the start (for logs and tests). */
  restarts = 0;

  constructor(options: DecidePoolOptions = {}) {
    this.#worker = options.worker ?? defaultWorker();
    this.#max = Math.max(1, options.maxWorkers ?? 3);
    this.#min = Math.min(this.#max, Math.max(1, options.minWorkers ?? 1));
    this.#heapMb = options.maxHeapMb ?? 64;
    this.#bootTimeoutMs = options.bootTimeoutMs ?? 60_000;
    this.#log = options.log;
  }

  /** Workers running now (booting included). */
  get size(): number {
    return this.#slots.size;
  }

  async start(): Promise<void> {
    if (this.#slots.size === 0) this.#spawn();
    while (this.#slots.size < this.#min) this.#spawn();
    await Promise.all([...this.#slots].map((slot) => this.#ready(slot)));
  }

  /** Resolves when `slot` has loaded its modules; rejects when it stops first. */
  #ready(slot: Slot): Promise<void> {
    if (slot.ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if ((message as ReadyMessage).ready) done();
      };
      const onExit = () => done(new Error(`the decide worker thread stopped while it was starting${slot.failure ? ` (${slot.failure})` : ''}`));
      const done = (error?: Error) => {
        slot.worker.off('message', onMessage);
        slot.worker.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      slot.worker.on('message', onMessage);
      slot.worker.on('exit', onExit);
    });
  }

  decide(input: DecideInput, options: DecideCallOptions): Promise<DecideResult> {
    return this.#call<DecideResult>({ kind: 'decide', input }, options);
  }

  /**
   * decideFleet() in a worker with the same deadline and abandonment as decide(): a fleet decision that does not end
   * stops its thread, not the event loop. Its maps keyed by graph names come back without a prototype.
   */
  async decideFleet(input: FleetInput, options: DecideCallOptions): Promise<FleetResult> {
    const result = await this.#call<FleetResult>({ kind: 'fleet', input }, options);
    // A structured clone gives every object Object.prototype again: `results.constructor` would not be a graph's.
    return { results: toNullRecord(result.results), arbitration: { ...result.arbitration, shares: toNullRecord(result.arbitration.shares) } };
  }

  #call<T>(work: Work, options: DecideCallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#closed) {
        reject(new DecideTimeoutError('the planner is stopping: no decision'));
        return;
      }
      if (options.signal?.aborted) {
        reject(new DecideTimeoutError('the tick was given up before its decision'));
        return;
      }
      const job: Job = { work, options, resolve: resolve as (result: unknown) => void, reject };
      if (options.signal) {
        job.onAbort = () => this.#abort(job, new DecideTimeoutError('the tick timed out during its decision; the decision thread was restarted'));
        options.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#growTimer);
    for (const job of this.#queue.splice(0)) this.#settle(job, new DecideTimeoutError('the planner is stopping: no decision'));
    await Promise.all([...this.#slots].map((slot) => this.#stop(slot, new DecideTimeoutError('the planner is stopping: the decision was given up'))));
  }

  #idOf(object: object): number {
    let id = this.#ids.get(object);
    if (id === undefined) {
      id = this.#nextId++;
      this.#ids.set(object, id);
    }
    return id;
  }

  #spawn(): Slot {
    const worker = new Worker(this.#worker, { resourceLimits: { maxOldGenerationSizeMb: this.#heapMb } });
    // A pool left open (a test, an embedding program) never keeps the process alive.
    worker.unref();
    const slot: Slot = { worker, ready: false, sent: new Set() };
    this.#slots.add(slot);
    const boot = setTimeout(() => {
      this.#log?.error({ event: 'decide-worker-failed' }, `the decide worker thread did not start within ${this.#bootTimeoutMs / 1000}s; starting another`);
      void this.#stop(slot, new Error(`the decide worker thread did not start within ${this.#bootTimeoutMs / 1000}s`));
    }, this.#bootTimeoutMs);
    boot.unref();
    worker.on('message', (message: DecideReply | ReadyMessage) => {
      if ('ready' in message) {
        clearTimeout(boot);
        slot.ready = true;
        this.#idle(slot);
        this.#pump();
        return;
      }
      this.#reply(slot, message);
    });
    worker.on('error', (error) => {
      slot.failure = error.message;
      this.#log?.error({ event: 'decide-worker-failed', err: error.message }, `the decide worker thread failed: ${error.message}`);
    });
    worker.on('exit', (code) => {
      clearTimeout(boot);
      clearTimeout(slot.timer);
      clearTimeout(slot.idleTimer);
      const deleted = this.#slots.delete(slot);
      const job = slot.job;
      slot.job = undefined;
      if (job) this.#settle(job, new Error(`the decide worker thread stopped (exit code ${code}: out of memory, or a crash) during the decision`));
      if (deleted && !slot.ready && !this.#closed) {
        // It never started (a missing or broken module): the waiting calls fail with why, and no thread is started
        // again until the next call, rather than in a loop.
        const why = new Error(`the decide worker thread could not start (${slot.failure ?? `exit code ${code}`})`);
        for (const waiting of this.#queue.splice(0)) this.#settle(waiting, why);
        return;
      }
      this.#pump();
    });
    return slot;
  }

  /** Hands queued jobs to ready, idle workers; starts a worker when there is none, or when jobs wait too long. */
  #pump(): void {
    if (this.#closed) return;
    for (;;) {
      const job = this.#queue[0];
      if (!job) return;
      const slot = [...this.#slots].find((s) => s.ready && !s.job);
      if (!slot) break;
      this.#queue.shift();
      this.#run(slot, job);
    }
    if (this.#slots.size === 0) {
      this.#spawn();
      return;
    }
    const booting = [...this.#slots].some((s) => !s.ready);
    if (!booting && this.#slots.size < this.#max && this.#growTimer === undefined) {
      this.#growTimer = setTimeout(() => {
        this.#growTimer = undefined;
        if (this.#queue.length > 0 && ![...this.#slots].some((s) => s.ready && !s.job) && this.#slots.size < this.#max) {
          this.#log?.info({ event: 'decide-worker-added', workers: this.#slots.size + 1 }, 'decisions are waiting behind a busy decide thread; starting another');
          this.#spawn();
        }
      }, GROW_AFTER_MS);
      this.#growTimer.unref();
    }
  }

  #run(slot: Slot, job: Job, sendAll = false): void {
    clearTimeout(slot.idleTimer);
    slot.job = job;
    job.slot = slot;
    let request: WorkerRequest;
    const ids = (spec: object, profile: object) => {
      const specId = this.#idOf(spec);
      const profileId = this.#idOf(profile);
      const sendSpec = sendAll || !slot.sent.has(specId);
      const sendProfile = sendAll || !slot.sent.has(profileId);
      if (slot.sent.size > SENT_LIMIT) slot.sent.clear();
      slot.sent.add(specId);
      slot.sent.add(profileId);
      return { specId, profileId, sendSpec, sendProfile };
    };
    if (job.work.kind === 'decide') {
      const { spec, profile, observation, state, now, forecastOverride, poll, panic } = job.work.input;
      const { specId, profileId, sendSpec, sendProfile } = ids(spec, profile);
      const one: DecideRequest = { id: this.#nextRequest++, specId, profileId, observation, state, now };
      if (forecastOverride) one.forecastOverride = forecastOverride;
      if (poll) one.poll = true;
      if (panic) one.panic = panic;
      if (sendSpec) one.spec = spec;
      if (sendProfile) one.profile = profileData(profile);
      job.sentAll = sendSpec && sendProfile;
      request = one;
    } else {
      const { name, budget, now, graphs } = job.work.input;
      let sentAll = true;
      const sent = graphs.map((g): FleetGraphRequest => {
        const { specId, profileId, sendSpec, sendProfile } = ids(g.spec, g.profile);
        const out: FleetGraphRequest = { name: g.name, priority: g.priority, specId, profileId, state: g.state };
        if (g.observation) out.observation = g.observation;
        if (g.forecastOverride) out.forecastOverride = g.forecastOverride;
        if (g.poll) out.poll = true;
        if (sendSpec) out.spec = g.spec;
        if (sendProfile) out.profile = profileData(g.profile);
        sentAll &&= sendSpec && sendProfile;
        return out;
      });
      job.sentAll = sentAll;
      request = { id: this.#nextRequest++, fleet: { name, budget, now, graphs: sent } };
    }
    try {
      slot.worker.postMessage(request);
    } catch (error) {
      // Not cloneable: a bug of ours, not of the input; the tick fails with it.
      slot.job = undefined;
      job.slot = undefined;
      this.#settle(job, error instanceof Error ? error : new Error(String(error)));
      this.#idle(slot);
      this.#pump();
      return;
    }
    const { timeoutMs } = job.options;
    slot.timer = setTimeout(() => {
      this.restarts += 1;
      const seconds = Math.round(timeoutMs) / 1000;
      this.#log?.error({ event: 'decide-timeout', timeoutSeconds: seconds }, `decide() did not return within ${seconds}s; its thread is restarted`);
      void this.#stop(slot, new DecideTimeoutError(`decide() did not return within ${seconds}s (a computation that does not end); its thread was restarted and nothing was written`));
    }, timeoutMs);
  }

  #reply(slot: Slot, message: DecideReply): void {
    const job = slot.job;
    clearTimeout(slot.timer);
    slot.job = undefined;
    if (!job) return;
    job.slot = undefined;
    if ('missing' in message) {
      if (!job.sentAll) {
        slot.sent.clear();
        this.#run(slot, job, true);
        return;
      }
      this.#settle(job, new Error('the decide worker thread lost the policy it was just sent'));
    } else if ('error' in message) this.#settle(job, new Error(message.error));
    else this.#settle(job, undefined, 'fleetResult' in message ? message.fleetResult : message.result);
    this.#idle(slot);
    this.#pump();
  }

  /** A worker without work: the extra ones stop after IDLE_MS. */
  #idle(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    if (this.#slots.size <= this.#min) return;
    slot.idleTimer = setTimeout(() => {
      if (!slot.job && this.#slots.size > this.#min) void this.#stop(slot);
    }, IDLE_MS);
    slot.idleTimer.unref();
  }

  #abort(job: Job, error: Error): void {
    const queued = this.#queue.indexOf(job);
    if (queued >= 0) {
      this.#queue.splice(queued, 1);
      this.#settle(job, error);
      return;
    }
    if (job.slot) {
      this.restarts += 1;
      void this.#stop(job.slot, error);
    }
  }

  /** Terminates a worker; its job (if any) fails with `error`. */
  async #stop(slot: Slot, error?: Error): Promise<void> {
    const job = slot.job;
    slot.job = undefined;
    clearTimeout(slot.timer);
    clearTimeout(slot.idleTimer);
    this.#slots.delete(slot);
    if (job) this.#settle(job, error ?? new DecideTimeoutError('the decision thread was stopped'));
    // A thread stopped at a deadline is replaced at once, so the next tick finds one ready.
    while (!this.#closed && this.#slots.size < this.#min) this.#spawn();
    await slot.worker.terminate();
    this.#pump();
  }

  #settle(job: Job, error: Error | undefined, result?: unknown): void {
    if (job.onAbort) job.options.signal?.removeEventListener('abort', job.onAbort);
    job.slot = undefined;
    if (error) job.reject(error);
    else job.resolve(result);
  }
}
