import { describe, expect, it } from 'vitest';
import { createDryRunConnector } from '../../../src/connectors/dry-run.js';
import { decisionFor, specWith } from './helpers.js';

describe('dry-run connector', () => {
  it('says what it would set per pool, keeps the decisions, writes nothing', async () => {
    const spec = specWith([
      { name: 'prefill', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'g', service: 'P', namespace: 'llm' } },
      { name: 'decode', role: 'decode' },
      { name: 'spot', role: 'decode', target: { kind: 'DynamoComponentDeployment', name: 'd' } },
    ]);
    const decision = decisionFor({ prefill: 3, decode: 2 }, spec);
    (decision.pools.prefill as { current?: number }).current = 1;
    const connector = createDryRunConnector();
    expect(await connector.apply(decision, spec)).toEqual({
      pools: {
        prefill: 'dry-run: would set 1->3 (DynamoGraphDeployment llm/g component P)',
        decode: 'dry-run: would set 2 (no target)',
        spot: 'no decision for this pool: nothing done',
      },
      errors: {},
    });
    expect(connector.applied).toEqual([decision]);
  });
});
