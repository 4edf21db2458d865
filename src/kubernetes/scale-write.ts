/**
 * The one write path of the connector, for every kind of target: set a pool's replicas on its object.
 *
 * Per pool: read the object (the first read may be the one the caller already made); "unchanged" when its spec
 * holds the count; a held decision (planner/write-rule.ts) never writes below the count read back ("held at N");
 * then one write, which first checks `canAct()` (not the
 * leader: no write) and dry-run (log the write, send nothing). A write under way when leadership ends (waiting to
 * retry, about to go out, in flight: LeadershipLostError) is "not leader", never sent after the end; it is logged
 * (`write-abandoned`, naming the request) and counted (`onAbandoned`), as is a write the tick's budget ended. A write the object's own changes made fail (409
 * Conflict; a failed JSON-patch `test` on a graph) re-reads and retries, up to `conflictRetries` times; anything
 * else is thrown to the caller, which reports it for the pool. Counts are absolute, so a retried write never
 * double-applies. A write the tick's budget ended (the tick given up, the planner stopping: KubeCallAbortedError) is
 * "not applied", an error of the pool, and never retried in this tick: cut off in flight, it may have landed, and the
 * next tick reads the count back (found in place: "unchanged", no second write).
 */
import type { Logger } from 'pino';
import { messageOf } from '../errors.js';
import type { ApplyResult } from '../planner/ports.js';
import { heldAtCurrentLine } from '../planner/write-rule.js';
import { KubeCallAbortedError, LeadershipLostError } from './errors.js';
import type { ReplicaCounts } from './graph.js';
import type { WriteAbandoned } from '../call-budget.js';

export type { WriteAbandoned } from '../call-budget.js';

/** What a write needs to know about the object it scales. */
export interface ScaleSnapshot {
  /** spec replicas; undefined when the field is missing (Dynamo counts that as 0). */
  specReplicas?: number;
  status?: ReplicaCounts;
}

/** One object a pool scales: how to read it, write it, and tell a conflict from a failure. */
export interface ScaleTarget {
  /** Its spec and status: the first call may answer from what was already read, later calls read it again. */
  read(): Promise<ScaleSnapshot>;
  /** The write from `from` to `to`, for the dry-run and not-leader lines. */
  describe(from: number, to: number): string;
  /** Sends the write: the pool's result line. Leadership ended before or while it was sent: LeadershipLostError. */
  send(from: number, to: number): Promise<string>;
  /** A failed write that a re-read may fix. */
  retryable(error: unknown): boolean;
}

export interface ScaleWriterOptions {
  log: Logger;
  /** Leader guard, asked right before every write. */
  canAct: () => boolean;
  /** Log each write, send nothing. */
  dryRun: boolean;
  /** Re-read-and-retry rounds after a conflict. */
  conflictRetries: number;
  /** Called for each write given up while under way (see WriteAbandoned). */
  onAbandoned?: (abandoned: WriteAbandoned) => void;
}

export class ScaleWriter {
  readonly #options: ScaleWriterOptions;

  constructor(options: ScaleWriterOptions) {
    this.#options = options;
  }

  /**
   * Sets `pool` to `desired` on `target` and writes the pool's result line (and error) into `result`; throws what it
   * cannot handle. `holdWhy`: set when the decision was a hold: then a count below the current one is not written.
   */
  async scale(result: ApplyResult, pool: string, desired: number, target: ScaleTarget, holdWhy?: string): Promise<void> {
    const { log, conflictRetries } = this.#options;
    for (let round = 0; ; round += 1) {
      const { specReplicas } = await target.read();
      const current = specReplicas ?? 0;
      if (current === desired) {
        result.pools[pool] = `unchanged (${current})`;
        return;
      }
      if (holdWhy !== undefined && desired < current) {
        result.pools[pool] = heldAtCurrentLine(desired, current, holdWhy);
        log.warn({ pool, desired, current, why: holdWhy }, `${pool}: the decision was a hold; not writing ${desired}, below the ${current} set now`);
        return;
      }
      try {
        await this.#write(result, pool, target.describe(current, desired), () => target.send(current, desired));
        return;
      } catch (error) {
        if (!target.retryable(error) || round >= conflictRetries) throw error;
        log.warn({ pool, err: messageOf(error), round: round + 1 }, 'write conflicted; re-reading and retrying');
      }
    }
  }

  /** One write: leader check, dry-run, then the write; sets the pool's result line. True when something was written. */
  async #write(result: ApplyResult, pool: string, describe: string, send: () => Promise<string>): Promise<boolean> {
    const { canAct, dryRun, log, onAbandoned } = this.#options;
    if (!canAct()) {
      result.pools[pool] = `not leader: no write (would ${describe})`;
      log.warn({ pool }, 'not the leader; nothing written');
      return false;
    }
    if (dryRun) {
      result.pools[pool] = `dry-run: would ${describe}`;
      log.info({ pool, patch: describe }, 'dry-run: patch not sent');
      return false;
    }
    let line: string;
    try {
      line = await send();
    } catch (error) {
      if (error instanceof KubeCallAbortedError) {
        result.pools[pool] = `not applied: the write was ${error.inFlight ? 'cut off in flight' : 'not sent'} (would ${describe})`;
        result.errors[pool] = error.message;
        const request = `${error.method} ${error.path}`;
        log.warn({ event: 'write-abandoned', pool, request, reason: 'tick-ended', inFlight: error.inFlight, err: error.message }, `${pool}: the write was given up (${error.why}); not applied`);
        onAbandoned?.({ pool, request, reason: 'tick-ended', inFlight: error.inFlight, why: error.why });
        return false;
      }
      if (!(error instanceof LeadershipLostError)) throw error;
      // Not this replica's write any more: the new leader reads the count back and decides.
      result.pools[pool] = `not leader: ${error.inFlight ? 'the write was cut off in flight' : 'no write'} (would ${describe})`;
      const request = `${error.method} ${error.path}`;
      log.warn(
        { event: 'write-abandoned', pool, request, reason: 'leadership-lost', inFlight: error.inFlight, why: error.why },
        `${pool}: leadership lost (${error.why}); ${error.inFlight ? `${request} cut off in flight, not counted as applied` : `${request} not sent`}`,
      );
      onAbandoned?.({ pool, request, reason: 'leadership-lost', inFlight: error.inFlight, why: error.why });
      return false;
    }
    result.pools[pool] = line;
    return true;
  }
}
