/**
 * Stabilization windows, as Kubernetes HPA does them (`behavior.scaleDown/scaleUp.stabilizationWindowSeconds`).
 * Every tick's recommendation (the per-pool target before stabilization and step limits) is remembered.
 *
 *   downRec = highest recommendation within the scale-down window (this tick's included)
 *   upRec   = lowest recommendation within the scale-up window (this tick's included)
 *   result  = previous, raised to upRec if below it, lowered to downRec if above it
 *
 * So a scale-down happens only to the highest level asked for during the whole window (no flapping
 * on a dip), and a scale-up, with a scale-up window, only to the lowest level asked for during it.
 * Example: window 300 s, ticks every 60 s, recommendations 6, 4, 5, 3, 3 and previous desired 6 ->
 * result min(6, max(6, 4, 5, 3, 3)) = 6 at the third tick; once the 6 has left the window
 * (> 300 s old) the result is 5, then 3 when the 5 has left too.
 * A pool whose recommendation a hold (crowd or pause) raised is remembered with two levels (constraints/index.ts unheldShare):
 * the scale-down window reads the need without the hold (`desired`), the scale-up window the recommendation itself
 * (`held`). Example: held 6, without the hold 2, scale-up window 120 s: after 120 s of holds upRec is 6, not 2.
 */
import { own } from '../config/records.js';

export interface RecommendationEntry {
  time: number;
  /** Per pool: the level the scale-down window keeps. */
  desired: Record<string, number>;
  /** Per pool whose recommendation a hold raised above `desired`: the recommendation, for the scale-up window. */
  held?: Record<string, number>;
}

/** Entries still inside the longest window at `now` (strictly newer than now - window). */
export function recentRecommendations(entries: readonly RecommendationEntry[], now: number, windowSeconds: number): RecommendationEntry[] {
  const since = now - windowSeconds * 1000;
  let first = 0;
  while (first < entries.length && (entries[first] as RecommendationEntry).time <= since) first++;
  return first === 0 ? entries.slice() : entries.slice(first);
}

export interface Stabilized {
  value: number;
  /** The window extreme that decided, when it differs from the recommendation. */
  heldBy?: { direction: 'down' | 'up'; level: number };
}

export function stabilize(
  pool: string,
  previous: number,
  recommendation: number,
  entries: readonly RecommendationEntry[],
  now: number,
  windows: { scaleDown: number; scaleUp: number },
): Stabilized {
  let downRec = recommendation;
  let upRec = recommendation;
  const downSince = now - windows.scaleDown * 1000;
  const upSince = now - windows.scaleUp * 1000;
  for (const entry of entries) {
    const value = own(entry.desired, pool);
    if (value === undefined || !Number.isFinite(value)) continue;
    if (entry.time > downSince && value > downRec) downRec = value;
    const held = own(entry.held, pool);
    const asked = held !== undefined && Number.isFinite(held) ? held : value;
    if (entry.time > upSince && asked < upRec) upRec = asked;
  }
  let value = previous;
  if (value < upRec) value = upRec;
  if (value > downRec) value = downRec;
  if (value === recommendation) return { value };
  return { value, heldBy: value > recommendation ? { direction: 'down', level: downRec } : { direction: 'up', level: upRec } };
}
