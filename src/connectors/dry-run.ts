/**
 * A connector that writes nothing: it logs, for each pool, the replica count it would set and reports
 * "dry-run: would set N". For `run --dry-run` without a cluster connection, and for tests of the shells.
 * (The Kubernetes connector has its own `dryRun` option, which also reads the cluster and logs the exact PATCH.)
 */
import { pino, type Logger } from 'pino';
import type { PolicySpec } from '../config/schema.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import type { Decision } from '../planner/types.js';

export interface DryRunConnectorOptions {
  logger?: Logger;
}

export interface DryRunConnector extends Connector {
  /** Every decision passed to apply(), oldest first (what would have been written). */
  readonly applied: Decision[];
}

export function createDryRunConnector(options: DryRunConnectorOptions = {}): DryRunConnector {
  const log = options.logger ?? pino({ enabled: false });
  const applied: Decision[] = [];
  return {
    applied,
    async apply(decision: Decision, spec: PolicySpec): Promise<ApplyResult> {
      applied.push(decision);
      const result: ApplyResult = { pools: {}, errors: {} };
      for (const pool of spec.pools) {
        const d = decision.pools[pool.name];
        if (!d) {
          result.pools[pool.name] = 'no decision for this pool: nothing done';
          continue;
        }
        const target = pool.target ? `${pool.target.kind} ${pool.target.namespace ? `${pool.target.namespace}/` : ''}${pool.target.name}${pool.target.kind === 'DynamoGraphDeployment' && pool.target.service ? ` component ${pool.target.service}` : ''}` : 'no target';
        const from = d.current !== undefined ? `${d.current}->` : '';
        result.pools[pool.name] = `dry-run: would set ${from}${d.desired} (${target})`;
        log.info({ pool: pool.name, desired: d.desired, current: d.current, target }, 'dry-run: nothing written');
      }
      return result;
    },
  };
}
