/**
 * The `dynamo` baseline of the simulator: NVIDIA Dynamo's SLA planner as users run it, in its own loop rather than
 * ours. Its defaults (ai-dynamo/dynamo planner `defaults.py`, v0.9): adjustment_interval 180 s (the first decision
 * one interval after start), load_predictor "arima", correction factors on, min_endpoint 1, throughput scaling only;
 * no stabilization window, no step limits, no Spot headroom, no lead time. What the deployment brings: the ITL SLO,
 * the GPUs per replica, and max_gpu_budget = the policy file's budget.maxGpus (-1 when it has none).
 *
 * Every 180 s of simulated time the driver sums the windows since its last tick into what Dynamo's Prometheus
 * queries return (request count; count-weighted means of ISL, OSL, TTFT, ITL and request duration, NaN when
 * nothing was counted) and runs one planner tick (planner.ts). A skipped tick (invalid metrics) changes nothing.
 * Dynamo scales one prefill and one decode component; the role counts are placed on the policy file's pools with
 * its Spot split (src/sim/yardsticks/pools.ts), within the pools' bounds.
 */
import type { PolicySpec } from '../../config/schema.js';
import type { PerformanceProfile } from '../../profiles/types.js';
import type { Driver } from '../replay.js';
import type { WindowStats } from '../cluster/index.js';
import { roleBounds, roleUnits, splitRoles } from '../yardsticks/pools.js';
import { DynamoDecodeInterpolator, DynamoPrefillInterpolator, shippedGrids } from './interpolation.js';
import { dynamoTick, type DynamoConfig, type DynamoInterpolators, type DynamoMetrics, type DynamoState } from './planner.js';
import { createPredictor, type DynamoPredictorKind } from './predictors.js';

/** Dynamo's loop defaults. */
const DYNAMO_DEFAULTS = { intervalSeconds: 180, predictor: 'arima' as DynamoPredictorKind, minEndpoint: 1, correction: true };

const interpolatorCache = new WeakMap<PerformanceProfile, DynamoInterpolators>();

/** Dynamo's interpolators for a profile (built once per profile object: the decode grids take ~0.2 s), SciPy's own grids when shipped. */
export function dynamoInterpolators(profile: PerformanceProfile): DynamoInterpolators {
  let interp = interpolatorCache.get(profile);
  if (!interp) {
    interp = { prefill: new DynamoPrefillInterpolator(profile), decode: new DynamoDecodeInterpolator(profile, { grids: shippedGrids(profile) }) };
    interpolatorCache.set(profile, interp);
  }
  return interp;
}

function dynamoConfig(spec: PolicySpec): DynamoConfig {
  return {
    intervalSeconds: DYNAMO_DEFAULTS.intervalSeconds,
    itlMs: spec.slo.itl.ms,
    prefillGpus: roleBounds(spec, 'prefill').unitGpus,
    decodeGpus: roleBounds(spec, 'decode').unitGpus,
    maxGpuBudget: spec.budget.maxGpus ?? -1,
    minEndpoint: DYNAMO_DEFAULTS.minEndpoint,
    correction: DYNAMO_DEFAULTS.correction,
  };
}

/** Accumulates windows into Dynamo's Prometheus view of the time since its last tick. */
class WindowSum {
  requests = 0;
  private islSum = 0;
  private oslSum = 0;
  private ttftSum = 0;
  private ttftN = 0;
  private itlSum = 0;
  private itlN = 0;
  private durSum = 0;
  private durN = 0;

  add(s: WindowStats): void {
    this.requests += s.arrived;
    if (s.arrived > 0) {
      this.islSum += s.meanIsl * s.arrived;
      this.oslSum += s.meanOsl * s.arrived;
    }
    if (s.ttft.count > 0) {
      this.ttftSum += s.ttft.mean * s.ttft.count;
      this.ttftN += s.ttft.count;
    }
    if (s.itl.count > 0) {
      this.itlSum += s.itl.mean * s.itl.count;
      this.itlN += s.itl.count;
    }
    if (s.completed > 0) {
      this.durSum += s.meanRequestDurationSeconds * s.completed;
      this.durN += s.completed;
    }
  }

  metrics(): DynamoMetrics {
    return {
      numReq: this.requests,
      isl: this.islSum / this.requests,
      osl: this.oslSum / this.requests,
      ttftMs: this.ttftSum / this.ttftN,
      itlMs: this.itlSum / this.itlN,
      requestDurationSeconds: this.durSum / this.durN,
    };
  }
}

export function dynamoShipsDriver(spec: PolicySpec, profile: PerformanceProfile, start: Record<string, number>, predictor: DynamoPredictorKind = DYNAMO_DEFAULTS.predictor): Driver {
  const interp = dynamoInterpolators(profile);
  const config = dynamoConfig(spec);
  const state: DynamoState = { pCf: 1, dCf: 1, numReq: createPredictor(predictor), isl: createPredictor(predictor), osl: createPredictor(predictor) };
  let window = new WindowSum();
  let lastTick = 0;
  let current = roleUnits(spec, start);
  const bounds = { prefill: roleBounds(spec, 'prefill'), decode: roleBounds(spec, 'decode') };
  const notes = interp.prefill.warning ? [interp.prefill.warning] : [];
  return {
    step(_k, t, stats) {
      window.add(stats);
      if (t - lastTick < config.intervalSeconds - 1e-9) return { desired: {}, warnings: notes };
      lastTick = t;
      const ready = { prefill: 0, decode: 0 };
      for (const pool of spec.pools) ready[pool.role] += stats.pools[pool.name]?.ready ?? 0;
      const tick = dynamoTick(interp, config, state, window.metrics(), ready);
      window = new WindowSum();
      if (tick.held) return { desired: {}, warnings: tick.reason ? [...notes, tick.reason] : notes };
      const clamp = (role: 'prefill' | 'decode', n: number) => Math.min(bounds[role].max, Math.max(bounds[role].min, n));
      current = { prefill: clamp('prefill', tick.prefill ?? current.prefill), decode: clamp('decode', tick.decode ?? current.decode) };
      return { desired: splitRoles(spec, current), warnings: notes, forecastRequests: tick.predicted ? (tick.predicted.numReq * spec.interval) / config.intervalSeconds : undefined };
    },
  };
}
