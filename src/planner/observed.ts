/**
 * Numbers read from an observation, checked once: a source may be broken, a file hand-written, a counter reset. What
 * is not a finite number >= 0 is unknown (undefined), never 0, so that the safety rules see it as unknown.
 */

/** A count or size from a source (requests, a queue depth, a window's length): a finite number >= 0, else undefined. */
export function observedAmount(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * A replica count from a source: a finite number >= 0 rounded up (2.5 replicas may be 3 pods; never fewer than
 * reported), else undefined. Example: 2.5 -> 3, 0 -> 0, -1 -> undefined, NaN -> undefined.
 */
export function observedReplicas(value: unknown): number | undefined {
  const v = observedAmount(value);
  return v === undefined ? undefined : Math.ceil(v);
}
