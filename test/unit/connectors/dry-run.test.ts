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

  it('says it would write nothing for a pool marked writable: false, or a held pool below its current count', async () => {
    const spec = specWith([
      { name: 'prefill', role: 'prefill' },
      { name: 'decode', role: 'decode' },
      { name: 'grow', role: 'decode' },
      { name: 'blind', role: 'decode' },
    ]);
    const decision = decisionFor({ prefill: 0, decode: 3, grow: 6, blind: 2 }, spec);
    decision.explanation.unknown = ['the request count'];
    Object.assign(decision.pools.prefill!, { hold: true, writable: false });
    Object.assign(decision.pools.decode!, { hold: true, current: 5 });
    Object.assign(decision.pools.grow!, { hold: true, current: 4 });
    Object.assign(decision.pools.blind!, { hold: true }); // held, its current count not observed
    const result = await createDryRunConnector().apply(decision, spec);
    expect(result.pools).toEqual({
      prefill: "dry-run: would write nothing: not written: nothing is known of this pool's count (the request count unknown); its decided count is a placeholder, so nothing is written",
      decode: 'dry-run: would write nothing: held at 5: the decision was a hold (the request count unknown) and 3 is below the 5 set now; not written',
      grow: 'dry-run: would set 4->6 (no target)',
      blind: 'dry-run: would set 2, never below the count the target holds (no target)',
    });
  });
});
