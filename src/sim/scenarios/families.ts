/**
 * The scenario families: each turns a seeded random source into a load plan (arrival rate over time, and how request
 * lengths are drawn at a time), with every parameter drawn from a documented range, so that a family is many
 * instances rather than one hand-picked trace. Rates are requests per second; times are seconds.
 *
 * Scale: on the bundled llama2-70b-h100-tp4 profile (4 GPUs per replica) a prefill replica serves about 6.6 req/s at
 * ISL 1.5k and a decode replica about 2.5 req/s at OSL 350 within a 45 ms ITL, so the peaks below need roughly 2-5
 * prefill and 4-10 decode replicas: well inside the embedded default's 16 per pool and 128 GPUs.
 */
import { lognormal, standardNormal, type Rng } from '../random.js';

/** How a request's lengths are drawn at time t. */
export type LengthSampler = (t: number, rng: Rng) => { isl: number; osl: number };

export interface LoadPlan {
  /** One line saying what was drawn. */
  description: string;
  durationSeconds: number;
  /** Arrival rate at t. */
  rate: (t: number) => number;
  /** An upper bound of rate(t) over the whole plan (the thinning envelope). */
  peakRate: number;
  lengths: LengthSampler;
}

export const FAMILIES = ['ramp', 'flash', 'step', 'diurnal', 'mix', 'idle'] as const;
export type Family = (typeof FAMILIES)[number];

/** Longest prompt drawn (keeps prompt + output well inside the profile's 450k KV tokens). */
const MAX_ISL = 32000;
const MAX_OSL = 4000;

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng();
const minutes = (rng: Rng, lo: number, hi: number) => 60 * Math.round(uniform(rng, lo, hi));
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Lognormal prompt and output lengths with drawn means: ISL mean 1200-2500 (sigma 0.5-0.9), OSL mean 200-400 (0.6). */
function ordinaryLengths(rng: Rng): { sampler: LengthSampler; text: string } {
  const islMean = uniform(rng, 1200, 2500);
  const islSigma = uniform(rng, 0.5, 0.9);
  const oslMean = uniform(rng, 200, 400);
  return {
    sampler: (_t, g) => ({ isl: clampTokens(lognormal(g, islMean, islSigma), MAX_ISL), osl: clampTokens(lognormal(g, oslMean, 0.6), MAX_OSL) }),
    text: `isl lognormal(${Math.round(islMean)}, ${r1(islSigma)}), osl lognormal(${Math.round(oslMean)}, 0.6)`,
  };
}

function clampTokens(x: number, max: number): number {
  return Math.min(max, Math.max(1, Math.round(x)));
}

/** Piecewise-linear rate through (time, rate) points; flat outside them. */
function piecewiseLinear(points: readonly [number, number][]): (t: number) => number {
  return (t) => {
    const first = points[0] as [number, number];
    if (t <= first[0]) return first[1];
    for (let i = 1; i < points.length; i++) {
      const [t1, v1] = points[i] as [number, number];
      if (t <= t1) {
        const [t0, v0] = points[i - 1] as [number, number];
        return t1 === t0 ? v1 : v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
      }
    }
    return (points[points.length - 1] as [number, number])[1];
  };
}

/**
 * ramp: flat at a base rate 0.5-2 req/s for 10 min, up to a peak 8-14 req/s over 5-30 min, 15 min at the peak, down
 * to the base over another 5-30 min, 10 min at the base.
 */
function ramp(rng: Rng): LoadPlan {
  const base = uniform(rng, 0.5, 2);
  const peak = uniform(rng, 8, 14);
  const up = minutes(rng, 5, 30);
  const down = minutes(rng, 5, 30);
  const lengths = ordinaryLengths(rng);
  const t1 = 600;
  const t2 = t1 + up;
  const t3 = t2 + 900;
  const t4 = t3 + down;
  return {
    description: `ramp ${r1(base)} -> ${r1(peak)} req/s over ${up / 60} min, back over ${down / 60} min; ${lengths.text}`,
    durationSeconds: t4 + 600,
    rate: piecewiseLinear([
      [t1, base],
      [t2, peak],
      [t3, peak],
      [t4, base],
    ]),
    peakRate: peak,
    lengths: lengths.sampler,
  };
}

/**
 * flash: a base rate 1.5-4 req/s with three crowds 3-6x the base, 15-20 min apart: at least one of 1-2.5 min (shorter
 * than a 180 s startup) and one of 5-10 min (longer), the third either, in a drawn order.
 */
function flash(rng: Rng): LoadPlan {
  const base = uniform(rng, 1.5, 4);
  const kinds = ['short', 'long', rng() < 0.5 ? 'short' : 'long'];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as string, kinds[i] as string];
  }
  const crowds: { start: number; length: number; height: number }[] = [];
  let t = minutes(rng, 8, 12);
  for (const kind of kinds) {
    const length = kind === 'short' ? Math.round(uniform(rng, 60, 150)) : Math.round(uniform(rng, 300, 600));
    crowds.push({ start: t, length, height: uniform(rng, 3, 6) });
    t += length + minutes(rng, 15, 20);
  }
  const lengths = ordinaryLengths(rng);
  return {
    description: `flash base ${r1(base)} req/s, crowds ${crowds.map((c) => `x${r1(c.height)} for ${c.length} s at ${c.start} s`).join(', ')}; ${lengths.text}`,
    durationSeconds: t,
    rate: (x) => {
      for (const c of crowds) if (x >= c.start && x < c.start + c.length) return base * c.height;
      return base;
    },
    peakRate: base * Math.max(...crowds.map((c) => c.height)),
    lengths: lengths.sampler,
  };
}

