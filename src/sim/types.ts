/** One request of a trace: arrival in seconds from the trace start, token counts. */
export interface TraceRequest {
  arrival: number;
  isl: number;
  osl: number;
}

/** A loaded (and possibly rate-scaled) trace, arrivals sorted ascending. Columnar for speed. */
export interface Trace {
  name: string;
  format: string;
  /** Arrival seconds from start, sorted. */
  arrival: Float64Array;
  isl: Uint32Array;
  osl: Uint32Array;
  durationSeconds: number;
  /** Lines that could not be used: count and the first few line numbers with reasons. */
  skipped: { count: number; examples: { line: number; reason: string }[] };
}
