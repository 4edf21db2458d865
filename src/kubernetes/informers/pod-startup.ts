/**
 * Startup times measured by the pod informer: for each pod that became Ready, seconds from its creation to its Ready
 * condition (scheduling, node provisioning, image pull, weights loading and warm-up all included: the lead time the
 * planner must plan with). Each pod counts once, on its first start: a pod that restarted a container (its Ready time
 * is then that of the restart) or whose times cannot be read gives no sample. Each pool reports the samples noted
 * since its previous report (numbered like pod-events.ts, so a sample noted in the same millisecond is not lost).
 *
 * Only a pod the informer saw not Ready first gives a sample: the Ready condition keeps the time of its latest
 * transition, so a pod already Ready when first seen may have lost and regained readiness (a failed readiness probe
 * does not restart a container) and its Ready time would then be that of the recovery, not of its start.
 * Example: created 10:00:00 and seen Pending, Ready since 10:03:42 -> 222 s. A pod found Ready at 14:00 (the planner
 * just started, or it was created and turned Ready while the watch was down), created 10:00:00, Ready since 13:58:00
 * after its probe failed for a minute: 14 280 s, not its startup -> no sample. A relist or later update of a pod
 * already noted adds nothing: its uid stays marked until the pod is deleted.
 */
import { timeOf, type Pod } from './pod-rules.js';

/** Samples a pool reports at most per call (the planner keeps fewer). */
const MAX_PER_REPORT = 64;
/** Samples every pool reported more than this long ago are forgotten (their pod uid stays marked until deleted). */
const KEEP_MS = 3_600_000;
/** Longer than this is not a startup but a pod that waited for something else (or wrong clocks): no sample. */
const MAX_STARTUP_SECONDS = 86_400;

/** Seconds from creation to Ready of a pod on its first start, or undefined (not Ready, restarted, times unreadable). */
export function startupSecondsOf(pod: Pod): number | undefined {
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready || pod.metadata?.deletionTimestamp) return undefined;
  const restarts = (pod.status?.containerStatuses ?? []).reduce((s, c) => s + (c.restartCount ?? 0), 0);
  if (restarts > 0) return undefined;
  const created = timeOf(pod.metadata?.creationTimestamp);
  const at = timeOf(ready.lastTransitionTime);
  if (created === undefined || at === undefined) return undefined;
  const seconds = (at - created) / 1000;
  return seconds > 0 && seconds <= MAX_STARTUP_SECONDS ? seconds : undefined;
}

interface Sample {
  at: number;
  seq: number;
  pod: Pod;
  seconds: number;
}

/** What is known of a pod: seen not Ready yet, its sample, or done (noted without a sample, or reported long ago). */
type Entry = 'waiting' | 'done' | Sample;

export class PodStartupLog {
  readonly #now: () => number;
  /** Pod uid -> its entry, until the pod is deleted. */
  readonly #pods = new Map<string, Entry>();
  #seq = 0;
  readonly #lastReport = new Map<string, { now: number; seq: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Notes a pod's startup the first time it is seen Ready, if it was seen not Ready before. */
  note(uid: string, pod: Pod): void {
    const entry = this.#pods.get(uid);
    const ready = (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
    if (entry === undefined && !ready) {
      if (!pod.metadata?.deletionTimestamp) this.#pods.set(uid, 'waiting');
      return;
    }
    if (entry !== undefined && entry !== 'waiting') return;
    if (!ready) return;
    const seconds = entry === 'waiting' ? startupSecondsOf(pod) : undefined;
    if (seconds === undefined) {
      this.#pods.set(uid, 'done');
      return;
    }
    this.#seq += 1;
    this.#pods.set(uid, { at: this.#now(), seq: this.#seq, pod, seconds });
  }

  /** The pod is gone: its uid can be forgotten. */
  deleted(uid: string): void {
    this.#pods.delete(uid);
  }

  /** The startup times (s) of the pods `mine` accepts noted since the pool's previous report, oldest first. */
  report(pool: string, now: number, mine: (pod: Pod) => boolean): number[] {
    const since = this.#lastReport.get(pool)?.seq ?? 0;
    const out: Sample[] = [];
    for (const entry of this.#pods.values()) if (typeof entry === 'object' && entry.seq > since && mine(entry.pod)) out.push(entry);
    this.#lastReport.set(pool, { now, seq: this.#seq });
    return out.sort((a, b) => a.seq - b.seq).slice(-MAX_PER_REPORT).map((s) => Math.round(s.seconds * 10) / 10);
  }

  /** Forgets samples every pool reported over an hour ago, keeping their uids marked done until the pods are deleted. */
  forgetReported(): void {
    const oldest = Math.min(...[...this.#lastReport.values()].map((r) => r.now));
    for (const [uid, entry] of this.#pods) if (typeof entry === 'object' && entry.at <= oldest - KEEP_MS) this.#pods.set(uid, 'done');
  }
}
