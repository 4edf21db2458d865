import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { generateSynthetic, parseSyntheticSpec, rateAt, readTrace } from '../../../src/sim/traces/index.js';
import { isSorted, mean } from './helpers.js';

function countIn(arrival: Float64Array, from: number, to: number): number {
  let n = 0;
  for (const t of arrival) if (t >= from && t < to) n++;
  return n;
}

describe('parseSyntheticSpec', () => {
  it('reads the CLI form with defaults', () => {
    const spec = parseSyntheticSpec('synthetic:poisson?rate=5&duration=600&isl=3000&osl=150');
    expect(spec).toEqual({
      text: 'synthetic:poisson?rate=5&duration=600&isl=3000&osl=150',
      shape: { kind: 'poisson', rate: 5 },
      durationSeconds: 600,
      isl: { kind: 'fixed', value: 3000 },
      osl: { kind: 'fixed', value: 150 },
    });
    expect(parseSyntheticSpec('synthetic:diurnal?rate=10&duration=2d').shape).toEqual({ kind: 'diurnal', rate: 10, amplitude: 0.5, period: 86400, peak: 43200 });
    expect(parseSyntheticSpec('synthetic:burst?rate=2&duration=1h&every=10m').shape).toEqual({ kind: 'burst', rate: 2, height: 4, length: 60, every: 600, start: 300 });
    const step = parseSyntheticSpec('synthetic:step?steps=0:2,10m:8,1h:4&duration=2h&isl=lognormal:3000:0.8&osl=lognormal:200&seed=4');
    expect(step.shape).toEqual({ kind: 'step', steps: [{ at: 0, rate: 2 }, { at: 600, rate: 8 }, { at: 3600, rate: 4 }] });
    expect(step.isl).toEqual({ kind: 'lognormal', mean: 3000, sigma: 0.8 });
    expect(step.osl).toEqual({ kind: 'lognormal', mean: 200, sigma: 1 });
    expect(step.seed).toBe(4);
    expect(step.durationSeconds).toBe(7200);
  });

  it('lists every problem: unknown shape, unknown or missing parameters, bad values', () => {
    expect(() => parseSyntheticSpec('synthetic:gamma?rate=1&duration=5')).toThrow(/unknown shape "gamma"; expected poisson, diurnal, burst or step/);
    let error: InputError | undefined;
    try {
      parseSyntheticSpec('synthetic:poisson?rte=5&duration=-3&isl=lots');
    } catch (e) {
      error = e as InputError;
    }
    expect(error).toBeInstanceOf(InputError);
    expect(error!.problems).toEqual([
      'synthetic spec "synthetic:poisson?rte=5&duration=-3&isl=lots": unknown parameter "rte" for poisson; allowed: rate, duration, isl, osl, seed',
      'synthetic spec "synthetic:poisson?rte=5&duration=-3&isl=lots": duration "-3" is not a positive time (seconds, or "10m", "2h", "1d")',
      'synthetic spec "synthetic:poisson?rte=5&duration=-3&isl=lots": rate is required (a positive rate in requests/s)',
      'synthetic spec "synthetic:poisson?rte=5&duration=-3&isl=lots": isl "lots" is not a token count (e.g. 3000) or lognormal:MEAN[:SIGMA] (e.g. lognormal:3000:0.8); 1 <= mean <= 4294967295, 0 <= sigma <= 4',
    ]);
    expect(() => parseSyntheticSpec('synthetic:step?steps=5:2&duration=60')).toThrow(/the first step must be at time 0/);
    expect(() => parseSyntheticSpec('synthetic:burst?rate=1&length=700&every=600&duration=60')).toThrow(/burst length 700 s is longer than the period/);
  });
});

/** The problems a synthetic spec is refused with, or [] when it is taken. */
function problems(text: string): string[] {
  try {
    parseSyntheticSpec(text);
    return [];
  } catch (error) {
    return (error as InputError).problems;
  }
}

