/**
 * Bounded exponential backoff for API calls that may succeed later: 429, 5xx, and calls that never answered
 * (timeouts, refused connections). Everything else (403, 404, 409, 422, ...) is the caller's to handle.
 *
 * delay(attempt) = min(maxDelayMs, baseDelayMs x 2^(attempt-1)), unless the server sent Retry-After, which wins
 * (capped at maxRetryAfterMs). Worked example with the defaults (base 250 ms, max 8 s, 5 attempts):
 *   500, 500, 500, 500, 500 -> waits 250, 500, 1000, 2000 ms between the five tries (3.75 s), then gives up;
 *   429 with Retry-After: 3 -> waits 3000 ms before the next try.
 *
 * A call runs within the budget of whoever makes it (the service's tick: CallBudget). Its signal ends a wait at once
 * and cuts off a request in flight (the tick was given up, or the planner is stopping; for a write, also the end of
 * the leadership term it began in: writeBudget); after it no try is sent. Each
 * try's timeout is at most what is left of the budget, and a wait that would end past it is not started: the call
 * gives up at once, with the last error and why.
 * Example: 429 with Retry-After: 30 and 12.4 s left of the tick -> no wait; "... (gave up after 1 attempt: the
 * server asked to retry after 30 s, more than the 12.4 s the tick had left)". Four such waits of 30 s, up to 2 minutes
 * past a 30 s tick timeout (or a pod's 30 s terminationGracePeriod), are what this bound rules out.
 */
import type { RequestLimits } from './client.js';
import type { CallBudget } from '../call-budget.js';
import { abortReason, KubeApiError, KubeCallAbortedError } from './errors.js';

export { writeBudget, type CallBudget } from '../call-budget.js';

export interface RetryOptions {
  /** Tries in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on a server's Retry-After. */
  maxRetryAfterMs: number;
  /** Waits between tries; rejects as soon as `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export const DEFAULT_RETRY: Omit<RetryOptions, 'sleep'> = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 30_000 };

/** The one request a call sends (and sends again), for messages. */
export interface CallTarget {
  method: string;
  path: string;
}

export function isRetryable(error: unknown): boolean {
  if (!(error instanceof KubeApiError)) return false;
  return error.status === 0 || error.status === 429 || error.status >= 500;
}

export function backoffDelayMs(attempt: number, options: Omit<RetryOptions, 'sleep'>, retryAfterSeconds?: number): number {
  if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) {
    return Math.min(options.maxRetryAfterMs, retryAfterSeconds * 1000);
  }
  return Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
}

/** Milliseconds as seconds with one decimal, for messages: 12_437 -> "12.4". */
const seconds = (ms: number) => String(Math.max(0, Math.round(ms / 100) / 10));

const attempts = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;

/** The last error, with why no further try is made. */
function gaveUp(e: KubeApiError, why: string): KubeApiError {
  return new KubeApiError(e.status, e.method, e.path, `${e.detail} (${why})`, e.retryAfterSeconds);
}

/** Why a wait of `delayMs` is not started with `leftMs` of the budget left. */
function pastDeadline(e: KubeApiError, attempt: number, delayMs: number, leftMs: number): string {
  const asked = e.retryAfterSeconds;
  if (asked !== undefined && Number.isFinite(asked) && asked >= 0) {
    return `gave up after ${attempts(attempt)}: the server asked to retry after ${asked} s, more than the ${seconds(leftMs)} s the tick had left`;
  }
  return `gave up after ${attempts(attempt)}: the next try, ${seconds(delayMs)} s on, would come after the tick's deadline (${seconds(leftMs)} s left)`;
}

/**
 * Runs `call` until it succeeds, fails with a non-retryable error, or `maxAttempts` are used (then the last error,
 * annotated); within `budget`: each try is given its signal and what is left of its time, a wait that does not fit
 * in it is not started (the last error, saying so), and once its signal aborts no try is sent and a wait ends at once
 * (KubeCallAbortedError, never retried).
 */
export async function withRetry<T>(
  target: CallTarget,
  call: (limits: RequestLimits) => Promise<T>,
  options: RetryOptions,
  budget: CallBudget = {},
  onRetry?: (error: KubeApiError, attempt: number, delayMs: number) => void,
): Promise<T> {
  const { signal, remainingMs } = budget;
  let last: KubeApiError | undefined;
  for (let attempt = 1; ; attempt += 1) {
    if (signal?.aborted) throw new KubeCallAbortedError(target.method, target.path, abortReason(signal), false, last);
    const left = remainingMs?.();
    if (left !== undefined && left <= 0) {
      throw last ? gaveUp(last, `gave up after ${attempts(attempt - 1)}: the tick has no time left`) : new KubeCallAbortedError(target.method, target.path, 'the tick has no time left', false);
    }
    try {
      return await call({ ...(signal ? { signal } : {}), ...(left !== undefined ? { timeoutMs: left } : {}) });
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const e = error as KubeApiError;
      last = e;
      if (attempt >= options.maxAttempts) throw gaveUp(e, `gave up after ${attempts(attempt)}`);
      const delayMs = backoffDelayMs(attempt, options, e.retryAfterSeconds);
      if (signal?.aborted) throw new KubeCallAbortedError(e.method, e.path, abortReason(signal), false, e);
      const leftNow = remainingMs?.();
      if (leftNow !== undefined && delayMs >= leftNow) throw gaveUp(e, pastDeadline(e, attempt, delayMs, leftNow));
      onRetry?.(e, attempt, delayMs);
      try {
        await options.sleep(delayMs, signal);
      } catch (sleepError) {
        if (signal?.aborted) throw new KubeCallAbortedError(e.method, e.path, abortReason(signal), false, e);
        throw sleepError;
      }
    }
  }
}
