import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../../src/kubernetes/errors.js';
import { backoffDelayMs, DEFAULT_RETRY, isRetryable, withRetry } from '../../../src/kubernetes/retry.js';

describe('backoff', () => {
  it('doubles from 250 ms to at most 8 s; Retry-After wins, capped at 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelayMs(a, DEFAULT_RETRY))).toEqual([250, 500, 1000, 2000, 4000, 8000, 8000]);
    expect(backoffDelayMs(1, DEFAULT_RETRY, 3)).toBe(3000);
    expect(backoffDelayMs(1, DEFAULT_RETRY, 600)).toBe(30_000);
  });

  it('retries 429, 5xx and no-answer; not 403/404/409/422', () => {
    expect([0, 429, 500, 503, 403, 404, 409, 422].map((s) => isRetryable(new KubeApiError(s, 'GET', '/x', 'm')))).toEqual([true, true, true, true, false, false, false, false]);
    expect(isRetryable(new Error('x'))).toBe(false);
  });

  it('gives up after maxAttempts with the last error, saying so', async () => {
    const delays: number[] = [];
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new KubeApiError(500, 'PATCH', '/p', 'boom');
    };
    await expect(withRetry(failing, { ...DEFAULT_RETRY, sleep: async (ms) => void delays.push(ms) })).rejects.toThrow('PATCH /p -> HTTP 500: boom (gave up after 5 attempts)');
    expect(calls).toBe(5);
    expect(delays).toEqual([250, 500, 1000, 2000]);
  });
});
