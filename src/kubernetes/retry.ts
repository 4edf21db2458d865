/**
 * Bounded exponential backoff for API calls that may succeed later: 429, 5xx, and calls that never answered
 * (timeouts, refused connections). Everything else (403, 404, 409, 422, ...) is the caller's to handle.
 *
 * delay(attempt) = min(maxDelayMs, baseDelayMs x 2^(attempt-1)), unless the server sent Retry-After, which wins
 * (capped at maxRetryAfterMs). Worked example with the defaults (base 250 ms, max 8 s, 5 attempts):
 *   500, 500, 500, 500, 500 -> waits 250, 500, 1000, 2000 ms between the five tries (3.75 s), then gives up;
 *   429 with Retry-After: 3 -> waits 3000 ms before the next try.
 */
import { KubeApiError } from './errors.js';

export interface RetryOptions {
  /** Tries in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Upper bound on a server's Retry-After. */
  maxRetryAfterMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: Omit<RetryOptions, 'sleep'> = { maxAttempts: 5, baseDelayMs: 250, maxDelayMs: 8000, maxRetryAfterMs: 30_000 };

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

/** Runs `call` until it succeeds, fails with a non-retryable error, or `maxAttempts` are used (then the last error, annotated). */
export async function withRetry<T>(call: () => Promise<T>, options: RetryOptions, onRetry?: (error: KubeApiError, attempt: number, delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryable(error)) throw error;
      const e = error as KubeApiError;
      if (attempt >= options.maxAttempts) {
        throw new KubeApiError(e.status, e.method, e.path, `${e.detail} (gave up after ${attempt} attempts)`, e.retryAfterSeconds);
      }
      const delay = backoffDelayMs(attempt, options, e.retryAfterSeconds);
      onRetry?.(e, attempt, delay);
      await options.sleep(delay);
    }
  }
}
