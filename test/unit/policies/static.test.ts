import { describe, expect, it } from 'vitest';
import { policies } from '../../../src/policies/index.js';
import { staticPolicy } from '../../../src/policies/static.js';
import { makeInput, makeSpec } from './helpers.js';

describe('static policy', () => {
  const spec = makeSpec({
    pools: [
      { name: 'prefill-spot', role: 'prefill', capacity: 'spot', minReplicas: 1 },
      { name: 'prefill-od', role: 'prefill', minReplicas: 2 },
      { name: 'decode-od', role: 'decode', minReplicas: 1 },
    ],
    static: { replicas: { 'prefill-spot': 3, 'decode-od': 6 } },
  });
  it('sums listed counts and minReplicas of unlisted pools per role: prefill 3 + 2 = 5, decode 6', () => {
    const out = staticPolicy(makeInput({ spec, current: { prefill: 9, decode: 9 } }));
    expect([out.need.prefill.replicas, out.need.decode.replicas]).toEqual([5, 6]);
    expect(out.need.prefill.detail).toMatchObject({ 'prefill-spot': '3 (static.replicas)', 'prefill-od': '2 (minReplicas)' });
    expect(out.warnings).toEqual([]);
    expect(out.missing).toEqual({});
  });
  it('warns about names that match no pool', () => {
    const s = makeSpec({ static: { replicas: { prefil: 4 } } });
    const out = staticPolicy(makeInput({ spec: s }));
    expect(out.warnings).toEqual(['spec.static.replicas.prefil: no pool of that name; ignored']);
    expect(out.need.prefill.replicas).toBe(1);
  });
  it('is registered in the policy index', () => {
    expect(policies.static).toBe(staticPolicy);
  });
});
