/** --baselines: the names report.json uses, and the old `oracle` name kept for old scripts. */
import { describe, expect, it } from 'vitest';
import { BASELINES, parseBaselines } from '../../../src/sim/baselines.js';
import { parseFleetBaselines } from '../../../src/sim/fleet/run.js';

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

  it('says what is wrong with "none" in a list and with an empty name (both were "unknown baseline")', () => {
    expect(() => parseBaselines('none,static')).toThrow('--baselines: "none" means no baseline and stands alone; give "none" or a list of baselines, not both');
    expect(() => parseBaselines('static,')).toThrow('--baselines: "static," has an empty name; separate baseline names with single commas');
    expect(() => parseFleetBaselines('split,,dynamo')).toThrow('--baselines: "split,,dynamo" has an empty name; separate baseline names with single commas');
    expect(parseBaselines(' none ')).toEqual([]);
  });
});
