/**
 * One tick (or one step of a fleet round) as the connector's calls made inside it see it, through AsyncLocalStorage
 * (each tick runs in its own async context, as `canAct()` reads it):
 *   - `abandoned`: the tick was given up (its timeout): its writes are refused;
 *   - `budget()`: the signal and the time left of its Kubernetes API calls. The signal aborts when the tick is given
 *     up or the planner stops, and ends a retry wait or a request in flight at once (the metric sources' reads listen
 *     to it too: wiring.ts); the time left runs to the tick's
 *     deadline (its per-policy timeout, else the policy's interval and at least 10 s: decideBoundMs), measured on the
 *     monotonic clock, so a wall clock stepped during the tick does not stretch it. No wait of a retry goes past it.
 *     Example: timeout 30 s, a graph GET answered 429 with Retry-After: 30 at 0.4 s -> 29.6 s left: not waited; the
 *     read fails at once, saying so, instead of four waits of 30 s holding the policy for two minutes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallBudget } from '../kubernetes/retry.js';

export class TickStep {
  /** Set when the tick was given up: its writes are refused. */
  abandoned = false;
  /** Aborted when the tick is given up (its timeout), not when the planner stops: what its decide() listens to. */
  readonly timeout = new AbortController();
  /** Aborted when the tick is given up or the planner stops: what its API calls and metric reads listen to. */
  readonly #calls = new AbortController();
  readonly #endsAt: number;

  /** `deadlineMs`: the tick's time, from now. */
  constructor(deadlineMs: number) {
    this.#endsAt = performance.now() + deadlineMs;
  }

  /** Gives the tick up: its calls end now, its writes are refused, its decide() is stopped. */
  abandon(why: string): void {
    this.abandoned = true;
    const reason = new Error(why);
    this.timeout.abort(reason);
    this.#calls.abort(reason);
  }

  /** The planner stops: the tick's calls end now (it may still finish, writing nothing). */
  stop(reason: unknown): void {
    this.#calls.abort(reason);
  }

  budget(): CallBudget {
    return { signal: this.#calls.signal, remainingMs: () => this.#endsAt - performance.now() };
  }
}

/** The ticks running now, each in its own async context; the planner's stop ends the calls of all of them. */
export class TickSteps {
  readonly #store = new AsyncLocalStorage<TickStep>();
  /** The ticks whose work has not settled yet (given up ones included). */
  readonly #running = new Set<TickStep>();
  readonly #stop: AbortSignal;

  /** `stop`: the planner's, aborted when it stops. */
  constructor(stop: AbortSignal) {
    this.#stop = stop;
    stop.addEventListener(
      'abort',
      () => {
        for (const step of this.#running) step.stop(stop.reason);
      },
      { once: true },
    );
  }

  /** Runs `work` as a new tick with `deadlineMs` from now; returns the tick and its work. */
  run<T>(deadlineMs: number, work: (step: TickStep) => Promise<T>): { step: TickStep; running: Promise<T> } {
    const step = new TickStep(deadlineMs);
    if (this.#stop.aborted) step.stop(this.#stop.reason);
    this.#running.add(step);
    const running = this.#store.run(step, () => work(step));
    const done = () => void this.#running.delete(step);
    void running.then(done, done);
    return { step, running };
  }

  /** True when called from inside a tick that was given up. */
  abandoned(): boolean {
    return this.#store.getStore()?.abandoned ?? false;
  }

  /** The budget of the tick this is called from, if any. */
  budget(): CallBudget | undefined {
    return this.#store.getStore()?.budget();
  }
}
