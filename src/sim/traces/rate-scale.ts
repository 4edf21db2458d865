import { InputError } from '../../errors.js';
import { createRng } from '../random.js';
import { checkRequestCount, formatCount } from './limits.js';
import type { Trace } from '../types.js';

/**
 * Default cap on how far (seconds) a copy may move from its original: half the gap to each
 * neighbour, but never more than this, so a long silence in the trace (an outage, a quiet night)
 * does not get filled with copies of the requests at its edges.
 */
export const DEFAULT_MAX_JITTER_SECONDS = 5;

export interface RateScaleOptions {
  /** Cap on the distance between a copy and its original, seconds (default 5). */
  maxJitterSeconds?: number;
}

/**
 * Multiply the arrival rate of a trace by `factor`, keeping its duration and the shape of its load
 * over time. Deterministic for a seed. ISL/OSL of every copy are those of its original.
 *
 * factor > 1 — copies. Each request yields floor(factor) or floor(factor)+1 requests, the extra one
 * with probability frac(factor): factor 3.7 → 3 copies with p = 0.3, 4 with p = 0.7, mean 3.7.
 * The original keeps its time; the other copies are placed uniformly in its neighbourhood: from half
 * way to the previous request to half way to the next one (each side capped at maxJitterSeconds).
 * Why that keeps the shape: those neighbourhoods tile the time axis without overlap, so every window
 * that spans a few requests receives exactly `factor` times its original count on average. Where the
 * trace is in a burst the gaps are short, so the copies land inside the burst (bursts stay bursts, as
 * tall relative to the base as in the original); where it is quiet they spread over the quiet gap. Jitter also
 * avoids stacking `factor` requests on the exact same instant, which would invent bursts.
 * Example: arrivals [0, 1, 1.2, 5], factor 2: copy of 1 lands in [0.5, 1.1); copy of 1.2 in [1.1, 3.1);
 * copy of 0 in [0, 0.5); copy of 5 in [3.1, 5]. First and last stay, so the duration is unchanged.
 *
 * factor < 1 — seeded thinning: each request is kept with probability `factor` (0.5 → about half),
 * times untouched; durationSeconds stays that of the original trace.
 *
 * Because copies stay inside their original's neighbourhood, the output is sorted without a global
 * sort: only the copies of one request are ordered among themselves. Cost O(output log factor). The output is capped
 * (MAX_TRACE_REQUESTS): a factor that would pass it is refused before anything is allocated.
 */
export function scaleRate(trace: Trace, factor: number, seed: number, options: RateScaleOptions = {}): Trace {
  if (!(Number.isFinite(factor) && factor > 0)) {
    throw new InputError([`rateScale: ${factor} is not a positive number (1 keeps the trace's rate, 2 doubles it, 0.5 halves it)`]);
  }
  if (factor === 1) return trace;
  const n = trace.arrival.length;
  checkRequestCount('--rate-scale', n * factor, `${formatCount(n)} requests x ${factor}`, 'use a smaller factor or a shorter trace');
  const rng = createRng(seed);
  const out =
    factor < 1 ? thin(trace, factor, rng) : replicate(trace, factor, rng, options.maxJitterSeconds ?? DEFAULT_MAX_JITTER_SECONDS);
  return { ...trace, arrival: out.arrival, isl: out.isl, osl: out.osl, durationSeconds: trace.durationSeconds };
}

/** Copies of one request up to which they are ordered by insertion sort (quadratic, so only for a few). */
const INSERTION_SORT_MAX = 8;

type Columns = { arrival: Float64Array; isl: Uint32Array; osl: Uint32Array };

function thin(trace: Trace, factor: number, rng: () => number): Columns {
  const n = trace.arrival.length;
  const arrival = new Float64Array(n);
  const isl = new Uint32Array(n);
  const osl = new Uint32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (rng() < factor) {
      arrival[k] = trace.arrival[i] as number;
      isl[k] = trace.isl[i] as number;
      osl[k] = trace.osl[i] as number;
      k++;
    }
  }
  return { arrival: arrival.slice(0, k), isl: isl.slice(0, k), osl: osl.slice(0, k) };
}

function replicate(trace: Trace, factor: number, rng: () => number, maxJitter: number): Columns {
  const src = trace.arrival;
  const n = src.length;
  const whole = Math.floor(factor);
  const extraProbability = factor - whole;
  const capacity = n * (whole + (extraProbability > 0 ? 1 : 0));
  const arrival = new Float64Array(capacity);
  const isl = new Uint32Array(capacity);
  const osl = new Uint32Array(capacity);
  const scratch = new Float64Array(whole + 1);
  let k = 0;
  let previous = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = src[i] as number;
    const copies = whole + (extraProbability > 0 && rng() < extraProbability ? 1 : 0);
    // Neighbourhood [t - left, t + right]: half way to each neighbour, capped; none beyond the ends.
    const left = i > 0 ? Math.min((t - (src[i - 1] as number)) / 2, maxJitter) : 0;
    const right = i < n - 1 ? Math.min(((src[i + 1] as number) - t) / 2, maxJitter) : 0;
    const from = t - left;
    const width = left + right;
    scratch[0] = t;
    if (copies <= INSERTION_SORT_MAX) {
      for (let c = 1; c < copies; c++) {
        // Insertion sort as we go: cheapest for the few copies of a small factor.
        const value = from + rng() * width;
        let j = c;
        while (j > 0 && (scratch[j - 1] as number) > value) {
          scratch[j] = scratch[j - 1] as number;
          j--;
        }
        scratch[j] = value;
      }
    } else {
      // Many copies: a typed-array sort (numeric, O(k log k)), the same order the insertion sort gives.
      for (let c = 1; c < copies; c++) scratch[c] = from + rng() * width;
      scratch.subarray(0, copies).sort();
    }
    const requestIsl = trace.isl[i] as number;
    const requestOsl = trace.osl[i] as number;
    for (let c = 0; c < copies; c++) {
      // Guard against a 1-ulp inversion at a cell boundary from floating-point rounding.
      const value = Math.max(scratch[c] as number, previous);
      arrival[k] = value;
      isl[k] = requestIsl;
      osl[k] = requestOsl;
      previous = value;
      k++;
    }
  }
  return k === capacity
    ? { arrival, isl, osl }
    : { arrival: arrival.slice(0, k), isl: isl.slice(0, k), osl: osl.slice(0, k) };
}

/**
 * Replay a trace `factor` times faster (`--speedup`): every arrival and the duration are divided by it,
 * so the same requests arrive at `factor` times the rate over a shorter span.
 * Example: factor 2 → a request at 600 s arrives at 300 s; a 3,600 s trace lasts 1,800 s.
 */
export function speedUp(trace: Trace, factor: number): Trace {
  if (!(Number.isFinite(factor) && factor > 0)) {
    throw new InputError([`speedup: ${factor} is not a positive number (2 replays the trace twice as fast)`]);
  }
  if (factor === 1) return trace;
  const arrival = new Float64Array(trace.arrival.length);
  for (let i = 0; i < arrival.length; i++) arrival[i] = (trace.arrival[i] as number) / factor;
  return {
    ...trace,
    arrival,
    durationSeconds: trace.durationSeconds / factor,
  };
}
