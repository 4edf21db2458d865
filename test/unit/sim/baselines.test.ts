/** --baselines: the names report.json uses, and the old `oracle` name kept for old scripts. */
import { describe, expect, it } from 'vitest';
import { BASELINES, parseBaselines } from '../../../src/sim/baselines.js';

describe('parseBaselines', () => {
  it('accepts every baseline of the report contract, in the order given, once each', () => {
    expect(parseBaselines('hindsight,hpa-tuned,static,hindsight')).toEqual(['hindsight', 'hpa-tuned', 'static']);
    expect(parseBaselines(BASELINES.join(','))).toEqual([...BASELINES]);
    expect(parseBaselines('none')).toEqual([]);
  });

  it('maps the alias `oracle` to perfect-forecast (our policy with a perfect forecast, not a lower bound)', () => {
    expect(parseBaselines('oracle')).toEqual(['perfect-forecast']);
    expect(parseBaselines('perfect-forecast, oracle')).toEqual(['perfect-forecast']);
  });

  it('names an unknown baseline and the choices', () => {
    expect(() => parseBaselines('static,hindsite')).toThrow('--baselines: unknown baseline "hindsite" (choose from static, hpa, hpa-tuned, dynamo, hindsight, perfect-forecast; "oracle" is accepted for perfect-forecast)');
  });
});
