import { describe, expect, it } from 'vitest';
import {
  constantForecaster,
  forecastNext,
  historyLimit,
  holtForecaster,
  kalmanForecaster,
  movingAverageForecaster,
  seasonalForecaster,
} from '../../../src/forecast/index.js';
import type { HistoryPoint } from '../../../src/planner/state.js';
import { forecasterSpec, rng, seriesOf } from './helpers.js';

describe('constant', () => {
  it('repeats the last value at any horizon', () => {
    const v = constantForecaster(seriesOf([700, 720]), forecasterSpec(), 60, 4);
    expect(v).toEqual({ value: 720, method: 'constant' });
  });
  it('gives NaN with a note when there is no history', () => {
    const v = constantForecaster([], forecasterSpec(), 60, 1);
    expect(v.value).toBeNaN();
    expect(v.note).toMatch(/no history/);
  });
});

describe('moving-average', () => {
  it('averages the last `window` points', () => {
    const v = movingAverageForecaster(seriesOf([100, 600, 700, 800]), forecasterSpec({ kind: 'moving-average', window: 3 }), 60, 1);
    expect(v.value).toBe(700);
    expect(v.note).toBeUndefined();
  });
  it('falls back to the last value on a cold start and says so', () => {
    const v = movingAverageForecaster(seriesOf([600, 800]), forecasterSpec({ kind: 'moving-average', window: 5 }), 60, 1);
    expect(v.value).toBe(800);
    expect(v.note).toMatch(/cold start \(2 of 5 points\)/);
  });
});

describe('holt', () => {
  const spec = forecasterSpec({ kind: 'holt' });
  it('predicts the next step of a linear ramp within 1%', () => {
    // 1000, 1050, ... 2950: next is 3000, four ahead 3150.
    const ramp = Array.from({ length: 40 }, (_, i) => 1000 + 50 * i);
    expect(holtForecaster(seriesOf(ramp), spec, 60, 1).value).toBeCloseTo(3000, 6);
    expect(holtForecaster(seriesOf(ramp), spec, 60, 4).value).toBeCloseTo(3150, 6);
  });
  it('catches up with a ramp that starts after a flat period within 1% in 15 intervals', () => {
    const values = [...Array.from({ length: 20 }, () => 1000), ...Array.from({ length: 15 }, (_, i) => 1000 + 100 * (i + 1))];
    const next = holtForecaster(seriesOf(values), spec, 60, 1).value;
    expect(Math.abs(next - 2600) / 2600).toBeLessThan(0.01);
  });
  it('never forecasts a negative count on a falling ramp', () => {
    const v = holtForecaster(seriesOf([300, 200, 100, 0]), spec, 60, 5);
    expect(v.value).toBe(0);
  });
  it('falls back to the last value with fewer than 3 points', () => {
    const v = holtForecaster(seriesOf([10, 20]), spec, 60, 1);
    expect(v).toMatchObject({ value: 20, note: expect.stringMatching(/cold start/) });
  });
});

describe('seasonal', () => {
  const day = 86400;
  const interval = 60;
  const start = Date.UTC(2026, 0, 1);
  /** 500 + 100 sin(2 pi t / day): peak 600 at 06:00, trough 400 at 18:00. */
  const sine = (i: number) => 500 + 100 * Math.sin((2 * Math.PI * i * interval) / day);
  const spec = forecasterSpec({ kind: 'seasonal', season: '24h' });

  it('recovers the phase of a daily sine from 3 days of history', () => {
    // History ends at 05:00 on day 4 (3 days + 5 hours of points).
    const n = 3 * 1440 + 300;
    const series = seriesOf(Array.from({ length: n }, (_, i) => sine(i)), interval, start);
    for (const horizon of [1, 5, 60, 780]) {
      const expected = sine(n - 1 + horizon);
      const got = seasonalForecaster(series, spec, interval, horizon);
      expect(Math.abs(got.value - expected) / expected).toBeLessThan(0.001);
      expect(got.note).toBeUndefined();
    }
    // The hour with the highest forecast over the next day is 06:00 (the sine's peak), the lowest 18:00.
    // Horizon 1 + 60 m lands on the hour (5 + m) o'clock, m = 0..23.
    const hourly = Array.from({ length: 24 }, (_, m) => seasonalForecaster(series, spec, interval, 1 + 60 * m).value);
    const hourOf = (m: number) => (5 + m) % 24;
    expect(hourOf(hourly.indexOf(Math.max(...hourly)))).toBe(6);
    expect(hourOf(hourly.indexOf(Math.min(...hourly)))).toBe(18);
  });

  it('moves the profile to today\'s level (additive shift)', () => {
    // Today's points run 50 above the previous days' profile.
    const n = 2 * 1440 + 600;
    const values = Array.from({ length: n }, (_, i) => sine(i) + (i >= 2 * 1440 ? 50 : 0));
    const got = seasonalForecaster(seriesOf(values, interval, start), spec, interval, 1).value;
    expect(got).toBeCloseTo(sine(n) + 50, 0);
  });

  it('is on a cold start until one season + 2 intervals exist', () => {
    const series = seriesOf(Array.from({ length: 1440 }, (_, i) => sine(i)), interval, start);
    const got = seasonalForecaster(series, spec, interval, 1);
    expect(got.value).toBeCloseTo(sine(1439), 9);
    expect(got.note).toMatch(/cold start \(history shorter than one season \(1d\) \+ 2 intervals\)/);
  });

  it('reads the same numbers through forecastNext (which hands it only the windows it needs)', () => {
    const n = 3 * 1440 + 300;
    const history: HistoryPoint[] = Array.from({ length: n }, (_, i) => ({ time: start + i * 60_000, requests: sine(i) }));
    const full = seasonalForecaster(seriesOf(history.map((p) => p.requests as number), interval, start), spec, interval, 5);
    const viaIndex = forecastNext(history, spec, interval, 5).requests;
    expect(viaIndex.value).toBeCloseTo(full.value, 9);
  });
});

