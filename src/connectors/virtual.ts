/**
 * Virtual connector: publishes each decision to a NATS KV bucket instead of patching Kubernetes, like Dynamo's
 * VirtualConnector (which writes (num_prefill, num_decode, decision_id) for an external system to act on).
 *
 * One key per pool, JSON value { pool, role, desired, reason, decidedAt, revision }. `revision` counts the
 * changes published for that pool (1, 2, 3, ...), read back from the bucket so it keeps counting across
 * restarts. Writes use the KV entry's sequence as a compare-and-set (`update(key, value, lastSeq)`), so two
 * planners that both think they lead cannot silently overwrite each other: the loser gets an error.
 * A pool whose desired count did not change is not rewritten ("unchanged"), so watchers see only real changes.
 * The hold marks (planner/write-rule.ts): nothing is published for a pool with `writable: false`, and a held pool is
 * never published below the count published last.
 *
 * A pool's write (opening the bucket, reading the key, the compare-and-set) runs within the budget of the tick that
 * makes it and the term of leadership it began in (`callBudget()`, joined by call-budget.ts `writeBudget`), as the
 * Kubernetes writes do: when the term ends, a step still waiting (a hung server, a slow ack) ends at once, a put not
 * yet sent is never sent (the leader guard and the term are checked right before it), and one waiting for its ack
 * is cut off (it may or may not have landed). Each is logged (`write-abandoned`) and counted (`onWriteAbandoned`),
 * reason `leadership-lost`; one the tick's budget ended (given up, out of time, the planner stopping) is `tick-ended`
 * and an error of the pool. Every step is bounded by the smaller of `timeoutMs` and what is left of the tick.
 * Example: timeoutMs 5000, 1200 ms left of the tick: the key's read waits at most 1.2 s.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV } from '@nats-io/kv';
import type { PolicySpec, Role } from '../config/schema.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import type { Decision, PoolDecision } from '../planner/types.js';
import { heldAtCurrentLine, notWritableLine, writeRule } from '../planner/write-rule.js';
import { abortReason, messageOf } from '../errors.js';
import { abandonReason, withTimeout, writeBudget, type CallBudget, type WriteAbandoned } from '../call-budget.js';
import type { Logger } from 'pino';
import { silentLogger } from '../log.js';

export interface VirtualDecision {
  pool: string;
  role: Role;
  desired: number;
  /** Why: "held: <reason>", or the policy and the constraints that bound this pool. */
  reason: string;
  /** ISO time of the decision. */
  decidedAt: string;
  /** 1 for the first decision published for this pool, +1 for each change. */
  revision: number;
}

/**
 * The largest KV entry read back: a published decision is about 200 bytes. An entry past this is not ours (another
 * writer shares the key); it is refused rather than parsed. (NATS itself bounds a message by the server's max_payload,
 * 1 MB by default.)
 */
const MAX_ENTRY_BYTES = 64 * 1024;

export interface VirtualConnectorOptions {
  /** nats:// URL; default spec.sources.virtual.nats. */
  nats?: string;
  /** Bucket; default spec.sources.virtual.bucket ("pd-planner"). */
  bucket?: string;
  /** Leader guard: when it returns false nothing is written. */
  canAct?: () => boolean;
  /** Per-request timeout (ms); default 5000. */
  timeoutMs?: number;
  /** The budget each pool's write runs under (the service's tick and term of leadership), asked per apply. */
  callBudget?: () => CallBudget;
  /** Called for each write given up while under way: leadership lost, or its tick ended. */
  onWriteAbandoned?: (abandoned: WriteAbandoned) => void;
  /** Where the writes given up are logged (`write-abandoned`); default none. */
  logger?: Logger;
}

/** A pool's write ended by its budget: the term of leadership or the tick, while the put was `inFlight` or not yet. */
class WriteEndedError extends Error {
  constructor(
    readonly reason: WriteAbandoned['reason'],
    readonly why: string,
    readonly inFlight: boolean,
  ) {
    super(inFlight ? `cut off while in flight: ${why}; not counted as applied` : `not sent: ${why}`);
    this.name = 'WriteEndedError';
  }
}

