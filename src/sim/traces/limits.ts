/**
 * What a trace may cost. The simulator holds a few numbers per request (arrival, ISL, OSL, and the cluster's
 * per-request state), so memory follows the request count: it is capped, and every way of making requests (a file,
 * a synthetic generator, --rate-scale) refuses to go past the cap before it allocates, with a message that says
 * what to change. Example: 20,000,000 requests hold about 1 GB in the simulator.
 */
import { InputError } from '../../errors.js';

/** Most requests one simulation replays. */
export const MAX_TRACE_REQUESTS = 20_000_000;
/** Most bytes read from one trace file (streamed, so this bounds time, not memory). */
export const MAX_TRACE_BYTES = 4 * 1024 * 1024 * 1024;

/** "20,000,000" */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/**
 * Throw when `count` requests (expected or counted) exceed the cap. `what` says where they come from and `hint` what
 * to change: `--rate-scale 1e15: 8,819 requests x 1e15 would make 8.819e+18 requests, more than the 20,000,000 ...`.
 */
export function checkRequestCount(where: string, count: number, what: string, hint: string): void {
  if (!(count <= MAX_TRACE_REQUESTS)) {
    const shown = !Number.isFinite(count) ? 'more than 1e308' : count < 1e15 ? formatCount(count) : count.toPrecision(4);
    throw new InputError([`${where}: ${what} would make ${shown} requests, more than the ${formatCount(MAX_TRACE_REQUESTS)} one simulation replays; ${hint}`]);
  }
}
