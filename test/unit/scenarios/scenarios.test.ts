/** Scenario families from seeds (src/sim/scenarios/): deterministic, shaped as documented, readable as a trace spec. */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { FAMILIES, generateScenario, parseScenarioSpec, REPORT_SEEDS, scenarioPlan, TUNING_SEEDS } from '../../../src/sim/scenarios/index.js';
import { readTrace } from '../../../src/sim/traces/index.js';

function countIn(arrival: Float64Array, from: number, to: number): number {
  let n = 0;
  for (const t of arrival) if (t >= from && t < to) n++;
  return n;
}

describe('scenario specs', () => {
  it('parse the family and the optional seed, and reject anything else with a message naming it', () => {
    expect(parseScenarioSpec('scenario:ramp?seed=3')).toEqual({ text: 'scenario:ramp?seed=3', family: 'ramp', seed: 3 });
    expect(parseScenarioSpec('scenario:idle')).toEqual({ text: 'scenario:idle', family: 'idle' });
    expect(() => parseScenarioSpec('scenario:rampp')).toThrow(/unknown family "rampp"; expected one of ramp, flash, step, diurnal, mix, idle/);
    expect(() => parseScenarioSpec('scenario:ramp?seed=x')).toThrow(InputError);
    expect(() => parseScenarioSpec('scenario:ramp?sed=1')).toThrow(/unknown parameter "sed"; allowed: seed/);
  });

  it('a seed outside 0..4294967295 (the --seed range) is out of range, not "not an integer"', () => {
    const message = (text: string): string[] => {
      try {
        parseScenarioSpec(text);
      } catch (error) {
        return (error as InputError).problems;
      }
      return [];
    };
    const range = "give an integer from 0 to 4294967295 (as --seed: the generator's state is 32 bits, so a larger seed only repeats a smaller one)";
    for (const seed of ['99999999999999999999', '4294967296', '-1']) {
      expect(message(`scenario:ramp?seed=${seed}`)).toEqual([`scenario spec "scenario:ramp?seed=${seed}": seed "${seed}" is out of range; ${range}`]);
    }
    expect(message('scenario:ramp?seed=1.5')).toEqual(['scenario spec "scenario:ramp?seed=1.5": seed "1.5" is not an integer']);
    expect(parseScenarioSpec('scenario:ramp?seed=0').seed).toBe(0);
    expect(parseScenarioSpec('scenario:ramp?seed=4294967295').seed).toBe(4294967295);
  });

  it('are read as traces: the spec seed wins over the run seed', async () => {
    const a = await readTrace('scenario:step?seed=5', { seed: 1 });
    const b = await readTrace('scenario:step?seed=5', { seed: 2 });
    expect(a.arrival).toEqual(b.arrival);
    expect(a.format).toBe('scenario');
    const c = await readTrace('scenario:step', { seed: 5 });
    expect(c.arrival).toEqual(a.arrival);
    expect(c.name).toBe('scenario:step?seed=5');
  });

  it('keep tuning and report seeds apart', () => {
    expect(TUNING_SEEDS.filter((s) => REPORT_SEEDS.includes(s))).toEqual([]);
  });
});

describe('scenario families', () => {
  it('every family and seed gives a sorted, non-empty trace whose count matches the integral of its rate (within 5 sd)', () => {
    for (const family of FAMILIES) {
      for (const seed of [1, 2, 1001]) {
        const plan = scenarioPlan(family, seed);
        const trace = generateScenario({ text: `scenario:${family}`, family, seed }, 1);
        let expected = 0;
        for (let t = 0.5; t < plan.durationSeconds; t += 1) expected += plan.rate(t);
        const n = trace.arrival.length;
        expect(Math.abs(n - expected)).toBeLessThan(5 * Math.sqrt(expected) + 0.02 * expected);
        let sorted = n > 0;
        for (let i = 1; i < n; i++) if (trace.arrival[i]! < trace.arrival[i - 1]!) sorted = false;
        expect(sorted).toBe(true);
      }
    }
  });

  it('ramp: the peak minute carries 4-28x the base minute', () => {
    const trace = generateScenario({ text: 'r', family: 'ramp', seed: 2 }, 1);
    const base = countIn(trace.arrival, 0, 600) / 10;
    let peak = 0;
    for (let m = 0; m < trace.durationSeconds / 60; m++) peak = Math.max(peak, countIn(trace.arrival, m * 60, m * 60 + 60));
    expect(peak / base).toBeGreaterThan(4);
    expect(peak / base).toBeLessThan(28 * 1.5);
  });

  it('flash: at least one crowd shorter than 180 s and one longer', () => {
    for (const seed of [1, 2, 3, 1001]) {
      const lengths = [...scenarioPlan('flash', seed).description.matchAll(/for (\d+) s/g)].map((m) => Number(m[1]));
      expect(lengths.some((l) => l < 180)).toBe(true);
      expect(lengths.some((l) => l > 180)).toBe(true);
    }
  });

  it('mix: the long-prompt share rises, so the mean ISL of the last 20 minutes is well above the first 20', () => {
    for (const seed of [1, 2]) {
      const trace = generateScenario({ text: 'm', family: 'mix', seed }, 1);
      const meanIsl = (from: number, to: number) => {
        let sum = 0;
        let n = 0;
        trace.arrival.forEach((t, i) => {
          if (t >= from && t < to) {
            sum += trace.isl[i]!;
            n++;
          }
        });
        return sum / n;
      };
      expect(meanIsl(2400, 3600) / meanIsl(0, 1200)).toBeGreaterThan(1.5);
    }
  });

  it('idle: the gaps have no request at all', () => {
    const plan = scenarioPlan('idle', 1);
    const trace = generateScenario({ text: 'i', family: 'idle', seed: 1 }, 1);
    let inGaps = 0;
    for (const t of trace.arrival) if (plan.rate(t) === 0) inGaps++;
    expect(inGaps).toBe(0);
    // seed 1: active 0-9 min, then idle until 27 min
    expect(countIn(trace.arrival, 9 * 60, 27 * 60)).toBe(0);
    expect(countIn(trace.arrival, 0, 9 * 60)).toBeGreaterThan(1000);
  });
});
