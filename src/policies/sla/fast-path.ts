/**
 * `fastPath` (spec.sla.improvements.fastPath): a sharp rise is answered at once, whatever the forecaster. When the
 * window just observed carried far more requests than the forecast expects for the next interval (more than
 * PANIC_RATIO times it, and more than PANIC_Z Poisson standard deviations above it), the forecast is behind a step,
 * not reading noise: both the next-interval and the lead-time forecasts are raised to the observed count, as
 * Knative's panic window sizes for the short window's load. A smoothing forecaster otherwise takes several intervals
 * to believe a step (a moving average of 5 reaches a doubling after 5).
 * Example: forecast 300, observed 800 in a 60 s window at I = 60 s: 800 > 1.5 x 300 and 800 - 300 = 500 > 4 x
 * sqrt(300) = 69 -> next and lead sized for at least 800. Observed 380: within the band, no change.
 * The default trend forecaster already takes such a jump as its level, so this mostly matters for the others.
 */
import type { Forecast } from '../../planner/types.js';
import { isUsable, r4, windowSeconds } from '../common.js';
import type { PolicyInput } from '../types.js';

export const PANIC_RATIO = 1.5;
export const PANIC_Z = 4;

export interface FastPath {
  input: PolicyInput;
  /** Set when the forecasts were raised: for the explanation of both roles. */
  detail?: Record<string, number | string>;
}

export function fastPathStep(input: PolicyInput): FastPath {
  if (!input.spec.sla.improvements.fastPath) return { input };
  const obs = input.observation;
  if (!isUsable(obs.requests) || obs.requests <= 0) return { input };
  const observed = (obs.requests * input.spec.interval) / windowSeconds(obs.windowSeconds, input.spec.interval);
  const expected = input.forecast.requests.value;
  if (!(observed > PANIC_RATIO * expected && observed - expected > PANIC_Z * Math.sqrt(Math.max(1, expected)))) return { input };
  const raise = (f: Forecast): Forecast =>
    f.requests.value >= observed ? f : { ...f, requests: { ...f.requests, value: observed, note: `fast path: raised to the ${r4(observed)} requests just observed` } };
  return {
    input: { ...input, forecast: raise(input.forecast), ...(input.leadForecast ? { leadForecast: raise(input.leadForecast) } : {}) },
    detail: { fastPath: `observed ${r4(observed)} requests against ${r4(expected)} forecast: sized for the observed count` },
  };
}
