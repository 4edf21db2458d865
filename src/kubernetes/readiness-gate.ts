/**
 * The readiness gate the connector applies before it writes, with the times it remembers across ticks (epoch ms,
 * by object key). Both waits are bounded by spec.readinessTimeout and never block a tick: a held pool is skipped
 * this tick and looked at again on the next one.
 *
 *   - A graph whose Ready condition is not True: during a rolling update nothing is scaled; otherwise only
 *     scale-ups of components that are not themselves still coming up go ahead (a Spot eviction makes the graph not
 *     Ready, and that is exactly when the on-demand component must take the need over). Past the timeout everything
 *     goes ahead, with an error saying so.
 *   - A component with fewer ready (or updated) replicas than its spec is still coming up: adding more now would
 *     stack a second scale-up on the first. Its scale-up waits up to the timeout after we first saw it so, or after
 *     our own last scale-up of it, then goes ahead with an error saying it timed out. A component without status
 *     counts cannot be checked and is not held back.
 *     Example: timeout 1800 s, spec 4, 2 ready: skipped for up to 1800 s, then scaled with "not ready after 1800s".
 */
import type { ReadyCondition, ReplicaCounts, ReplicaStatus } from './graph.js';
import { replicaStatus } from './graph.js';

export type GraphVerdict =
  | { kind: 'ready' }
  /** Rolling update: hold every pool of the graph; `skipped` says why. */
  | { kind: 'rolling'; skipped: string; why: string }
  /** Not Ready otherwise: only scale-ups of settled components go ahead. */
  | { kind: 'not-ready'; skipped: string; why: string }
  /** Not Ready for longer than the timeout: scale anyway, with this error. */
  | { kind: 'timed-out'; error: string };

export type ScaleUpVerdict = { ok: true; timedOut?: string } | { ok: false; reason: string };

/** Every spec replica is updated and ready: nothing is still coming up. */
export function settled(s: ReplicaStatus): boolean {
  return s.ready >= s.desired && s.updated >= s.desired;
}

function conditionText(ready: ReadyCondition): string {
  if (ready.status === undefined) return 'no Ready condition';
  return `Ready=${ready.status}${ready.reason ? `, reason ${ready.reason}` : ''}${ready.message ? `: ${ready.message}` : ''}`;
}

export class ReadinessGate {
  readonly #now: () => number;
  /** Graph key -> when it was first seen not Ready. */
  readonly #notReadySince = new Map<string, number>();
  /** Component key -> when it was first seen coming up (or last scaled up by us). */
  readonly #becomingReadySince = new Map<string, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** `label`: "DynamoGraphDeployment ns/name", for the messages. */
  graph(key: string, label: string, ready: ReadyCondition, timeoutSeconds: number): GraphVerdict {
    if (ready.ready) {
      this.#notReadySince.delete(key);
      return { kind: 'ready' };
    }
    const t = this.#now();
    const since = this.#notReadySince.get(key) ?? t;
    this.#notReadySince.set(key, since);
    const waited = Math.round((t - since) / 1000);
    const why = conditionText(ready);
    if (waited >= timeoutSeconds) {
      this.#notReadySince.delete(key);
      return { kind: 'timed-out', error: `${label} is not ready after ${timeoutSeconds}s (${why}); scaling anyway` };
    }
    const skipped = `${label} is not Ready (${why}); not scaling for ${waited}s of ${timeoutSeconds}s`;
    return /rolling/i.test(ready.reason ?? '') ? { kind: 'rolling', skipped, why } : { kind: 'not-ready', skipped, why };
  }

  /** May a component (`label`: "component X of ns/graph") get more replicas now? */
  scaleUp(key: string, label: string, status: ReplicaCounts | undefined, specReplicas: number | undefined, timeoutSeconds: number): ScaleUpVerdict {
    if (!status) {
      this.#becomingReadySince.delete(key);
      return { ok: true };
    }
    const s = replicaStatus(specReplicas, status);
    if (settled(s)) {
      this.#becomingReadySince.delete(key);
      return { ok: true };
    }
    const t = this.#now();
    const since = this.#becomingReadySince.get(key) ?? t;
    this.#becomingReadySince.set(key, since);
    const waited = Math.round((t - since) / 1000);
    if (waited < timeoutSeconds) {
      return { ok: false, reason: `skipped: ${label} is still becoming ready (${s.ready}/${s.desired} ready, ${s.updated} updated); waited ${waited}s of ${timeoutSeconds}s before adding more` };
    }
    this.#becomingReadySince.delete(key);
    return { ok: true, timedOut: `${label} is not ready after ${timeoutSeconds}s (${s.ready}/${s.desired} ready); scaling anyway` };
  }

  /** We just scaled the component up: its new replicas are coming up from now. */
  scaledUp(key: string): void {
    this.#becomingReadySince.set(key, this.#now());
  }
}
