/**
 * The twin's core, with no timers and no I/O: the simulator's ClusterSim stepped in small slices of virtual time,
 * turned into what a real Dynamo deployment would show from outside: the frontend's per-request metrics
 * (frontend-metrics.ts) and the prefill queue depth. The paced shell (twin.ts) calls advanceTo() with the
 * wall clock and publishes the results to HTTP, NATS and the fake Kubernetes API.
 *
 * ClusterSim reports windows (counts, sums, percentiles), not requests. Per-request values come from watching each
 * request's state (ClusterSim.requestState) at the end of every slice of `sliceSeconds` (default 5 ms):
 *   - first token: the slice in which a request moves past its KV transfer (decode queue, decode or done);
 *   - completion: the slice in which it is done.
 * A request's time is first estimated as the middle of its slice, then all estimates of the slice are shifted by
 * the same amount so that their SUM equals the exact one from the slice's WindowStats (count x mean). A slice with
 * one event is therefore exact; with k events each value is within one slice of the truth and the sum is exact.
 * Example: slice (10.000, 10.005], one first token, request arrived at 9.812 -> estimate 10.0025 - 9.812 = 190.5 ms;
 * the window says mean TTFT 191.3 ms -> shift +0.8 ms -> TTFT 191.3 ms, exactly what ClusterSim computed.
 *
 * When the twin observes what (differences from Dynamo's frontend, and why):
 *   requests_total, input/output_sequence_tokens: at ARRIVAL. Dynamo counts a request when it finishes and observes
 *     ISL at the first token and OSL at the end. pd-planner (and the in-process simulator) read the request count
 *     of a window as its ARRIVALS; with 3 s windows a 5 s request would otherwise land a window or two late, which
 *     at the real 180 s interval is a 3% effect and at 60x compression a whole window.
 *   time_to_first_token_seconds: at the first token, as Dynamo.
 *   inter_token_latency_seconds: once per request at completion, its mean ITL (done - first token) / (osl - 1);
 *     Dynamo observes every token. The simulator's ITL statistics and SLO attainment are per request.
 *   request_duration_seconds: at completion, as Dynamo.
 * Requests dropped by ClusterSim (too large for the KV cache) are counted as requests and get no latency.
 */
import type { ClusterOptions, ClusterTotals, WindowStats } from '../../../src/sim/cluster/index.js';
import { ClusterSim, RQ_DECODE_QUEUE, RQ_DONE, RQ_DROPPED } from '../../../src/sim/cluster/index.js';
import type { Trace } from '../../../src/sim/types.js';
import { FrontendMetrics } from './frontend-metrics.js';

export interface TwinClusterOptions {
  trace: Trace;
  cluster: ClusterOptions;
  /** `model` label of the frontend metrics. */
  model: string;
  /** Virtual seconds per observation slice (default 0.005). */
  sliceSeconds?: number;
}

/** Slices whose events did not match the window's own count (should stay 0: a test checks it). */
export interface TwinConsistency {
  ttftCountMismatches: number;
  itlCountMismatches: number;
  completedMismatches: number;
}

export interface PoolState {
  desired: number;
  ready: number;
  starting: number;
}

export class TwinCluster {
  readonly sim: ClusterSim;
  readonly metrics: FrontendMetrics;
  readonly trace: Trace;
  private readonly slice: number;
  private now = 0;
  private cursor = 0;
  private readonly inFlight: number[] = [];
  /** Virtual time of each request's first token and completion as the twin exported them (NaN until seen). */
  readonly firstTokenAt: Float64Array;
  readonly doneAt: Float64Array;
  /** Per-request TTFT (ms) and ITL (ms) as the twin exported them, NaN when not (yet) observed. For tests. */
  readonly ttftMs: Float32Array;
  readonly itlMs: Float32Array;
  private depth = 0;
  private pools: Record<string, PoolState> = {};
  readonly consistency: TwinConsistency = { ttftCountMismatches: 0, itlCountMismatches: 0, completedMismatches: 0 };
  private finished: ClusterTotals | undefined;

  constructor(options: TwinClusterOptions) {
    this.trace = options.trace;
    this.sim = new ClusterSim(options.trace, options.cluster);
    this.metrics = new FrontendMetrics(options.model);
    this.slice = options.sliceSeconds ?? 0.005;
    const n = options.trace.arrival.length;
    this.firstTokenAt = new Float64Array(n).fill(Number.NaN);
    this.doneAt = new Float64Array(n).fill(Number.NaN);
    this.ttftMs = new Float32Array(n).fill(Number.NaN);
    this.itlMs = new Float32Array(n).fill(Number.NaN);
    for (const pool of options.cluster.pools) {
      const count = options.cluster.initialReplicas[pool.name] ?? 0;
      this.pools[pool.name] = { desired: count, ready: count, starting: 0 };
    }
  }

  /** Virtual time reached (seconds from the trace start). */
  get time(): number {
    return this.now;
  }

