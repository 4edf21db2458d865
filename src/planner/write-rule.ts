/**
 * What a connector may write for one pool of a Decision, from its hold marks (see PoolDecision.hold / writable):
 *   - `writable: false`: nothing at all (the desired count is only a placeholder: nothing was known of the pool);
 *   - `hold: true`: the decided count, but never below the count the connector reads back from its target now
 *     (the decision did not know everything, so it must not shrink what runs), except for a Spot pool the decision
 *     found unavailable (`boundBy` has "spot-unavailable"): the decision sized it to what it still has (evicted
 *     replicas are gone whatever its spec says) and gave the rest to on-demand, as it does without a hold;
 *   - otherwise: the decided count.
 * Every connector (Kubernetes, NATS KV, dry-run) applies the same rule, so a hold means the same wherever it lands.
 * Example: cold start, Prometheus down, the graph read failed while deciding: desired 0 (placeholder), writable
 * false -> no write; a later read shows 5 running and the decision (hold) says 3 -> "held at 5", nothing written.
 */
import type { Decision } from './types.js';

export type WriteRule = { kind: 'none'; why: string } | { kind: 'not-below-current'; why: string } | { kind: 'any' };

/** Why the decision held, for result lines: "the request count; the current count of prefill-od unknown". */
function holdWhy(decision: Decision): string {
  const unknown = decision.explanation.unknown ?? [];
  if (unknown.length > 0) return `${unknown.join('; ')} unknown`;
  return decision.explanation.holdReason ?? 'inputs unknown';
}

export function writeRule(decision: Decision, pool: string): WriteRule {
  const decided = Object.hasOwn(decision.pools, pool) ? decision.pools[pool] : undefined;
  if (!decided) return { kind: 'any' };
  if (decided.writable === false) return { kind: 'none', why: holdWhy(decision) };
  // A Spot pool the decision found unavailable (replicas evicted, or its cool-down) is sized to what it still has, the
  // rest handed to on-demand: the count read back still counts the lost replicas, so it is no floor for this pool.
  if (decided.hold === true && !decided.boundBy.includes('spot-unavailable')) return { kind: 'not-below-current', why: holdWhy(decision) };
  return { kind: 'any' };
}

/** The result line of a pool that gets no write because nothing was known of it. */
export function notWritableLine(why: string): string {
  return `not written: nothing is known of this pool's count (${why}); its decided count is a placeholder, so nothing is written`;
}

/** The result line of a held pool whose decided count is below the current one. */
export function heldAtCurrentLine(desired: number, current: number, why: string): string {
  return `held at ${current}: the decision was a hold (${why}) and ${desired} is below the ${current} set now; not written`;
}
