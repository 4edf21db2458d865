/**
 * A connector that writes nothing: it logs, for each pool, the replica count it would set and reports
 * "dry-run: would set N (where)", or, for a pool the hold marks keep from being written (planner/write-rule.ts), "dry-run:
 * would write nothing: ..." with why. `run --dry-run` uses it when there is no Kubernetes connector to do the dry run
 * (the Kubernetes connector has its own `dryRun` option, which also reads the cluster and logs the exact PATCH);
 * tests of the shells use it too.
 */
import { pino, type Logger } from 'pino';
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import type { Decision } from '../planner/types.js';
import { heldAtCurrentLine, notWritableLine, writeRule } from '../planner/write-rule.js';

export interface DryRunConnectorOptions {
  logger?: Logger;
  /** Where a pool's count would be written, for its result line; default its Kubernetes target, or "no target". */
  describeTarget?: (pool: PoolSpec, spec: PolicySpec) => string;
  /** How many of the last decisions `applied` keeps (default 100), so a long dry run holds bounded memory. */
  keep?: number;
}

export interface DryRunConnector extends Connector {
  /** The decisions passed to apply(), oldest first (what would have been written); the last `keep` of them. */
  readonly applied: Decision[];
}

/** "DynamoGraphDeployment llm/g component P", "DynamoComponentDeployment d", or "no target". */
function kubernetesTarget(pool: PoolSpec): string {
  const t = pool.target;
  if (!t) return 'no target';
  const component = t.kind === 'DynamoGraphDeployment' && t.service ? ` component ${t.service}` : '';
  return `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name}${component}`;
}

export function createDryRunConnector(options: DryRunConnectorOptions = {}): DryRunConnector {
  const log = options.logger ?? pino({ enabled: false });
  const describeTarget = options.describeTarget ?? kubernetesTarget;
  const keep = Math.max(1, options.keep ?? 100);
  const applied: Decision[] = [];
  return {
    applied,
    async apply(decision: Decision, spec: PolicySpec): Promise<ApplyResult> {
      applied.push(decision);
      if (applied.length > keep) applied.splice(0, applied.length - keep);
      const result: ApplyResult = { pools: {}, errors: {} };
      for (const pool of spec.pools) {
        const d = decision.pools[pool.name];
        if (!d) {
          result.pools[pool.name] = 'no decision for this pool: nothing done';
          continue;
        }
        const target = describeTarget(pool, spec);
        const rule = writeRule(decision, pool.name);
        let message: string;
        if (rule.kind === 'none') {
          result.pools[pool.name] = `dry-run: would write nothing: ${notWritableLine(rule.why)}`;
          message = `dry-run: would write nothing to ${pool.name}: nothing is known of its count (${rule.why})`;
        } else if (rule.kind === 'not-below-current' && d.current !== undefined && d.desired < d.current) {
          result.pools[pool.name] = `dry-run: would write nothing: ${heldAtCurrentLine(d.desired, d.current, rule.why)}`;
          message = `dry-run: would keep ${pool.name} at ${d.current}: a hold (${rule.why}) never writes below the count set now`;
        } else if (rule.kind === 'not-below-current' && d.current === undefined) {
          // The target's count is read back before a held pool is written: it is never set below it.
          result.pools[pool.name] = `dry-run: would set ${d.desired}, never below the count the target holds (${target})`;
          message = `dry-run: would set ${pool.name} to ${d.desired}, never below the count its target holds (a hold: ${rule.why}) (${target}); nothing written`;
        } else {
          const from = d.current !== undefined ? `${d.current}->` : '';
          result.pools[pool.name] = `dry-run: would set ${from}${d.desired} (${target})`;
          message = `dry-run: would set ${pool.name} ${d.current !== undefined ? `from ${d.current} ` : ''}to ${d.desired} (${target}); nothing written`;
        }
        log.info({ event: 'dry-run', pool: pool.name, desired: d.desired, current: d.current, target }, message);
      }
      return result;
    },
  };
}