describe('nothing given is dropped', () => {

  it('a step at or after the end of the trace is refused (it never applied and the run said nothing)', () => {
    const spec = 'synthetic:step?steps=0:2,5m:4,10m:8&duration=5m';
    expect(problems(spec)).toEqual([
      `synthetic spec "${spec}": steps at 5m, 10m start at or after the end of the trace (duration 5m) and would never apply; lengthen duration or remove them`,
    ]);
    expect(problems('synthetic:step?steps=0:2,4m:4&duration=5m')).toEqual([]);
  });

  it('a burst shape whose first burst starts at or after the end is refused (the trace held no burst)', () => {
    // The default start is every/2 = 5m: a 5-minute trace ends as the burst would begin.
    const spec = 'synthetic:burst?rate=2&duration=5m';
    expect(problems(spec)).toEqual([
      `synthetic spec "${spec}": the first burst starts at 5m (start=, default every/2), at or after the end of the trace (duration 5m), so the trace would hold no burst; give an earlier start= or a longer duration`,
    ]);
    expect(problems('synthetic:burst?rate=2&duration=5m&start=1m')).toEqual([]);
    expect(problems('synthetic:burst?rate=2&duration=6m')).toEqual([]);
  });
});

describe('token lengths', () => {
  it('a lognormal mean past the token ceiling is refused as a fixed length is (it was drawn and clamped silently)', () => {
    const spec = 'synthetic:poisson?rate=1&duration=1h&isl=lognormal:1e300:4';
    expect(problems(spec)).toEqual([
      `synthetic spec "${spec}": isl "lognormal:1e300:4" is not a token count (e.g. 3000) or lognormal:MEAN[:SIGMA] (e.g. lognormal:3000:0.8); 1 <= mean <= 4294967295, 0 <= sigma <= 4`,
    ]);
  });
});

describe('numbers are decimal, as every other numeric input', () => {
  it('hex, binary and octal spellings are refused, naming the param (Number() read rate=0x10 as 16)', () => {
    const at = (spec: string) => `synthetic spec "${spec}"`;
    const rate = 'synthetic:poisson?rate=0x10&duration=5m';
    expect(problems(rate)).toEqual([`${at(rate)}: rate "0x10" is not a positive rate in requests/s`]);
    const burst = 'synthetic:burst?rate=2&height=0b11&duration=1h&seed=0o7';
    expect(problems(burst)).toEqual([
      `${at(burst)}: height "0b11" is not a non-negative multiplier of the base rate`,
      `${at(burst)}: seed "0o7" is not an integer from 0 to 4294967295 (as --seed)`,
    ]);
    const step = 'synthetic:step?steps=0:2,1m:0x8&duration=5m';
    expect(problems(step)).toEqual([`${at(step)}: step "1m:0x8" is not time:rate, like steps=0:2,10m:8,20m:4 (time:rate, from time 0)`]);
    const isl = 'synthetic:poisson?rate=1&duration=5m&isl=lognormal:0x400:0x1';
    expect(problems(isl)).toEqual([
      `${at(isl)}: isl "lognormal:0x400:0x1" is not a token count (e.g. 3000) or lognormal:MEAN[:SIGMA] (e.g. lognormal:3000:0.8); 1 <= mean <= 4294967295, 0 <= sigma <= 4`,
    ]);
  });

  it('a seed outside 0..4294967295 is refused with the range, as --seed is (the generator would wrap it)', () => {
    const big = 'synthetic:poisson?rate=1&duration=5m&seed=99999999999999999999';
    expect(problems(big)).toEqual([`synthetic spec "${big}": seed "99999999999999999999" is not an integer from 0 to 4294967295 (as --seed)`]);
    expect(problems('synthetic:poisson?rate=1&duration=5m&seed=-1')).toHaveLength(1);
    expect(problems('synthetic:poisson?rate=1&duration=5m&seed=4294967295')).toEqual([]);
  });

  it('decimal spellings are taken: 16, 1.6e1, +16, .5, 5.', () => {
    expect(parseSyntheticSpec('synthetic:poisson?rate=1.6e1&duration=5m').shape).toEqual({ kind: 'poisson', rate: 16 });
    expect(parseSyntheticSpec('synthetic:poisson?rate=%2B16&duration=5m').shape).toEqual({ kind: 'poisson', rate: 16 });
    expect(parseSyntheticSpec('synthetic:step?steps=0:.5,1m:5.&duration=5m').shape).toEqual({ kind: 'step', steps: [{ at: 0, rate: 0.5 }, { at: 60, rate: 5 }] });
    expect(parseSyntheticSpec('synthetic:poisson?rate=1&duration=5m&osl=lognormal:1e2:0.5').osl).toEqual({ kind: 'lognormal', mean: 100, sigma: 0.5 });
  });
});

