/**
 * A min-heap of (key, id) pairs in typed arrays, one per decode replica: key = the replica's token-clock value at
 * which request `id` finishes (see decode.ts). Grows by doubling; never allocates per push.
 *
 * Example: push (130, req 7), (95, req 2), (400, req 9) → peekKey() = 95, popId() = 2, then peekKey() = 130.
 */
export class KeyedMinHeap {
  private keys: Float64Array;
  private ids: Int32Array;
  size = 0;

  constructor(initialCapacity = 16) {
    this.keys = new Float64Array(initialCapacity);
    this.ids = new Int32Array(initialCapacity);
  }

  peekKey(): number {
    return this.size > 0 ? this.keys[0]! : Infinity;
  }

  peekId(): number {
    return this.size > 0 ? this.ids[0]! : -1;
  }

  /** Key and id of entry `i` in storage order (0 <= i < size), for walking every entry (eviction). */
  keyAt(i: number): number {
    return this.keys[i]!;
  }
  idAt(i: number): number {
    return this.ids[i]!;
  }

  clear(): void {
    this.size = 0;
  }

  push(key: number, id: number): void {
    if (this.size === this.keys.length) this.grow();
    const keys = this.keys;
    const ids = this.ids;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent]!;
      if (pk <= key) break;
      keys[i] = pk;
      ids[i] = ids[parent]!;
      i = parent;
    }
    keys[i] = key;
    ids[i] = id;
  }

  /** Remove the smallest entry and return its id (-1 when empty). */
  popId(): number {
    if (this.size === 0) return -1;
    const keys = this.keys;
    const ids = this.ids;
    const top = ids[0]!;
    const last = --this.size;
    if (last === 0) return top;
    const key = keys[last]!;
    const id = ids[last]!;
    let i = 0;
    const half = last >> 1;
    while (i < half) {
      let child = 2 * i + 1;
      let ck = keys[child]!;
      const right = child + 1;
      if (right < last) {
        const rk = keys[right]!;
        if (rk < ck) {
          child = right;
          ck = rk;
        }
      }
      if (ck >= key) break;
      keys[i] = ck;
      ids[i] = ids[child]!;
      i = child;
    }
    keys[i] = key;
    ids[i] = id;
    return top;
  }

  private grow(): void {
    const keys = new Float64Array(this.keys.length * 2);
    keys.set(this.keys);
    const ids = new Int32Array(this.ids.length * 2);
    ids.set(this.ids);
    this.keys = keys;
    this.ids = ids;
  }
}