  /** Requests that have arrived so far. */
  get arrived(): number {
    return this.cursor;
  }

  /** Requests waiting for a prefill replica right now. */
  get queueDepth(): number {
    return this.depth;
  }

  poolState(): Record<string, PoolState> {
    return structuredClone(this.pools);
  }

  /** Process everything up to virtual time `t`, slice by slice. */
  advanceTo(t: number): void {
    if (this.finished) throw new Error('TwinCluster.advanceTo: the run is finished');
    while (this.now < t) {
      const from = this.now;
      const to = Math.min(t, from + this.slice);
      this.observeSlice(from, to, this.sim.advanceTo(to));
      this.now = to;
    }
  }

  /** A new desired replica count for a pool, from now on. */
  setDesired(pool: string, replicas: number): void {
    this.sim.setDesired(pool, replicas, this.now);
    const state = this.pools[pool];
    if (state) state.desired = replicas;
  }

  /** Drain and return ClusterSim's totals (SLO attainment, GPU-hours, ...). */
  finish(): ClusterTotals {
    this.finished ??= this.sim.finish();
    return this.finished;
  }

  private observeSlice(from: number, to: number, stats: WindowStats): void {
    const { trace, metrics } = this;
    for (let k = 0; k < stats.arrived; k++) {
      const i = this.cursor++;
      metrics.countRequest();
      metrics.observe('input_sequence_tokens', trace.isl[i] as number);
      metrics.observe('output_sequence_tokens', trace.osl[i] as number);
      this.inFlight.push(i);
    }

    const firsts: number[] = [];
    const dones: number[] = [];
    for (let k = this.inFlight.length - 1; k >= 0; k--) {
      const i = this.inFlight[k] as number;
      const state = this.sim.requestState(i);
      if (state === RQ_DROPPED) {
        this.removeInFlight(k);
        continue;
      }
      if (Number.isNaN(this.firstTokenAt[i] as number) && state >= RQ_DECODE_QUEUE) firsts.push(i);
      if (state === RQ_DONE) {
        dones.push(i);
        this.removeInFlight(k);
      }
    }
    const mid = (from + to) / 2;

    // TTFT of the requests whose first token came in this slice.
    const ttft = this.exactly(
      firsts.map((i) => mid - (trace.arrival[i] as number)),
      stats.ttft.count,
      (stats.ttft.count * stats.ttft.mean) / 1000,
      'ttftCountMismatches',
    );
    firsts.forEach((i, j) => {
      const value = ttft[j] as number;
      this.firstTokenAt[i] = (trace.arrival[i] as number) + value;
      this.ttftMs[i] = value * 1000;
      metrics.observe('time_to_first_token_seconds', value);
    });

    // ITL (one value per request with more than one output token) and duration of the requests done in this slice.
    const multi = dones.filter((i) => (trace.osl[i] as number) > 1);
    const itl = this.exactly(
      multi.map((i) => Math.max(0, mid - (this.firstTokenAt[i] as number)) / ((trace.osl[i] as number) - 1)),
      stats.itl.count,
      (stats.itl.count * stats.itl.mean) / 1000,
      'itlCountMismatches',
    );
    multi.forEach((i, j) => {
      this.itlMs[i] = (itl[j] as number) * 1000;
      metrics.observe('inter_token_latency_seconds', itl[j] as number);
    });
    for (const i of dones) if ((trace.osl[i] as number) <= 1) this.itlMs[i] = 0;
    const durations = this.exactly(
      dones.map((i) => mid - (trace.arrival[i] as number)),
      stats.completed,
      stats.completed * stats.meanRequestDurationSeconds,
      'completedMismatches',
    );
    dones.forEach((i, j) => {
      this.doneAt[i] = (trace.arrival[i] as number) + (durations[j] as number);
      metrics.observe('request_duration_seconds', durations[j] as number);
    });

    this.depth = stats.queueDepth;
    for (const [name, pool] of Object.entries(stats.pools)) this.pools[name] = { desired: pool.desired, ready: pool.ready, starting: pool.starting };
  }

  /**
   * Shifts slice-midpoint estimates so their sum is the window's exact sum (see the module comment). When the
   * number of events seen differs from the window's count (it should not), the estimates are kept and counted.
   */
  private exactly(estimates: number[], count: number, exactSum: number, mismatch: keyof TwinConsistency): number[] {
    if (estimates.length === 0 && count === 0) return estimates;
    if (estimates.length !== count || !Number.isFinite(exactSum)) {
      this.consistency[mismatch] += 1;
      return estimates;
    }
    let sum = 0;
    for (const e of estimates) sum += e;
    const shift = (exactSum - sum) / count;
    return estimates.map((e) => Math.max(0, e + shift));
  }

  private removeInFlight(k: number): void {
    const last = this.inFlight.pop() as number;
    if (k < this.inFlight.length) this.inFlight[k] = last;
  }
}
