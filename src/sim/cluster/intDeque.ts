/**
 * A growable ring buffer of int32 (request ids): FCFS queues with O(1) push at either end.
 * pushFront is for re-queued requests (an evicted replica's work goes back to the head of the line, ahead of
 * later arrivals, so FCFS by original arrival is roughly kept).
 *
 * Example: pushBack 1, pushBack 2, pushFront 9 → popFront gives 9, 1, 2.
 */
export class IntDeque {
  private buf: Int32Array;
  private mask: number;
  private head = 0;
  size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.buf = new Int32Array(cap);
    this.mask = cap - 1;
  }

  peekFront(): number {
    return this.size > 0 ? this.buf[this.head]! : -1;
  }

  /** Element i from the front (0 <= i < size). */
  at(i: number): number {
    return this.buf[(this.head + i) & this.mask]!;
  }

  pushBack(x: number): void {
    if (this.size === this.buf.length) this.grow();
    this.buf[(this.head + this.size) & this.mask] = x;
    this.size++;
  }

  pushFront(x: number): void {
    if (this.size === this.buf.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.buf[this.head] = x;
    this.size++;
  }

  popFront(): number {
    if (this.size === 0) return -1;
    const x = this.buf[this.head]!;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return x;
  }

  private grow(): void {
    const cap = this.buf.length * 2;
    const next = new Int32Array(cap);
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.head + i) & this.mask]!;
    this.buf = next;
    this.mask = cap - 1;
    this.head = 0;
  }
}
