/**
 * Dynamo's load predictors (ai-dynamo/dynamo `planner/utils/load_predictor.py`, Apache-2.0, Copyright NVIDIA
 * CORPORATION & AFFILIATES): one point per adjustment interval; a NaN point counts as 0; leading zeros (the idle
 * period after a deployment) are skipped until the first non-zero point; with no point yet the prediction is 0.
 * - constant: the last point.
 * - arima (Dynamo's default): see arima.ts.
 */
import { chooseOrder, forecastWithOrder, type ArimaOrder } from './arima.js';

export interface DynamoPredictor {
  add(value: number): void;
  predict(): number;
}

export type DynamoPredictorKind = 'constant' | 'arima';

abstract class Base implements DynamoPredictor {
  protected readonly points: number[] = [];
  private seenNonZero = false;

  add(value: number): void {
    const v = Number.isNaN(value) ? 0 : value;
    if (v === 0 && !this.seenNonZero) return;
    if (v !== 0) this.seenNonZero = true;
    this.points.push(v);
  }

  protected last(): number {
    return this.points.length > 0 ? (this.points[this.points.length - 1] as number) : 0;
  }

  abstract predict(): number;
}

export class ConstantPredictor extends Base {
  predict(): number {
    return this.last();
  }
}

/**
 * ARIMAPredictor: the last point until 5 points are in; the one value when all points are equal; otherwise an
 * automatically chosen ARIMA model's one-step forecast, at least 0 (arima.ts).
 */
export class ArimaPredictor extends Base {
  static readonly MIN_POINTS = 5;
  /** Chosen at the first forecast, then kept (pmdarima's update() refits parameters, not the order). */
  private order: ArimaOrder | undefined;

  predict(): number {
    if (this.points.length < ArimaPredictor.MIN_POINTS) return this.last();
    const first = this.points[0] as number;
    if (this.points.every((p) => p === first)) return first;
    const raw = this.points.map((p) => Math.max(0, p));
    try {
      this.order ??= chooseOrder(raw);
      const forecast = forecastWithOrder(raw, this.order);
      return Number.isFinite(forecast) ? Math.max(0, forecast) : this.last();
    } catch {
      return this.last();
    }
  }
}

export function createPredictor(kind: DynamoPredictorKind): DynamoPredictor {
  return kind === 'arima' ? new ArimaPredictor() : new ConstantPredictor();
}
