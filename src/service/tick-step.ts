/**
 * One tick (or one step of a fleet round) as the connector's calls made inside it see it, through AsyncLocalStorage
 * (each tick runs in its own async context, as `canAct()` reads it):
 *   - `abandoned`: the tick was given up (its timeout): its writes are refused;
 *   - `budget()`: the signal and the time left of its Kubernetes API calls. The signal aborts when the tick is given
 *     up or the planner stops, and ends a retry wait or a request in flight at once; the time left runs to the tick's
 *     deadline, its timeout, else `boundMs` (the policy's interval, at least 10 s: decideBoundMs), on the monotonic
 *     clock, so a wall clock stepped during the tick does not stretch it. No wait of a retry goes past it.
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
  /** Aborted when the tick is given up or the planner stops: what its API calls listen to. */
  readonly #calls = new AbortController();
  readonly #stop: AbortSignal;
  readonly #endsAt: number;
  readonly #onStop = () => this.#calls.abort(this.#stop.reason);

  /** `stop`: the planner's; `deadlineMs`: the tick's time, from now. */
  constructor(stop: AbortSignal, deadlineMs: number) {
    this.#stop = stop;
    this.#endsAt = performance.now() + deadlineMs;
    if (stop.aborted) this.#onStop();
    else stop.addEventListener('abort', this.#onStop, { once: true });
  }

  /** Gives the tick up: its calls end now, its writes are refused, its decide() is stopped. */
  abandon(why: string): void {
    this.abandoned = true;
    const reason = new Error(why);
    this.timeout.abort(reason);
    this.#calls.abort(reason);
  }

  /** The tick has returned (even after it was given up): it no longer listens to the planner's stop. */
  end(): void {
    this.#stop.removeEventListener('abort', this.#onStop);
  }

  budget(): CallBudget {
    return { signal: this.#calls.signal, remainingMs: () => this.#endsAt - performance.now() };
  }
}

/** The ticks running now, each in its own async context. */
export class TickSteps {
  readonly #store = new AsyncLocalStorage<TickStep>();

  /** Runs `work` as `step`; the step ends (stops listening to the planner's stop) when `work` has settled. */
  run<T>(step: TickStep, work: () => Promise<T>): Promise<T> {
    const running = this.#store.run(step, work);
    void running.then(
      () => step.end(),
      () => step.end(),
    );
    return running;
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
