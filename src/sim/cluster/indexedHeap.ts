/**
 * A min-heap over a fixed set of slots (replicas), each holding at most one key: the time of that replica's next
 * completion. Updating a slot's key moves it in place (O(log replicas)), so there are no stale entries to pop later:
 * a decode replica whose batch changes simply gets its completion time moved.
 *
 * Example: set(3, 2.5), set(7, 1.0), set(3, 0.4) → peekSlot() = 3 at 0.4; remove(3) → peekSlot() = 7 at 1.0.
 */
export class IndexedMinHeap {
  private heap: Int32Array;
  private pos: Int32Array;
  private key: Float64Array;
  size = 0;

  constructor(initialSlots = 64) {
    this.heap = new Int32Array(initialSlots);
    this.pos = new Int32Array(initialSlots).fill(-1);
    this.key = new Float64Array(initialSlots);
  }

  peekKey(): number {
    return this.size > 0 ? this.key[this.heap[0]!]! : Infinity;
  }

  peekSlot(): number {
    return this.size > 0 ? this.heap[0]! : -1;
  }

  has(slot: number): boolean {
    return slot < this.pos.length && this.pos[slot]! >= 0;
  }

  /** Insert slot with key k, or move it to k. */
  set(slot: number, k: number): void {
    if (slot >= this.pos.length) this.grow(slot + 1);
    const p = this.pos[slot]!;
    const old = this.key[slot]!;
    this.key[slot] = k;
    if (p < 0) {
      const i = this.size++;
      this.heap[i] = slot;
      this.pos[slot] = i;
      this.up(i);
    } else if (k < old) this.up(p);
    else this.down(p);
  }

  remove(slot: number): void {
    if (slot >= this.pos.length) return;
    const p = this.pos[slot]!;
    if (p < 0) return;
    this.pos[slot] = -1;
    const last = --this.size;
    if (p === last) return;
    const moved = this.heap[last]!;
    this.heap[p] = moved;
    this.pos[moved] = p;
    this.up(p);
    this.down(this.pos[moved]!);
  }

  private up(i: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const key = this.key;
    const slot = heap[i]!;
    const k = key[slot]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const ps = heap[parent]!;
      if (key[ps]! <= k) break;
      heap[i] = ps;
      pos[ps] = i;
      i = parent;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const pos = this.pos;
    const key = this.key;
    const n = this.size;
    const slot = heap[i]!;
    const k = key[slot]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      let cs = heap[child]!;
      let ck = key[cs]!;
      const right = child + 1;
      if (right < n) {
        const rs = heap[right]!;
        const rk = key[rs]!;
        if (rk < ck) {
          child = right;
          cs = rs;
          ck = rk;
        }
      }
      if (ck >= k) break;
      heap[i] = cs;
      pos[cs] = i;
      i = child;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private grow(min: number): void {
    let cap = this.pos.length * 2;
    while (cap < min) cap *= 2;
    const heap = new Int32Array(cap);
    heap.set(this.heap);
    const pos = new Int32Array(cap).fill(-1);
    pos.set(this.pos);
    const key = new Float64Array(cap);
    key.set(this.key);
    this.heap = heap;
    this.pos = pos;
    this.key = key;
  }
}
