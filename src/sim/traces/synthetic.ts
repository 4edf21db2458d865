import { formatDuration, parseDuration } from '../../config/duration.js';
import { InputError } from '../../errors.js';
import { createRng, exponential, lognormal, MAX_SEED, type Rng } from '../random.js';
import type { Trace } from '../types.js';
import { TraceBuilder } from './builder.js';
import { DECIMAL, MAX_TOKENS } from './fields.js';
import { checkRequestCount, formatCount, MAX_TRACE_REQUESTS } from './limits.js';

/**
 * Synthetic load, written as a spec string so the CLI can take it where a trace path goes:
 *
 *   synthetic:poisson?rate=5&duration=600&isl=3000&osl=150
 *   synthetic:diurnal?rate=10&amplitude=0.6&period=24h&peak=14h&duration=2d
 *   synthetic:burst?rate=2&height=5&length=60&every=10m&duration=1h
 *   synthetic:step?steps=0:2,10m:8,20m:4&duration=30m&isl=lognormal:3000:0.8
 *
 * Rates are requests per second, written as decimals ("2", "0.5", "1e3"; not "0x10"). Times are seconds (a bare
 * number) or durations ("10m", "1h30m").
 * ISL/OSL: a number (every request the same) or `lognormal:MEAN[:SIGMA]` (sigma in log space,
 * default 1). Defaults: isl=3000, osl=150. `seed=N` overrides the run's seed. Unknown parameters are
 * an error, so a typo is never silently ignored.
 */

export type LengthDistribution =
  | { kind: 'fixed'; value: number }
  | { kind: 'lognormal'; mean: number; sigma: number };

export type ArrivalShape =
  /** Constant rate. */
  | { kind: 'poisson'; rate: number }
  /** rate(t) = rate · (1 + amplitude · cos(2π (t − peak) / period)); the mean over a period is `rate`. */
  | { kind: 'diurnal'; rate: number; amplitude: number; period: number; peak: number }
  /** `rate`, and `rate · height` for `length` seconds every `every` seconds from `start`. */
  | { kind: 'burst'; rate: number; height: number; length: number; every: number; start: number }
  /** Piecewise constant: steps[i].rate from steps[i].at until the next step; steps[0].at is 0. */
  | { kind: 'step'; steps: readonly { at: number; rate: number }[] };

export interface SyntheticSpec {
  /** The spec string as given (the trace's name). */
  text: string;
  shape: ArrivalShape;
  durationSeconds: number;
  isl: LengthDistribution;
  osl: LengthDistribution;
  seed?: number;
}

export const SYNTHETIC_PREFIX = 'synthetic:';

const DEFAULT_ISL = 3000;
const DEFAULT_OSL = 150;
const DEFAULT_SIGMA = 1;

const SHAPE_PARAMS: Record<ArrivalShape['kind'], readonly string[]> = {
  poisson: ['rate'],
  diurnal: ['rate', 'amplitude', 'period', 'peak'],
  burst: ['rate', 'height', 'length', 'every', 'start'],
  step: ['steps'],
};
const COMMON_PARAMS = ['duration', 'isl', 'osl', 'seed'];

export function isSyntheticSpec(text: string): boolean {
  return text.startsWith(SYNTHETIC_PREFIX);
}