describe('rateAt', () => {
  it('follows each shape', () => {
    const diurnal = { kind: 'diurnal', rate: 10, amplitude: 0.5, period: 86400, peak: 43200 } as const;
    expect(rateAt(diurnal, 0)).toBeCloseTo(5, 9);
    expect(rateAt(diurnal, 43200)).toBeCloseTo(15, 9);
    const burst = { kind: 'burst', rate: 2, height: 5, length: 60, every: 300, start: 150 } as const;
    expect([rateAt(burst, 100), rateAt(burst, 150), rateAt(burst, 209), rateAt(burst, 210), rateAt(burst, 455)]).toEqual([2, 10, 10, 2, 10]);
    const step = { kind: 'step', steps: [{ at: 0, rate: 2 }, { at: 600, rate: 8 }] } as const;
    expect([rateAt(step, 599), rateAt(step, 600)]).toEqual([2, 8]);
  });
});

describe('generated load hits its mean rate (tolerance 4 sigma of a Poisson count)', () => {
  it('poisson 5/s for 1 h: 18,000 ± 537', () => {
    const trace = generateSynthetic(parseSyntheticSpec('synthetic:poisson?rate=5&duration=1h'), 1);
    expect(Math.abs(trace.arrival.length - 18000)).toBeLessThan(4 * Math.sqrt(18000));
    expect(trace.durationSeconds).toBe(3600);
    expect(trace.format).toBe('synthetic');
    expect(isSorted(trace.arrival)).toBe(true);
    expect(trace.arrival.at(-1)).toBeLessThan(3600);
    expect(trace.isl.every((x) => x === 3000) && trace.osl.every((x) => x === 150)).toBe(true);
  });

  it('diurnal mean 10/s, amplitude 0.5, period 1 h over 2 h: 72,000 ± 1,073; the 10 min around the peak hold 8,865', () => {
    const trace = generateSynthetic(parseSyntheticSpec('synthetic:diurnal?rate=10&amplitude=0.5&period=1h&duration=2h'), 2);
    expect(Math.abs(trace.arrival.length - 72000)).toBeLessThan(4 * Math.sqrt(72000));
    // ∫ over [1800-300, 1800+300] of 10(1 + 0.5 cos(2π(t-1800)/3600)) dt = 6000 + 5·(3600/π)·sin(π/6) = 8864.8
    const nearPeak = 6000 + 5 * (3600 / Math.PI) * Math.sin(Math.PI / 6);
    expect(Math.abs(countIn(trace.arrival, 1500, 2100) - nearPeak)).toBeLessThan(4 * Math.sqrt(nearPeak));
    // Trough [0, 300) ∪ [3300, 3600): 6000 - 8864.8 + 6000 = 3135.2 (the complement within one cosine lobe)
    const nearTrough = 6000 - 5 * (3600 / Math.PI) * Math.sin(Math.PI / 6);
    expect(Math.abs(countIn(trace.arrival, 0, 300) + countIn(trace.arrival, 3300, 3600) - nearTrough)).toBeLessThan(4 * Math.sqrt(nearTrough));
  });

  it('burst 2/s with 10 bursts of 60 s at 10/s over 3,000 s: 10 x 600 + 2,400 x 2 = 10,800 ± 416', () => {
    const trace = generateSynthetic(parseSyntheticSpec('synthetic:burst?rate=2&height=5&length=60&every=300&duration=3000'), 3);
    expect(Math.abs(trace.arrival.length - 10800)).toBeLessThan(4 * Math.sqrt(10800));
    // First burst [150, 210): 600 expected; the minute before it: 120.
    expect(Math.abs(countIn(trace.arrival, 150, 210) - 600)).toBeLessThan(4 * Math.sqrt(600));
    expect(Math.abs(countIn(trace.arrival, 90, 150) - 120)).toBeLessThan(4 * Math.sqrt(120));
  });

  it('step 2 → 8 → 4 per s, 10 min each: 1,200, 4,800, 2,400', () => {
    const trace = generateSynthetic(parseSyntheticSpec('synthetic:step?steps=0:2,600:8,1200:4&duration=1800'), 4);
    expect(Math.abs(countIn(trace.arrival, 0, 600) - 1200)).toBeLessThan(4 * Math.sqrt(1200));
    expect(Math.abs(countIn(trace.arrival, 600, 1200) - 4800)).toBeLessThan(4 * Math.sqrt(4800));
    expect(Math.abs(countIn(trace.arrival, 1200, 1800) - 2400)).toBeLessThan(4 * Math.sqrt(2400));
  });
});