/** step: five levels of 6-12 min each, alternately up (x2.5-5, at most 14 req/s) and down (x0.2-0.5, at least 0.5). */
function step(rng: Rng): LoadPlan {
  const levels: { at: number; rate: number }[] = [];
  let rate = uniform(rng, 1, 3);
  let at = 0;
  for (let i = 0; i < 5; i++) {
    levels.push({ at, rate });
    at += minutes(rng, 6, 12);
    rate = i % 2 === 0 ? Math.min(14, rate * uniform(rng, 2.5, 5)) : Math.max(0.5, rate * uniform(rng, 0.2, 0.5));
  }
  const lengths = ordinaryLengths(rng);
  return {
    description: `steps ${levels.map((l) => `${l.at / 60}m:${r1(l.rate)}`).join(', ')} req/s; ${lengths.text}`,
    durationSeconds: at,
    rate: (x) => {
      let r = (levels[0] as { rate: number }).rate;
      for (const l of levels) if (l.at <= x) r = l.rate;
      return r;
    },
    peakRate: Math.max(...levels.map((l) => l.rate)),
    lengths: lengths.sampler,
  };
}

/**
 * diurnal: a compressed day: mean 3-7 req/s, amplitude 0.4-0.8, period 60-120 min, two periods, starting at a drawn
 * phase; times a per-minute noise e^(sigma z - sigma^2/2), sigma 0.1-0.25, z an AR(1) with correlation 0.6.
 */
function diurnal(rng: Rng): LoadPlan {
  const mean = uniform(rng, 3, 7);
  const amplitude = uniform(rng, 0.4, 0.8);
  const period = minutes(rng, 60, 120);
  const phase = rng() * period;
  const sigma = uniform(rng, 0.1, 0.25);
  const duration = 2 * period;
  const noise: number[] = [];
  let z = standardNormal(rng);
  for (let m = 0; m <= duration / 60; m++) {
    noise.push(Math.exp(sigma * z - (sigma * sigma) / 2));
    z = 0.6 * z + 0.8 * standardNormal(rng);
  }
  const lengths = ordinaryLengths(rng);
  return {
    description: `diurnal mean ${r1(mean)} req/s, amplitude ${r1(amplitude)}, period ${period / 60} min, noise sigma ${r1(sigma)}; ${lengths.text}`,
    durationSeconds: duration,
    rate: (t) => mean * (1 + amplitude * Math.cos((2 * Math.PI * (t + phase)) / period)) * (noise[Math.floor(t / 60)] ?? 1),
    peakRate: mean * (1 + amplitude) * Math.max(...noise),
    lengths: lengths.sampler,
  };
}

/**
 * mix: a steady 4-8 req/s for 60 min whose prompt mix shifts: short prompts (lognormal mean 800-1500, sigma 0.5) and
 * long ones, whose share moves from 5-15% to 30-45% over 2 minutes at 40-60% of the trace. Odd seeds make the long
 * prompts bimodal (lognormal mean 6000-9000, sigma 0.3), even ones heavy-tailed (mean 5000-8000, sigma 1.1).
 */
function mix(rng: Rng, seed: number): LoadPlan {
  const rate = uniform(rng, 4, 8);
  const duration = 3600;
  const before = uniform(rng, 0.05, 0.15);
  const after = uniform(rng, 0.3, 0.45);
  const shiftAt = Math.round(uniform(rng, 0.4, 0.6) * duration);
  const shortMean = uniform(rng, 800, 1500);
  const heavy = seed % 2 === 0;
  const longMean = heavy ? uniform(rng, 5000, 8000) : uniform(rng, 6000, 9000);
  const longSigma = heavy ? 1.1 : 0.3;
  const share = piecewiseLinear([
    [shiftAt - 60, before],
    [shiftAt + 60, after],
  ]);
  return {
    description:
      `mix ${r1(rate)} req/s; long prompts (${heavy ? 'heavy-tailed' : 'bimodal'} lognormal(${Math.round(longMean)}, ${longSigma})) ` +
      `${Math.round(before * 100)}% -> ${Math.round(after * 100)}% at ${shiftAt} s; short lognormal(${Math.round(shortMean)}, 0.5); osl lognormal(250, 0.6)`,
    durationSeconds: duration,
    rate: () => rate,
    peakRate: rate,
    lengths: (t, g) => {
      const long = g() < share(t);
      const isl = long ? lognormal(g, longMean, longSigma) : lognormal(g, shortMean, 0.5);
      return { isl: clampTokens(isl, MAX_ISL), osl: clampTokens(lognormal(g, 250, 0.6), MAX_OSL) };
    },
  };
}

/** idle: five active periods of 4-12 min at 2-10 req/s, separated by idle gaps of 5-20 min with no request at all. */
function idle(rng: Rng): LoadPlan {
  const periods: { start: number; end: number; rate: number }[] = [];
  let t = 0;
  for (let i = 0; i < 5; i++) {
    const length = minutes(rng, 4, 12);
    periods.push({ start: t, end: t + length, rate: uniform(rng, 2, 10) });
    t += length + (i < 4 ? minutes(rng, 5, 20) : 0);
  }
  const lengths = ordinaryLengths(rng);
  return {
    description: `idle gaps; active ${periods.map((p) => `${p.start / 60}-${p.end / 60}m at ${r1(p.rate)}`).join(', ')} req/s; ${lengths.text}`,
    durationSeconds: t,
    rate: (x) => {
      for (const p of periods) if (x >= p.start && x < p.end) return p.rate;
      return 0;
    },
    peakRate: Math.max(...periods.map((p) => p.rate)),
    lengths: lengths.sampler,
  };
}

export const FAMILY_PLANS: Record<Family, (rng: Rng, seed: number) => LoadPlan> = { ramp, flash, step, diurnal, mix, idle };
