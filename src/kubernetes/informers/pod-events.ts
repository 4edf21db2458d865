/**
 * Evictions and eviction notices seen by the informers, each pod counted once, and what each pool has already
 * reported. Events are numbered, and a pool reports the events numbered after its previous report. Numbers, not
 * times: an event noted in the same millisecond as the previous report (or with a clock that does not move, as in
 * tests and the simulator) would otherwise fall between two reports and never be counted.
 */
import type { Pod } from './pod-rules.js';

interface PodEvent {
  /** When it was noted (epoch ms). */
  at: number;
  seq: number;
  /** The pod as it was when noted. */
  pod: Pod;
}

/**
 * Events every pool reported more than this long ago are forgotten; a pool that has not reported for this long (its
 * policy removed, its graph gone) no longer holds them back.
 */
const KEEP_MS = 3_600_000;

export class PodEventLog {
  readonly #now: () => number;
  /**
   * Pod uid -> its eviction; `'counted'` once forgotten while the pod is still there (an evicted pod stays Failed until
   * deleted, and every re-list shows it again): it is never counted twice, and dropped when the pod is deleted.
   */
  readonly #evictions = new Map<string, PodEvent | 'counted'>();
  /** Pod uid -> the notice on its node; `'counted'` likewise, until the pod is deleted or its node's notice lifted. */
  readonly #notices = new Map<string, PodEvent | 'counted'>();
  /** Pods deleted while an event of theirs was still held: dropped, not kept as 'counted', once it is forgotten. */
  readonly #gone = new Set<string>();
  #seq = 0;
  /** Per pool: the `now` and the last event number of its previous report. */
  readonly #lastReport = new Map<string, { now: number; seq: number }>();

  constructor(now: () => number) {
    this.#now = now;
  }

  hasEviction(uid: string): boolean {
    return this.#evictions.has(uid);
  }

  hasNotice(uid: string): boolean {
    return this.#notices.has(uid);
  }

  /** Notes the pod's eviction, unless it was noted already. */
  evicted(uid: string, pod: Pod): void {
    if (!this.#evictions.has(uid)) this.#evictions.set(uid, this.#event(pod));
  }

  /** The pod is deleted: its forgotten events can go, the ones still held go once they are forgotten. */
  deleted(uid: string): void {
    for (const events of [this.#evictions, this.#notices]) {
      const event = events.get(uid);
      if (event === 'counted') events.delete(uid);
      else if (event !== undefined) this.#gone.add(uid);
    }
  }

  /**
   * The notice on the pod's node was lifted (uncordoned, taint removed): the node is not going away after all, so a
   * notice not reported yet is dropped, and a later notice counts again.
   */
  noticeLifted(uid: string): void {
    this.#notices.delete(uid);
  }

  /** Evictions held (events and marks), for the bound on memory. */
  get evictionsHeld(): number {
    return this.#evictions.size;
  }

  /** Notes the notice on the pod's node, unless it was noted already. */
  noticed(uid: string, pod: Pod): void {
    if (!this.#notices.has(uid)) this.#notices.set(uid, this.#event(pod));
  }

  /**
   * The pool's evictions and notices since its previous report, of the pods `mine` accepts, and marks them
   * reported. A pod whose node got a notice and that was then evicted before this report counts once, as evicted:
   * the Spot rules add the two counts, and one lost replica must not look like two.
   */
  report(pool: string, now: number, mine: (pod: Pod) => boolean): { evicted: number; notices: number } {
    const since = this.#lastReport.get(pool)?.seq ?? 0;
    const fresh = (events: Map<string, PodEvent | 'counted'>) =>
      [...events.entries()].filter(([, e]) => e !== 'counted' && e.seq > since && mine(e.pod)).map(([uid]) => uid);
    const evicted = fresh(this.#evictions);
    const noticed = fresh(this.#notices).filter((uid) => !evicted.includes(uid));
    this.#lastReport.set(pool, { now, seq: this.#seq });
    return { evicted: evicted.length, notices: noticed.length };
  }

  /**
   * Forgets the events every pool reported over an hour ago (keeps the maps small), counting only the pools that
   * reported within the hour before the latest report. An event of a pod still there stays marked 'counted'.
   * Example: pools a and b report at 10:00, then only a, every minute: at 11:00 b no longer holds anything back, and
   * at 11:01 the events a reported by 10:01 are forgotten.
   */
  forgetReported(): void {
    const reports = [...this.#lastReport.values()].map((r) => r.now);
    const latest = Math.max(...reports);
    const oldestReport = Math.min(...reports.filter((at) => at > latest - KEEP_MS));
    for (const events of [this.#evictions, this.#notices]) {
      for (const [uid, e] of events) {
        if (e === 'counted' || e.at > oldestReport - KEEP_MS) continue;
        if (this.#gone.has(uid)) events.delete(uid);
        else events.set(uid, 'counted');
      }
    }
    for (const uid of this.#gone) if (!this.#evictions.has(uid) && !this.#notices.has(uid)) this.#gone.delete(uid);
  }

  #event(pod: Pod): PodEvent {
    this.#seq += 1;
    return { at: this.#now(), seq: this.#seq, pod };
  }
}
