/** The default forecaster (src/forecast/trend.ts): level, trend, its own error, and the bound over the horizon. */
import { describe, expect, it } from 'vitest';
import { forecastNext, trendForecaster } from '../../../src/forecast/index.js';
import { RAMP_END, SHIFT_Z, trendState } from '../../../src/forecast/trend.js';
import { forecasterSpec, rng, seriesOf } from './helpers.js';

const spec = forecasterSpec();

describe('trend forecaster', () => {
  it('is the default', () => {
    expect(spec.kind).toBe('trend');
    expect([spec.alpha, spec.beta, spec.confidence]).toEqual([0.5, 0.3, 1]);
  });

  it('on a flat series forecasts the level; beyond the next interval adds its error x sqrt(h - 1)', () => {
    const r = rng(7);
    const values = Array.from({ length: 60 }, () => 1000 + 30 * r.normal());
    const s = trendState(seriesOf(values), 0.5, 0.3);
    const next = trendForecaster(seriesOf(values), spec, 60, 1).value;
    const lead = trendForecaster(seriesOf(values), spec, 60, 4).value;
    expect(Math.abs(next - 1000)).toBeLessThan(60);
    // the error estimate is the noise's scale (30), not the level's
    expect(s.sigma).toBeGreaterThan(15);
    expect(s.sigma).toBeLessThan(60);
    expect(lead - (s.level + 4 * s.trend)).toBeCloseTo(s.sigma * Math.sqrt(3), 6);
  });

  it('follows a ramp of +100 per interval: 4 ahead of 3000 is at least 3400', () => {
    const ramp = Array.from({ length: 21 }, (_, i) => 1000 + 100 * i);
    const s = trendState(seriesOf(ramp), 0.5, 0.3);
    expect(s.trend).toBeCloseTo(100, 0);
    expect(trendForecaster(seriesOf(ramp), spec, 60, 4).value).toBeGreaterThanOrEqual(3400);
    // a constant forecaster would say 3000; doubling or halving the trend would miss 3400 by 200
    expect(trendForecaster(seriesOf(ramp), spec, 60, 1).value).toBeCloseTo(3100, -1);
  });

  it('takes a jump of more than SHIFT_Z sigma as the level at once, and says so', () => {
    const values = [...Array.from({ length: 30 }, (_, i) => 1000 + (i % 2 ? 30 : -30)), 1600];
    const v = trendForecaster(seriesOf(values), spec, 60, 1);
    expect(SHIFT_Z).toBe(4);
    expect(v.value).toBeGreaterThanOrEqual(1600);
    expect(v.note).toMatch(/level shift/);
    // the same jump downwards is smoothed (half-way), never snapped: a drop is not a reason to hurry
    const down = [...values.slice(0, 30), 400];
    expect(trendForecaster(seriesOf(down), spec, 60, 1).value).toBeGreaterThan(600);
  });

  it('drops a rising trend when a point falls more than SHIFT_Z sigma below the forecast (ramp end), and says so', () => {
    expect(RAMP_END).toBe(true);
    // 30 points of a flat 764, then 1060 and 1314 (two shifts: a steep ramp, trend 254), then 1413: 155 below the
    // forecast 1568 where sigma is 24
    const values = [...Array.from({ length: 30 }, () => 764), 1060, 1314, 1413];
    const ended = trendState(seriesOf(values), 0.5, 0.3);
    expect(ended.trend).toBe(0);
    expect(ended.level).toBeCloseTo(1490.5, 6);
    expect(ended.lastRampEnd).toBe(32);
    const v = trendForecaster(seriesOf(values), spec, 60, 4);
    expect(v.value - (v.bound ?? 0)).toBeCloseTo(1490.5, 6);
    expect(v.note).toMatch(/ramp end/);
    // without the rule the trend is only smoothed (231 a interval): 4 ahead is 2414 before the bound
    const smoothed = trendState(seriesOf(values), 0.5, 0.3, false);
    expect(smoothed.trend).toBeCloseTo(230.75, 6);
    expect(smoothed.level + 4 * smoothed.trend).toBeCloseTo(2413.5, 6);
    // a ramp that levels off gently keeps its trend: its errors stay within the sigma it taught
    const gentle = [...Array.from({ length: 10 }, () => 1000), 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800, 1800, 1800];
    const kept = trendState(seriesOf(gentle), 0.5, 0.3);
    expect(kept.lastRampEnd).toBe(-1);
    expect(kept.trend).toBeGreaterThan(60);
  });

  it('never forecasts below 0 (the bound is added to a point forecast of at least 0), and falls back to the last value with one point', () => {
    expect(trendForecaster(seriesOf([300, 200, 100, 0, 0]), spec, 60, 1).value).toBe(0);
    const ahead = trendForecaster(seriesOf([300, 200, 100, 0, 0]), spec, 60, 4);
    expect(ahead.value - (ahead.bound ?? 0)).toBe(0);
    expect(ahead.bound).toBeGreaterThan(0);
    expect(trendForecaster(seriesOf([42]), spec, 60, 1)).toMatchObject({ value: 42, note: expect.stringMatching(/cold start/) });
  });

  it('forecasts each series of the planner history', () => {
    const history = Array.from({ length: 10 }, (_, i) => ({ time: i * 60000, requests: 100 + 10 * i, isl: 2000, osl: 200 }));
    const f = forecastNext(history, spec, 60, 1);
    expect(f.requests.value).toBeGreaterThan(190);
    expect(f.isl.value).toBe(2000);
    expect(f.requests.method).toBe('trend(alpha=0.5,beta=0.3,confidence=1)');
  });

  it('puts the upper bound on the request count only: ISL and OSL ahead are point forecasts', () => {
    const r = rng(11);
    const history = Array.from({ length: 40 }, (_, i) => ({ time: i * 60000, requests: 1000 + 50 * r.normal(), isl: 2000 + 200 * r.normal(), osl: 300 + 30 * r.normal() }));
    const ahead = forecastNext(history, spec, 60, 4);
    expect(ahead.requests.bound).toBeGreaterThan(0);
    expect(ahead.isl.bound).toBeUndefined();
    expect(ahead.osl.bound).toBeUndefined();
    // the same ISL series through the forecaster directly does carry a bound
    expect(trendForecaster(seriesOf(history.map((h) => h.isl)), spec, 60, 4).bound).toBeGreaterThan(0);
    expect(ahead.isl.method).toBe('trend(alpha=0.5,beta=0.3,confidence=0)');
  });
});