/** Parse `synthetic:KIND?key=value&...`; every problem found is listed in one InputError. */
export function parseSyntheticSpec(text: string): SyntheticSpec {
  const problems: string[] = [];
  const where = `synthetic spec ${JSON.stringify(text)}`;
  const fail = (message: string): never => {
    throw new InputError([`${where}: ${message}`]);
  };
  if (!isSyntheticSpec(text)) fail(`must start with "${SYNTHETIC_PREFIX}"`);
  const body = text.slice(SYNTHETIC_PREFIX.length);
  const question = body.indexOf('?');
  const kind = (question === -1 ? body : body.slice(0, question)).trim();
  if (!Object.hasOwn(SHAPE_PARAMS, kind)) fail(`unknown shape ${JSON.stringify(kind)}; expected poisson, diurnal, burst or step`);
  const shapeKind = kind as ArrivalShape['kind'];
  const params = new URLSearchParams(question === -1 ? '' : body.slice(question + 1));
  const allowed = [...SHAPE_PARAMS[shapeKind], ...COMMON_PARAMS];
  for (const key of new Set(params.keys())) {
    if (!allowed.includes(key)) problems.push(`${where}: unknown parameter "${key}" for ${shapeKind}; allowed: ${allowed.join(', ')}`);
    else if (params.getAll(key).length > 1) problems.push(`${where}: parameter "${key}" is given more than once`);
  }

  // A parameter read with `parse` (undefined = unreadable). Missing: the fallback, or a problem when it has none.
  // Unreadable or failing `check`: a problem naming the text given, and NaN, so parsing goes on and every problem is reported at once.
  const reader =
    (parse: (raw: string) => number | undefined) =>
    (key: string, check: (v: number) => boolean, expectation: string, fallback?: number): number => {
      const raw = params.get(key);
      if (raw === null) {
        if (fallback === undefined) {
          problems.push(`${where}: ${key} is required (${expectation})`);
          return NaN;
        }
        return fallback;
      }
      const value = parse(raw);
      if (value === undefined || !check(value)) {
        problems.push(`${where}: ${key} ${JSON.stringify(raw)} is not ${expectation}`);
        return NaN;
      }
      return value;
    };
  const number = reader(decimal);
  const seconds = reader(parseSeconds);
  const positive = (v: number) => v > 0;
  const nonNegative = (v: number) => v >= 0;

  const durationSeconds = seconds('duration', positive, 'a positive time (seconds, or "10m", "2h", "1d")');
  let shape: ArrivalShape;
  switch (shapeKind) {
    case 'poisson':
      shape = { kind: 'poisson', rate: number('rate', positive, 'a positive rate in requests/s') };
      break;
    case 'diurnal': {
      const period = seconds('period', positive, 'a positive time', 86400);
      shape = {
        kind: 'diurnal',
        rate: number('rate', positive, 'a positive mean rate in requests/s'),
        amplitude: number('amplitude', (v) => v >= 0 && v <= 1, 'a number from 0 to 1', 0.5),
        period,
        peak: seconds('peak', nonNegative, 'a non-negative time', Number.isNaN(period) ? 0 : period / 2),
      };
      break;
    }
    case 'burst': {
      const every = seconds('every', positive, 'a positive time', 600);
      const length = seconds('length', positive, 'a positive time', 60);
      if (every > 0 && length > every) problems.push(`${where}: burst length ${length} s is longer than the period every=${every} s`);
      shape = {
        kind: 'burst',
        rate: number('rate', positive, 'a positive base rate in requests/s'),
        height: number('height', nonNegative, 'a non-negative multiplier of the base rate', 4),
        length,
        every,
        start: seconds('start', nonNegative, 'a non-negative time', Number.isNaN(every) ? 0 : every / 2),
      };
      break;
    }
    case 'step':
      shape = { kind: 'step', steps: parseSteps(params.get('steps'), where, problems) };
      break;
  }
  checkWithinDuration(shape, durationSeconds, where, problems);
  const isl = parseLength(params.get('isl'), DEFAULT_ISL, 'isl', where, problems);
  const osl = parseLength(params.get('osl'), DEFAULT_OSL, 'osl', where, problems);
  const seedText = params.get('seed');
  const seed = seedText === null ? undefined : number('seed', (v) => Number.isInteger(v) && v >= 0 && v <= MAX_SEED, `an integer from 0 to ${MAX_SEED} (as --seed)`);
  if (problems.length > 0) throw new InputError(problems);
  return { text, shape, durationSeconds, isl, osl, ...(seed === undefined ? {} : { seed }) };
}

/**
 * Nothing given is dropped silently: a step, or the first burst, at or after the end of the trace would never arrive.
 * Example: steps=0:2,10m:8&duration=5m -> the step 10m:8 is refused (the trace ends at 5m); burst with the default
 * start (every/2 = 5m) and duration=5m has no burst in it.
 */
function checkWithinDuration(shape: ArrivalShape, duration: number, where: string, problems: string[]): void {
  if (!(duration > 0)) return;
  const end = formatDuration(duration);
  if (shape.kind === 'step') {
    const late = shape.steps.filter((s) => s.at >= duration);
    if (late.length > 0) {
      problems.push(`${where}: ${late.length === 1 ? 'step' : 'steps'} at ${late.map((s) => formatDuration(s.at)).join(', ')} ${late.length === 1 ? 'starts' : 'start'} at or after the end of the trace (duration ${end}) and would never apply; lengthen duration or remove ${late.length === 1 ? 'it' : 'them'}`);
    }
  } else if (shape.kind === 'burst' && shape.start >= duration) {
    problems.push(`${where}: the first burst starts at ${formatDuration(shape.start)} (start=, default every/2), at or after the end of the trace (duration ${end}), so the trace would hold no burst; give an earlier start= or a longer duration`);
  }
}

/** A finite decimal number ("2", "0.5", "1e3"), undefined otherwise: hex ("0x10"), "", "Infinity" are not numbers here. */
function decimal(raw: string): number | undefined {
  const value = DECIMAL.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isFinite(value) ? value : undefined;
}

/** Seconds from "600", "2.5", "10m", "1h30m"; undefined when neither. */
function parseSeconds(raw: string): number | undefined {
  const trimmed = raw.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return parseDuration(trimmed);
}

