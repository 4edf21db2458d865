/** Bounded concurrency for the planner loop. */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in the order given; resolves when every call has
 * settled. `fn` must not throw (each call catches its own failures), so one item never stops the others.
 * Example: 50 items, limit 8, each taking 100 ms -> 7 waves, about 0.7 s.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker);
  await Promise.all(workers);
}