/** One step of a pool's write, within its budget; `sending`: the step hands the put to the client. */
type WriteStep = <T>(what: () => Promise<T>, sending?: boolean) => Promise<T>;

export interface VirtualConnector extends Connector {
  close(): Promise<void>;
}

/** "held: <why>" for a hold; otherwise "<policy>" plus the constraints that changed this pool. */
function decisionReason(decision: Decision, pool: PoolDecision): string {
  const e = decision.explanation;
  if (e.held) return `held: ${e.holdReason ?? 'missing metrics'}`;
  return pool.boundBy.length > 0 ? `${e.policy}; bound by ${pool.boundBy.join(', ')}` : e.policy;
}

function target(spec: PolicySpec, options: { nats?: string; bucket?: string }): { nats: string; bucket: string } {
  const nats = options.nats ?? spec.sources.virtual?.nats;
  if (!nats) throw new Error('no NATS URL; set spec.sources.virtual.nats (e.g. nats://nats:4222)');
  return { nats, bucket: options.bucket ?? spec.sources.virtual?.bucket ?? 'pd-planner' };
}

/** A connection no policy has published through for this long is closed (a policy reloaded onto another server). */
const IDLE_CONNECTION_MS = 15 * 60_000;

/**
 * One NATS connection per URL, and each bucket opened once on it, shared by every policy of the process (policies may
 * publish to different buckets or servers, and their ticks overlap). A dial that failed, or a connection closed for
 * good, is forgotten, so the next call dials again; one unused for IDLE_CONNECTION_MS is closed.
 */
function bucketHandle(timeoutMs: number) {
  const connections = new Map<string, Promise<NatsConnection>>();
  const usedAt = new Map<string, number>();
  const buckets = new Map<string, { nc: Promise<NatsConnection>; kv: Promise<KV> }>();
  const closeIdle = (now: number) => {
    for (const [url, at] of usedAt) {
      if (now - at <= IDLE_CONNECTION_MS) continue;
      const dialed = connections.get(url);
      usedAt.delete(url);
      connections.delete(url);
      for (const [key, opened] of buckets) if (opened.nc === dialed) buckets.delete(key);
      void dialed?.then((nc) => (nc.isClosed() ? undefined : nc.close())).catch(() => undefined);
    }
  };
  const dial = (url: string): Promise<NatsConnection> => {
    const dialed = connect({ servers: url, name: 'pd-planner', timeout: timeoutMs, maxReconnectAttempts: -1, reconnectTimeWait: 1000 });
    connections.set(url, dialed);
    void dialed
      .then(
        (nc) => nc.closed(),
        () => undefined,
      )
      .finally(() => {
        if (connections.get(url) === dialed) connections.delete(url);
      });
    return dialed;
  };
  return {
    open(url: string, bucket: string, create: boolean): Promise<KV> {
      const now = Date.now();
      closeIdle(now);
      usedAt.set(url, now);
      const nc = connections.get(url) ?? dial(url);
      const key = `${url} ${bucket}`;
      const known = buckets.get(key);
      if (known && known.nc === nc) return known.kv;
      const kv = nc.then((c) => {
        const kvm = new Kvm(c);
        return create ? kvm.create(bucket, { history: 10, timeout: timeoutMs }) : kvm.open(bucket, { timeout: timeoutMs });
      });
      const opened = { nc, kv };
      buckets.set(key, opened);
      kv.catch(() => {
        if (buckets.get(key) === opened) buckets.delete(key);
      });
      return kv;
    },
    async close() {
      const all = [...connections.values()];
      connections.clear();
      usedAt.clear();
      buckets.clear();
      await Promise.all(all.map((dialed) => dialed.then((nc) => (nc.isClosed() ? undefined : nc.close())).catch(() => undefined)));
    },
  };
}