describe('kalman', () => {
  const spec = forecasterSpec({ kind: 'kalman' });
  it('converges on a noisy constant: closer to the truth than the last value', () => {
    const random = rng(7);
    const values = Array.from({ length: 200 }, () => 1000 + 100 * random.normal());
    let kalmanError = 0;
    let lastError = 0;
    for (let end = 100; end < 200; end++) {
      const series = seriesOf(values.slice(0, end));
      kalmanError += Math.abs(kalmanForecaster(series, spec, 60, 1).value - 1000);
      lastError += Math.abs((values[end - 1] as number) - 1000);
    }
    // Mean absolute error of the last value is ~80 (0.8 sd); the filter's is less than half of it.
    expect(kalmanError / 100).toBeLessThan(0.5 * (lastError / 100));
    expect(Math.abs(kalmanForecaster(seriesOf(values), spec, 60, 1).value - 1000)).toBeLessThan(60);
  });
  it('follows a ramp (the trend state) within 2%', () => {
    const ramp = Array.from({ length: 100 }, (_, i) => 1000 + 20 * i);
    const next = kalmanForecaster(seriesOf(ramp), spec, 60, 1).value;
    expect(Math.abs(next - 3000) / 3000).toBeLessThan(0.02);
  });
  it('falls back to the last value with fewer than 3 points', () => {
    expect(kalmanForecaster(seriesOf([5]), spec, 60, 1)).toMatchObject({ value: 5, note: expect.stringMatching(/cold start/) });
  });
});

describe('forecastNext', () => {
  it('forecasts each series on its own, skipping points where it is missing', () => {
    const history: HistoryPoint[] = [
      { time: 0, requests: 700, isl: 3000, osl: 150 },
      { time: 60_000, requests: 720, isl: Number.NaN },
    ];
    const f = forecastNext(history, forecasterSpec({ kind: 'constant' }), 60, 1);
    expect(f.requests.value).toBe(720);
    expect(f.isl.value).toBe(3000);
    expect(f.osl.value).toBe(150);
  });
  it('gives NaN with a note for a series never seen', () => {
    const f = forecastNext([{ time: 0, requests: 10 }], forecasterSpec({ kind: 'holt' }), 60, 1);
    expect(f.requests).toMatchObject({ value: 10, note: expect.stringMatching(/cold start/) });
    expect(f.isl.value).toBeNaN();
    expect(f.isl.note).toMatch(/no history/);
  });
  it('keeps zero as a real value (zero traffic is not missing)', () => {
    const f = forecastNext([{ time: 0, requests: 5 }, { time: 60_000, requests: 0 }], forecasterSpec({ kind: 'constant' }), 60, 1);
    expect(f.requests.value).toBe(0);
  });
  it('sizes the history to the forecaster', () => {
    expect(historyLimit(forecasterSpec({ kind: 'constant' }), 60)).toBe(11);
    // trend: its error estimate (weight 0.1) fades to 1% in 44 points
    expect(historyLimit(forecasterSpec(), 60)).toBe(54);
    expect(historyLimit(forecasterSpec({ kind: 'holt' }), 60)).toBe(40);
    expect(historyLimit(forecasterSpec({ kind: 'seasonal', season: '24h' }), 60)).toBe(3 * 1440 + 8 + 10);
  });
});