function parseSteps(raw: string | null, where: string, problems: string[]): { at: number; rate: number }[] {
  const example = 'like steps=0:2,10m:8,20m:4 (time:rate, from time 0)';
  if (raw === null) {
    problems.push(`${where}: steps is required, ${example}`);
    return [];
  }
  const steps: { at: number; rate: number }[] = [];
  for (const part of raw.split(',')) {
    const colon = part.lastIndexOf(':');
    const at = colon === -1 ? undefined : parseSeconds(part.slice(0, colon));
    const rate = colon === -1 ? undefined : decimal(part.slice(colon + 1));
    if (at === undefined || rate === undefined || rate < 0) {
      problems.push(`${where}: step ${JSON.stringify(part)} is not time:rate, ${example}`);
      return [];
    }
    steps.push({ at, rate });
  }
  for (let i = 1; i < steps.length; i++) {
    if ((steps[i] as { at: number }).at <= (steps[i - 1] as { at: number }).at) {
      problems.push(`${where}: step times must increase, ${example}`);
      return [];
    }
  }
  if ((steps[0] as { at: number }).at !== 0) problems.push(`${where}: the first step must be at time 0, ${example}`);
  if (!steps.some((s) => s.rate > 0)) problems.push(`${where}: every step has rate 0; no request would arrive`);
  return steps;
}

function parseLength(raw: string | null, fallback: number, key: string, where: string, problems: string[]): LengthDistribution {
  if (raw === null) return { kind: 'fixed', value: fallback };
  const text = raw.trim();
  const expectation = `a token count (e.g. ${fallback}) or lognormal:MEAN[:SIGMA] (e.g. lognormal:${fallback}:0.8)`;
  if (/^\d+$/.test(text) && Number(text) <= MAX_TOKENS) return { kind: 'fixed', value: Number(text) };
  const parts = text.split(':');
  if (parts[0] === 'lognormal' && (parts.length === 2 || parts.length === 3)) {
    const mean = decimal(parts[1] as string) ?? NaN;
    const sigma = parts.length === 3 ? (decimal(parts[2] as string) ?? NaN) : DEFAULT_SIGMA;
    if (Number.isFinite(mean) && mean >= 1 && mean <= MAX_TOKENS && Number.isFinite(sigma) && sigma >= 0 && sigma <= 4) {
      return { kind: 'lognormal', mean, sigma };
    }
  }
  problems.push(`${where}: ${key} ${JSON.stringify(raw)} is not ${expectation}; 1 <= mean <= ${MAX_TOKENS}, 0 <= sigma <= 4`);
  return { kind: 'fixed', value: fallback };
}

/**
 * The arrival rate (requests/s) of a shape at time t.
 * Example: diurnal rate 10, amplitude 0.5, period 86400, peak 43200 → 5/s at t = 0, 15/s at t = 43200.
 */
export function rateAt(shape: ArrivalShape, t: number): number {
  switch (shape.kind) {
    case 'poisson':
      return shape.rate;
    case 'diurnal':
      return shape.rate * (1 + shape.amplitude * Math.cos((2 * Math.PI * (t - shape.peak)) / shape.period));
    case 'burst': {
      if (t < shape.start) return shape.rate;
      const phase = (t - shape.start) % shape.every;
      return phase < shape.length ? shape.rate * shape.height : shape.rate;
    }
    case 'step': {
      let rate = 0;
      for (const step of shape.steps) {
        if (step.at > t) break;
        rate = step.rate;
      }
      return rate;
    }
  }
}

/**
 * rateAt for times that only grow, as the generator asks: a step shape keeps a cursor on its current step instead of
 * scanning the steps from the first for every candidate (12,000 steps and 18 million candidates took minutes).
 * Example: steps 0:2, 600:8; asked at 10, 700, 900 -> 2, 8, 8, the cursor moving once.
 */
function forwardRate(shape: ArrivalShape): (t: number) => number {
  if (shape.kind !== 'step') return (t) => rateAt(shape, t);
  const steps = shape.steps;
  let i = 0;
  return (t) => {
    if (i > 0 && (steps[i] as { at: number }).at > t) i = 0;
    while (i + 1 < steps.length && (steps[i + 1] as { at: number }).at <= t) i++;
    const step = steps[i];
    return step && step.at <= t ? step.rate : 0;
  };
}

/** An upper bound of rateAt over all t (the thinning envelope). */
export function peakRate(shape: ArrivalShape): number {
  switch (shape.kind) {
    case 'poisson':
      return shape.rate;
    case 'diurnal':
      return shape.rate * (1 + shape.amplitude);
    case 'burst':
      return shape.rate * Math.max(1, shape.height);
    case 'step':
      return Math.max(...shape.steps.map((s) => s.rate));
  }
}