export function createVirtualConnector(options: VirtualConnectorOptions = {}): VirtualConnector {
  const timeoutMs = options.timeoutMs ?? 5000;
  const handle = bucketHandle(timeoutMs);
  const log = options.logger ?? silentLogger();
  const canAct = options.canAct ?? (() => true);

  /**
   * One pool's write within `own` joined with its term (writeBudget): each step bounded by the smaller of timeoutMs and
   * what is left of the tick, and ended at once by the budget's signal (WriteEndedError; in flight once the put was
   * handed to the client). Before the put, the leader guard is asked once more. Returns the pool's result line.
   */
  const publish = async (own: CallBudget, write: (step: WriteStep) => Promise<string>): Promise<string> => {
    const { budget, release } = writeBudget(own);
    const { signal, remainingMs } = budget;
    let sent = false;
    const ended = () => new WriteEndedError(abandonReason(own, budget), signal ? abortReason(signal) : 'aborted', sent);
    const step: WriteStep = async (what, sending = false) => {
      if (signal?.aborted) throw ended();
      if (sending && !canAct()) throw new WriteEndedError('leadership-lost', 'not the leader any more (canAct() is false)', false);
      const left = remainingMs?.();
      if (left !== undefined && left <= 0) throw new WriteEndedError('tick-ended', 'the tick has no time left', false);
      const ms = Math.min(timeoutMs, left ?? timeoutMs);
      if (sending) sent = true;
      try {
        // Seconds with one decimal: 1234.5 ms -> "timed out after 1.2s".
        return await withTimeout(what(), ms, `timed out after ${Math.round(ms / 100) / 10}s`, signal);
      } catch (error) {
        if (signal?.aborted) throw ended();
        throw error;
      }
    };
    try {
      return await write(step);
    } finally {
      release();
    }
  };

  return {
    async apply(decision, spec): Promise<ApplyResult> {
      const result: ApplyResult = { pools: {}, errors: {} };
      if (!canAct()) {
        for (const pool of Object.keys(decision.pools)) result.pools[pool] = 'skipped: not the leader';
        return result;
      }
      let where: { nats: string; bucket: string };
      try {
        where = target(spec, options);
      } catch (error) {
        for (const pool of Object.keys(decision.pools)) result.errors[pool] = `virtual connector: ${messageOf(error)}`;
        return result;
      }
      const { nats, bucket } = where;
      const own = options.callBudget?.() ?? {};
      let opened: Promise<KV> | undefined;
      for (const [pool, d] of Object.entries(decision.pools)) {
        const rule = writeRule(decision, pool);
        if (rule.kind === 'none') {
          result.pools[pool] = notWritableLine(rule.why);
          continue;
        }
        // Leadership may be lost between two pools: check again before every write.
        if (!canAct()) {
          result.pools[pool] = 'skipped: not the leader';
          continue;
        }
        const describe = `publish ${d.desired} to ${bucket} key ${pool}`;
        const request = `KV put $KV.${bucket}.${pool}`;
        try {
          result.pools[pool] = await publish(own, async (step) => {
            // The bucket is opened (created when missing) once, within the budget of the first write that needs it.
            let kv: KV;
            try {
              kv = await step(() => (opened ??= handle.open(nats, bucket, true)));
            } catch (error) {
              if (error instanceof WriteEndedError) throw error;
              throw new Error(`virtual connector: nats ${nats} bucket "${bucket}": ${messageOf(error)}`);
            }
            const entry = await step(() => kv.get(pool));
            if (entry && entry.length > MAX_ENTRY_BYTES) {
              throw new Error(`the entry holds ${entry.length} bytes, more than the ${MAX_ENTRY_BYTES} a decision takes: another writer uses this key; give the policy its own bucket`);
            }
            const previous = entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<VirtualDecision>() : undefined;
            if (previous && previous.desired === d.desired) return 'unchanged';
            // A hold never publishes less than what was published last: that is what the consumer runs now.
            if (rule.kind === 'not-below-current' && previous && typeof previous.desired === 'number' && d.desired < previous.desired) {
              return heldAtCurrentLine(d.desired, previous.desired, rule.why);
            }
            const value: VirtualDecision = {
              pool,
              role: d.role,
              desired: d.desired,
              reason: decisionReason(decision, d),
              decidedAt: decision.time,
              revision: (previous?.revision ?? 0) + 1,
            };
            const body = JSON.stringify(value);
            // Compare-and-set on the entry we read: a concurrent writer makes this fail rather than be overwritten.
            await step(() => (entry ? kv.update(pool, body, entry.revision) : kv.create(pool, body)), true);
            return `published ${previous?.desired ?? '-'}->${d.desired} (revision ${value.revision}) to ${bucket}`;
          });
        } catch (error) {
          if (!(error instanceof WriteEndedError)) {
            const text = messageOf(error);
            result.errors[pool] = text.startsWith('virtual connector: ') ? text : `virtual connector: nats ${nats} bucket "${bucket}" key "${pool}": ${text}`;
            continue;
          }
          const { reason, why, inFlight } = error;
          if (reason === 'leadership-lost') {
            // Not this replica's write any more: the new leader reads the key back and decides.
            result.pools[pool] = `not leader: ${inFlight ? 'the write was cut off in flight' : 'no write'} (would ${describe})`;
          } else {
            result.pools[pool] = `not applied: the write was ${inFlight ? 'cut off in flight' : 'not sent'} (would ${describe})`;
            result.errors[pool] = `virtual connector: nats ${nats} bucket "${bucket}" key "${pool}": ${error.message}`;
          }
          log.warn(
            { event: 'write-abandoned', pool, request, reason, inFlight, why },
            `${pool}: the write was given up (${why}); ${inFlight ? `${request} cut off in flight, not counted as applied` : `${request} not sent`}`,
          );
          options.onWriteAbandoned?.({ pool, request, reason, inFlight, why });
        }
      }
      return result;
    },
    close: () => handle.close(),
  };
}

