/**
 * Prefill queue depth from NATS JetStream: the messages a configured consumer has not been delivered yet
 * (`consumer info .num_pending`), or, without a consumer, all messages held by the stream (`state.messages`,
 * right for a work-queue stream where an acked message is removed).
 *
 * Example: stream "prefill", consumer "workers", 42 published, 30 delivered -> queueDepth = 12.
 *
 * One connection per NATS URL is kept across ticks and reconnects on its own (nats.js retries forever, every second).
 * While NATS is down a tick gets an error in `errors.queueDepth` and no depth; it never throws. If the connection was
 * never made (server down at start) or closed for good, the next tick dials again.
 *
 * A read runs under its caller's signal (the service's: the running tick's, aborted when it is given up or the
 * planner stops): it ends at once, not at its timeout, with `queueDepth` unknown and the reason in `errors` (the policy
 * then keeps its prefill count: a read cut short is never taken for an empty queue). The request itself is left to
 * its own timeout, or ends when close() closes the connection; close() does not wait for a dial still under way.
 */
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { PolicySpec } from '../config/schema.js';
import type { ObservationPart } from './prometheus.js';
import { redactUrlCredentials } from '../log.js';
import { abortReason, messageOf } from '../errors.js';
import { withTimeout } from '../call-budget.js';

export type QueueConfig = NonNullable<PolicySpec['sources']['queue']>;

export interface NatsQueueSource {
  observe(now: number, windowSeconds: number, spec: PolicySpec): Promise<ObservationPart>;
  /**
   * Pending messages now; throws an Error naming server, stream and consumer. Ends at once (throws, saying why) when
   * `signal` aborts.
   */
  depth(config: QueueConfig, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

export interface NatsQueueSourceOptions {
  /** Wait between reconnect attempts (ms); default 1000. */
  reconnectTimeWaitMs?: number;
  /** The signal each observe() runs under, asked at its start (the service's: the running tick's). Default: none. */
  signal?: () => AbortSignal | undefined;
}

interface Link {
  url: string;
  nc: NatsConnection;
  jsm?: JetStreamManager;
  /** False between a 'disconnect' and the next 'reconnect' status event. */
  connected: boolean;
}

function describe(config: QueueConfig): string {
  // A token or user:password in the URL must not reach errors or logs.
  return `nats ${redactUrlCredentials(config.nats)} stream "${config.stream}"${config.consumer ? ` consumer "${config.consumer}"` : ''}`;
}

/**
 * A connection no policy has used for this long is closed (a policy reloaded onto another server leaves its old one
 * unused); the next read of that URL dials again.
 */
const IDLE_LINK_MS = 15 * 60_000;

export function createNatsQueueSource(options: NatsQueueSourceOptions = {}): NatsQueueSource {
  /** One connection per NATS URL, shared by every policy that names it: policies of one process may name different servers. */
  const links = new Map<string, Link & { usedAt: number }>();
  const dialing = new Map<string, Promise<Link>>();

  const drop = async (old: Link) => {
    if (links.get(old.url) === old) links.delete(old.url);
    if (!old.nc.isClosed()) await old.nc.close().catch(() => undefined);
  };

  const dropIdle = (now: number) => {
    for (const old of links.values()) if (now - old.usedAt > IDLE_LINK_MS) void drop(old);
  };

  const dial = async (config: QueueConfig): Promise<Link> => {
    const timeoutMs = config.timeout * 1000;
    const now = Date.now();
    dropIdle(now);
    const current = links.get(config.nats);
    if (current && !current.nc.isClosed()) {
      current.usedAt = now;
      return current;
    }
    if (current) await drop(current);
    const pending = dialing.get(config.nats);
    if (pending) return pending;
    const dialed = (async () => {
      const nc = await connect({
        servers: config.nats,
        name: 'pd-planner',
        timeout: timeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: options.reconnectTimeWaitMs ?? 1000,
      });
      const fresh = { url: config.nats, nc, connected: true, usedAt: Date.now() };
      void (async () => {
        for await (const status of nc.status()) {
          if (status.type === 'disconnect') fresh.connected = false;
          else if (status.type === 'reconnect') fresh.connected = true;
        }
      })().catch(() => undefined);
      // A connection that gives up for good is forgotten, so the next tick dials again.
      void nc.closed().then(() => {
        if (links.get(fresh.url) === fresh) links.delete(fresh.url);
      });
      links.set(config.nats, fresh);
      return fresh;
    })().finally(() => {
      dialing.delete(config.nats);
    });
    dialing.set(config.nats, dialed);
    return dialed;
  };

  const depth = async (config: QueueConfig, signal?: AbortSignal): Promise<number> => {
    const timeoutMs = config.timeout * 1000;
    const what = describe(config);
    // Nothing is dialled or asked once the caller has given up.
    if (signal?.aborted) throw new Error(`${what}: not read: ${abortReason(signal)}`);
    try {
      return await withTimeout(
        (async () => {
          const current = await dial(config);
          current.jsm ??= await jetstreamManager(current.nc, { timeout: timeoutMs });
          if (config.consumer) {
            const info = await current.jsm.consumers.info(config.stream, config.consumer);
            return info.num_pending;
          }
          const info = await current.jsm.streams.info(config.stream);
          return info.state.messages;
        })(),
        timeoutMs,
        `timed out after ${config.timeout}s`,
        signal,
      );
    } catch (error) {
      const link = links.get(config.nats);
      const down = link && !link.connected && !signal?.aborted ? ' (disconnected from NATS; the client keeps reconnecting)' : '';
      throw new Error(`${what}: ${reason(error)}${down}`);
    }
  };

  return {
    depth,
    async observe(_now, _windowSeconds, spec) {
      const config = spec.sources.queue;
      if (!config) return {};
      try {
        return { queueDepth: await depth(config, options.signal?.()) };
      } catch (error) {
        return { errors: { queueDepth: messageOf(error) } };
      }
    },
    async close() {
      // A dial still under way (a server that accepts the connection and never answers) is not waited for: it is
      // closed as soon as it connects, or fails at its own timeout (spec.sources.queue.timeout).
      for (const pending of dialing.values()) void pending.then(drop, () => undefined);
      await Promise.all([...links.values()].map(drop));
    },
  };
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const text = `${error.message}${cause}`;
  const explain = (kind: string, hint: string) => `${kind}${text.toLowerCase() === kind ? '' : ` (${text})`}; ${hint}`;
  if (/refused/i.test(text) || code === 'ECONNREFUSED') return explain('connection refused', 'is NATS running?');
  if (/stream not found/i.test(text)) return explain('stream not found', 'check spec.sources.queue.stream');
  if (/consumer not found/i.test(text)) return explain('consumer not found', 'check spec.sources.queue.consumer');
  return text;
}
