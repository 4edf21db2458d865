/**
 * The simulator's future-event list: a binary min-heap on time, stored in typed arrays so that pushing and popping
 * never allocates. Each event is (time, kind, id, tag): `kind` says what happens, `id` names the request or replica,
 * `tag` is a version stamp the handler compares with the replica's current one ("lazy invalidation": instead of
 * deleting an event that became stale, e.g. the startup of a replica that was scaled away, we leave it in the heap
 * and ignore it when it surfaces).
 *
 * Example: push (240 s, READY, replica 3, epoch 7); at 100 s the replica is removed (epoch 8) and its slot reused
 * (epoch 9). At 240 s the event pops, its tag 7 != 9, and it is dropped unseen.
 *
 * Ties on time pop in heap order, which is a pure function of the push/pop sequence, so runs are deterministic.
 */
export class EventQueue {
  private time: Float64Array;
  private kind: Uint8Array;
  private ident: Int32Array;
  private tags: Int32Array;
  private n = 0;

  /** Filled by pop(): the popped event's fields. */
  popTime = 0;
  popKind = 0;
  popId = 0;
  popTag = 0;

  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity);
    this.time = new Float64Array(cap);
    this.kind = new Uint8Array(cap);
    this.ident = new Int32Array(cap);
    this.tags = new Int32Array(cap);
  }

  get size(): number {
    return this.n;
  }

  /** Time of the earliest event, +Infinity when empty. */
  peekTime(): number {
    return this.n > 0 ? this.time[0]! : Infinity;
  }

  push(t: number, kind: number, id: number, tag: number): void {
    if (this.n === this.time.length) this.grow();
    const time = this.time;
    const kinds = this.kind;
    const ids = this.ident;
    const tags = this.tags;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = time[parent]!;
      if (pt <= t) break;
      time[i] = pt;
      kinds[i] = kinds[parent]!;
      ids[i] = ids[parent]!;
      tags[i] = tags[parent]!;
      i = parent;
    }
    time[i] = t;
    kinds[i] = kind;
    ids[i] = id;
    tags[i] = tag;
  }

  /** Remove the earliest event into popTime/popKind/popId/popTag. Returns false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    const time = this.time;
    const kinds = this.kind;
    const ids = this.ident;
    const tags = this.tags;
    this.popTime = time[0]!;
    this.popKind = kinds[0]!;
    this.popId = ids[0]!;
    this.popTag = tags[0]!;
    const last = --this.n;
    if (last === 0) return true;
    const t = time[last]!;
    const k = kinds[last]!;
    const id = ids[last]!;
    const tag = tags[last]!;
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      let ct = time[child]!;
      const right = child + 1;
      if (right < last) {
        const rt = time[right]!;
        if (rt < ct) {
          child = right;
          ct = rt;
        }
      }
      if (ct >= t) break;
      time[i] = ct;
      kinds[i] = kinds[child]!;
      ids[i] = ids[child]!;
      tags[i] = tags[child]!;
      i = child;
    }
    time[i] = t;
    kinds[i] = k;
    ids[i] = id;
    tags[i] = tag;
    return true;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const time = new Float64Array(cap);
    time.set(this.time);
    const kind = new Uint8Array(cap);
    kind.set(this.kind);
    const ident = new Int32Array(cap);
    ident.set(this.ident);
    const tags = new Int32Array(cap);
    tags.set(this.tags);
    this.time = time;
    this.kind = kind;
    this.ident = ident;
    this.tags = tags;
  }
}
