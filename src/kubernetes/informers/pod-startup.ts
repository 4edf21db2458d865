/**
 * Startup times measured by the pod informer: for each pod that became Ready, seconds from its creation to its Ready
 * condition (scheduling, node provisioning, image pull, weights loading and warm-up all included: the lead time the
 * planner must plan with). Each pod counts once, on its first start: a pod that restarted a container (its Ready time
 * is then that of the restart) or whose times cannot be read gives no sample. Each pool reports the samples noted
 * since its previous report (numbered like pod-events.ts, so a sample noted in the same millisecond is not lost);
 * pods already Ready when the informer starts count too, so a planner learns at once from what runs.
 * Example: created 10:00:00, Ready since 10:03:42 -> 222 s.
 */
import { timeOf, type Pod } from './pod-rules.js';

/** Samples a pool reports at most per call (the planner keeps fewer). */
const MAX_PER_REPORT = 64;
/** Samples every pool reported more than this long ago are forgotten (their pod uid too). */
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

export class PodStartupLog {
  readonly #now: () => number;
  /** Pod uid -> its sample (or null: seen Ready, no usable sample). */
  readonly #samples = new Map<string, Sample | null>();
  #seq = 0;
  readonly #lastReport = new Map<string, { now: number; seq: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Notes a pod's startup the first time it is seen Ready. */
  note(uid: string, pod: Pod): void {
    if (this.#samples.has(uid)) return;
    if (!(pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) return;
    const seconds = startupSecondsOf(pod);
    this.#seq += 1;
    this.#samples.set(uid, seconds === undefined ? null : { at: this.#now(), seq: this.#seq, pod, seconds });
  }

  /** The startup times (s) of the pods `mine` accepts noted since the pool's previous report, oldest first. */
  report(pool: string, now: number, mine: (pod: Pod) => boolean): number[] {
    const since = this.#lastReport.get(pool)?.seq ?? 0;
    const out: Sample[] = [];
    for (const sample of this.#samples.values()) if (sample && sample.seq > since && mine(sample.pod)) out.push(sample);
    this.#lastReport.set(pool, { now, seq: this.#seq });
    return out.sort((a, b) => a.seq - b.seq).slice(-MAX_PER_REPORT).map((s) => Math.round(s.seconds * 10) / 10);
  }

  /** Forgets samples every pool reported over an hour ago. */
  forgetReported(): void {
    const oldest = Math.min(...[...this.#lastReport.values()].map((r) => r.now));
    for (const [uid, sample] of this.#samples) if (sample && sample.at <= oldest - KEEP_MS) this.#samples.delete(uid);
  }
}
