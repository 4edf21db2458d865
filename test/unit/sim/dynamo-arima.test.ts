/**
 * The ARIMA predictor of the `dynamo` baseline (src/sim/dynamo-ships/arima.ts): pmdarima's KPSS differencing
 * exactly, and forecasts that behave as auto_arima's do on plain series.
 */
import { describe, expect, it } from 'vitest';
import { chooseOrder, forecastWithOrder, kpss, ndiffs } from '../../../src/sim/dynamo-ships/arima.js';
import { ArimaPredictor, ConstantPredictor } from '../../../src/sim/dynamo-ships/predictors.js';

describe('KPSS differencing (pmdarima ndiffs, test="kpss")', () => {
  it('computes the level-stationarity statistic and its p-value from the table', () => {
    // 10, 12, 11, 13, 12, 14: mean 12, residuals -2 0 -1 1 0 2, partial sums -2 -2 -3 -2 -2 0 -> eta = 25 / 36 = 0.69444;
    // s2 = 10 / 6 plus one Newey-West lag at n = 6 (trunc(4 x (6 / 100)^(1/4)) = 1): lag-1 products 0 0 -1 0 0 = -1,
    // x (1 - 1/2) x 2 / 6 = -0.16667 -> s2 = 1.5; stat = 0.46296, just below 0.463: p = 0.050016, not < 0.05.
    const [p, diff] = kpss([10, 12, 11, 13, 12, 14]);
    expect(p).toBeCloseTo(0.050016, 6);
    expect(diff).toBe(false);
    expect(ndiffs([10, 12, 11, 13, 12, 14])).toBe(0);
  });

  it('differences a trend once, and a constant series not at all', () => {
    // 0, 10, ..., 290: stat 1.099 > 0.739 (p 0.01); once differenced the series is constant, so d = 1. Ten points of
    // the same trend are not enough for the test (stat 0.457, p 0.052): d = 0, as pmdarima says too.
    expect(ndiffs(Array.from({ length: 30 }, (_, i) => 10 * i))).toBe(1);
    expect(ndiffs([100, 120, 140, 160, 180, 200, 220, 240, 260, 280])).toBe(0);
    expect(ndiffs([7, 7, 7, 7, 7])).toBe(0);
  });
});

describe('forecasts', () => {
  it('follows a trend and stays near the level of a flat noisy series', () => {
    const trend = [1000, 1100, 1050, 1200, 1150, 1300, 1250, 1400, 1350, 1500];
    const up = forecastWithOrder(trend, chooseOrder(trend));
    expect(up).toBeGreaterThan(1350);
    expect(up).toBeLessThan(1700);
    const flat = [10, 12, 11, 13, 12, 14];
    const f = forecastWithOrder(flat, chooseOrder(flat));
    expect(f).toBeGreaterThan(9);
    expect(f).toBeLessThan(15);
  });

  it("keeps Dynamo's predictor rules: last value below 5 points, leading zeros skipped, NaN as 0, never negative", () => {
    const arima = new ArimaPredictor();
    for (const v of [0, 0, 120, 130]) arima.add(v);
    expect(arima.predict()).toBe(130);
    for (const v of [125, 0, 140]) arima.add(v);
    expect(arima.predict()).toBeGreaterThanOrEqual(0);
    const constant = new ConstantPredictor();
    expect(constant.predict()).toBe(0);
    constant.add(NaN);
    expect(constant.predict()).toBe(0);
    constant.add(5);
    constant.add(NaN);
    expect(constant.predict()).toBe(0);
  });
});
