/**
 * The three things that differ between the in-cluster service and the simulator.
 * planner/tick.ts takes them as arguments; nothing in the core reaches for them itself.
 */
import type { PolicySpec } from '../config/schema.js';
import type { Decision, Observation } from './types.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface MetricSource {
  /** The window that ends at `now`. Missing values are left out and the reason is put in `errors`. */
  observe(now: number, windowSeconds: number, policy: PolicySpec): Promise<Observation>;
  /**
   * The prefill queue depth now, alone (a panic poll's read, planner/panic.ts); undefined when the policy names no
   * queue. Throws when the queue could not be read. A source without it gives no panic polls.
   */
  observeQueue?(now: number, policy: PolicySpec): Promise<number | undefined>;
}

export interface ApplyResult {
  /** Pool name -> what happened ("patched 3->5", "unchanged", "skipped: graph not Ready", "dry-run"). */
  pools: Record<string, string>;
  errors: Record<string, string>;
}

export interface Connector {
  apply(decision: Decision, policy: PolicySpec): Promise<ApplyResult>;
}