describe('bounded work', () => {
  it('a step spec with many steps reads each step a bounded number of times, not once per candidate arrival', () => {
    // 4,000 steps of 1 s alternating 1/s and 3/s: about 8,000 requests from about 12,000 candidates. A lookup that
    // scans the steps from the start for every candidate reads them ~24 million times (113 s at 12,000 steps and 18
    // million candidates); a cursor that moves forward with time reads each about once per candidate or step.
    const steps = Array.from({ length: 4000 }, (_, i) => ({ at: i, rate: i % 2 === 0 ? 1 : 3 }));
    let reads = 0;
    const counted = new Proxy(steps, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const spec = parseSyntheticSpec('synthetic:step?steps=0:1,1:3&duration=4000');
    const trace = generateSynthetic({ ...spec, shape: { kind: 'step', steps: counted } }, 1);
    expect(trace.arrival.length).toBeGreaterThan(7000);
    expect(trace.arrival.length).toBeLessThan(9000);
    expect(reads).toBeLessThan(10 * (steps.length + 3 * 4000));
  });
});

describe('lengths and determinism', () => {
  it('lognormal ISL with mean 3000, sigma 0.8: sample mean within 4 standard errors (~78 tokens)', () => {
    const trace = generateSynthetic(parseSyntheticSpec('synthetic:poisson?rate=5&duration=1h&isl=lognormal:3000:0.8&osl=lognormal:150:0.5'), 5);
    const n = trace.arrival.length;
    const se = (3000 * Math.sqrt(Math.exp(0.64) - 1)) / Math.sqrt(n);
    expect(Math.abs(mean(trace.isl) - 3000)).toBeLessThan(4 * se);
    expect(Math.abs(mean(trace.osl) - 150)).toBeLessThan((4 * 150 * Math.sqrt(Math.exp(0.25) - 1)) / Math.sqrt(n) + 0.5);
    expect(new Set(trace.isl).size).toBeGreaterThan(1000);
  });

  it('same seed → same trace; another seed → another; lengths never move arrivals', async () => {
    const spec = 'synthetic:burst?rate=3&duration=600';
    const a = await readTrace(spec, { seed: 8 });
    const b = await readTrace(spec, { seed: 8 });
    const c = await readTrace(spec, { seed: 9 });
    const d = await readTrace(`${spec}&isl=lognormal:500`, { seed: 8 });
    expect(a.arrival).toEqual(b.arrival);
    expect(a.arrival.length === c.arrival.length && a.arrival.every((t, i) => t === c.arrival[i])).toBe(false);
    expect(d.arrival).toEqual(a.arrival);
    expect(d.isl).not.toEqual(a.isl);
  });

  it('seed= in the spec wins over the run seed', async () => {
    const a = await readTrace('synthetic:poisson?rate=2&duration=100&seed=3', { seed: 1 });
    const b = await readTrace('synthetic:poisson?rate=2&duration=100', { seed: 3 });
    expect(a.arrival).toEqual(b.arrival);
  });
});