function drawLength(dist: LengthDistribution, rng: Rng): number {
  if (dist.kind === 'fixed') return dist.value;
  // Rounded and kept >= 1 token: shifts the mean by < 0.5 token for means above ~50.
  return Math.min(MAX_TOKENS, Math.max(1, Math.round(lognormal(rng, dist.mean, dist.sigma))));
}

/**
 * The mean arrival rate of a shape over [0, duration) (requests/s), for the size check.
 * Example: burst rate 2, height 5, length 60, every 600 -> 2 x (1 + 4 x 60/600) = 2.8/s.
 */
function meanRate(shape: ArrivalShape, durationSeconds: number): number {
  switch (shape.kind) {
    case 'poisson':
      return shape.rate;
    case 'diurnal':
      return shape.rate;
    case 'burst':
      return shape.rate * (1 + Math.max(0, shape.height - 1) * Math.min(1, shape.length / shape.every));
    case 'step': {
      let area = 0;
      shape.steps.forEach((step, i) => {
        const end = Math.min(durationSeconds, shape.steps[i + 1]?.at ?? durationSeconds);
        if (end > step.at) area += step.rate * (end - step.at);
      });
      return durationSeconds > 0 ? area / durationSeconds : 0;
    }
  }
}

/**
 * Refuse a spec that would make more requests than a simulation replays, or draw too many candidates at the peak
 * rate (thinning draws peak rate x duration of them, kept or not): `synthetic:burst?height=1e300` is refused here
 * instead of drawing forever. Example: poisson rate 1e9 for 1 d -> 8.64e13 requests, refused.
 */
function checkSyntheticSize(spec: SyntheticSpec, lambdaMax: number): void {
  const where = `synthetic spec ${JSON.stringify(spec.text)}`;
  const expected = meanRate(spec.shape, spec.durationSeconds) * spec.durationSeconds;
  checkRequestCount(where, expected, `a mean rate of ${formatRate(expected / spec.durationSeconds)}/s for ${formatDuration(spec.durationSeconds)}`, 'lower the rate or shorten the duration');
  const candidates = lambdaMax * spec.durationSeconds;
  const maxCandidates = MAX_DRAWS_PER_REQUEST * MAX_TRACE_REQUESTS;
  if (!(candidates <= maxCandidates)) {
    throw new InputError([
      `${where}: its peak rate ${formatRate(lambdaMax)}/s for ${formatDuration(spec.durationSeconds)} means drawing ${candidates < 1e15 ? formatCount(candidates) : candidates.toPrecision(4)} candidate arrivals (thinning draws at the peak rate), more than ${formatCount(maxCandidates)}; lower the burst height or the peak rate, or shorten the duration`,
    ]);
  }
}

/** Candidates thinning may draw per request of the cap (a burst of height 4 draws 4 per base-rate request). */
const MAX_DRAWS_PER_REQUEST = 4;

function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return 'over 1e308';
  return rate < 1e6 ? String(Math.round(rate * 1000) / 1000) : rate.toPrecision(3);
}

/**
 * Generate the requests of a spec: a non-homogeneous Poisson process by thinning (Lewis–Shedler):
 * candidates at the peak rate λmax, each kept with probability rate(t)/λmax.
 * Example: burst base 2/s, height 5 → λmax 10/s; outside bursts 1 candidate in 5 is kept.
 * Arrival times and lengths use separate random streams, so changing isl/osl never moves arrivals.
 * The trace starts at 0 and lasts `duration` seconds (durationSeconds is the spec's, not the last arrival).
 */
export function generateSynthetic(spec: SyntheticSpec, seed: number): Trace {
  const effectiveSeed = spec.seed ?? seed;
  const arrivals = createRng(effectiveSeed);
  const lengths = createRng(effectiveSeed ^ 0x5bd1e995);
  const lambdaMax = peakRate(spec.shape);
  const constant = spec.shape.kind === 'poisson';
  const rate = forwardRate(spec.shape);
  checkSyntheticSize(spec, lambdaMax);
  const builder = new TraceBuilder(Math.min(1 << 24, lambdaMax * spec.durationSeconds * 1.1 + 16));
  let t = 0;
  for (;;) {
    t += exponential(arrivals, lambdaMax);
    if (t >= spec.durationSeconds) break;
    if (!constant && arrivals() * lambdaMax >= rate(t)) continue;
    builder.push(t, drawLength(spec.isl, lengths), drawLength(spec.osl, lengths));
  }
  const n = builder.length;
  return {
    name: spec.text,
    format: 'synthetic',
    arrival: builder.arrival.slice(0, n),
    isl: builder.isl.slice(0, n),
    osl: builder.osl.slice(0, n),
    durationSeconds: spec.durationSeconds,
    skipped: { count: 0, examples: [] },
    warnings: n === 0 ? [`${spec.text}: generated no request (rate too low for the duration)`] : [],
  };
}