// ------------------------------------------------------------------------------------------- reader

export interface VirtualReader {
  /** The latest decision for one pool, or undefined when none was published. */
  get(pool: string): Promise<VirtualDecision | undefined>;
  /** The latest decision of every pool. */
  all(): Promise<Record<string, VirtualDecision>>;
  /** Calls `onDecision` for every new decision (and, first, the current one of each pool). Returns a stop function. */
  watch(onDecision: (decision: VirtualDecision) => void): Promise<() => void>;
  close(): Promise<void>;
}

/** For other tools (an external scaler, a dashboard) that act on what the planner published. */
export async function createVirtualReader(options: { nats: string; bucket?: string; timeoutMs?: number }): Promise<VirtualReader> {
  const handle = bucketHandle(options.timeoutMs ?? 5000);
  const bucket = options.bucket ?? 'pd-planner';
  const kv = await handle.open(options.nats, bucket, false);
  const decode = (entry: { operation: string; length: number; json<T>(): T } | null): VirtualDecision | undefined =>
    entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<VirtualDecision>() : undefined;
  return {
    async get(pool) {
      return decode(await kv.get(pool));
    },
    async all() {
      const out: Record<string, VirtualDecision> = {};
      const keys: string[] = [];
      for await (const key of await kv.keys()) keys.push(key);
      for (const key of keys.sort()) {
        const value = decode(await kv.get(key));
        if (value) out[key] = value;
      }
      return out;
    },
    async watch(onDecision) {
      const iterator = await kv.watch();
      void (async () => {
        for await (const entry of iterator) {
          const value = decode(entry);
          if (value) onDecision(value);
        }
      })().catch(() => undefined);
      return () => iterator.stop();
    },
    close: () => handle.close(),
  };
}
