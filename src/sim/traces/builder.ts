/**
 * Growable columnar storage for requests while a trace is read: three typed arrays that double
 * when full, so appending N requests costs O(N) amortised and no per-request objects are made.
 * Example: capacity 4 → the 5th append copies into capacity 8, the 9th into 16.
 */
export class TraceBuilder {
  arrival: Float64Array;
  isl: Uint32Array;
  osl: Uint32Array;
  length = 0;
  /** Number of appends whose arrival was earlier than the one before (the file was not sorted). */
  outOfOrder = 0;
  /** Index (0-based, among appended requests) of the first out-of-order request, or -1. */
  firstOutOfOrder = -1;

  constructor(initialCapacity = 1 << 14) {
    const capacity = Math.max(16, Math.ceil(initialCapacity));
    this.arrival = new Float64Array(capacity);
    this.isl = new Uint32Array(capacity);
    this.osl = new Uint32Array(capacity);
  }

  push(arrival: number, isl: number, osl: number): void {
    const i = this.length;
    if (i === this.arrival.length) this.grow(i * 2);
    if (i > 0 && arrival < (this.arrival[i - 1] as number)) {
      if (this.outOfOrder === 0) this.firstOutOfOrder = i;
      this.outOfOrder++;
    }
    this.arrival[i] = arrival;
    this.isl[i] = isl;
    this.osl[i] = osl;
    this.length = i + 1;
  }

  private grow(capacity: number): void {
    const arrival = new Float64Array(capacity);
    arrival.set(this.arrival);
    const isl = new Uint32Array(capacity);
    isl.set(this.isl);
    const osl = new Uint32Array(capacity);
    osl.set(this.osl);
    this.arrival = arrival;
    this.isl = isl;
    this.osl = osl;
  }

  /**
   * The final columns: trimmed to length, sorted by arrival (stable: ties keep file order) when the
   * input was not, and shifted so the first request arrives at 0.
   * Example: arrivals [10.5, 10, 12] → sorted [10, 10.5, 12] → relative [0, 0.5, 2].
   */
  finish(): { arrival: Float64Array; isl: Uint32Array; osl: Uint32Array } {
    const n = this.length;
    let arrival: Float64Array = this.arrival.slice(0, n);
    let isl: Uint32Array = this.isl.slice(0, n);
    let osl: Uint32Array = this.osl.slice(0, n);
    if (this.outOfOrder > 0) {
      ({ arrival, isl, osl } = sortByArrival(arrival, isl, osl));
    }
    const start = n > 0 ? (arrival[0] as number) : 0;
    if (start !== 0) for (let i = 0; i < n; i++) arrival[i] = (arrival[i] as number) - start;
    return { arrival, isl, osl };
  }
}

/** Stable sort of the three columns by arrival, through an index permutation. */
function sortByArrival(
  arrival: Float64Array,
  isl: Uint32Array,
  osl: Uint32Array,
): { arrival: Float64Array; isl: Uint32Array; osl: Uint32Array } {
  const n = arrival.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (arrival[a] as number) - (arrival[b] as number) || a - b);
  const sortedArrival = new Float64Array(n);
  const sortedIsl = new Uint32Array(n);
  const sortedOsl = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const j = order[i] as number;
    sortedArrival[i] = arrival[j] as number;
    sortedIsl[i] = isl[j] as number;
    sortedOsl[i] = osl[j] as number;
  }
  return { arrival: sortedArrival, isl: sortedIsl, osl: sortedOsl };
}
