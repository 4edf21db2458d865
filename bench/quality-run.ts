/**
 * Print the planner-quality tables (bench/quality.ts):
 *   npx tsx bench/quality-run.ts [--json] [--policy=KIND] [trace names...]
 * --policy=KIND runs that policy kind (sla, dynamo, load, hpa) as the policy under test instead of the default `sla`;
 * e.g. --policy=dynamo shows Dynamo's formulas inside our loop against Dynamo as it ships (the `dynamo` baseline).
 */
import { POLICY_KINDS, type PolicyKind } from '../src/config/schema.js';
import { benchQuality, formatQuality } from './quality.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const policyArg = args.find((a) => a.startsWith('--policy='))?.slice('--policy='.length);
  if (policyArg !== undefined && !(POLICY_KINDS as readonly string[]).includes(policyArg)) {
    process.stderr.write(`--policy: "${policyArg}" is not one of ${POLICY_KINDS.join(', ')}\n`);
    process.exit(2);
  }
  const traces = args.filter((a) => !a.startsWith('--'));
  const rows = await benchQuality({
    traces: traces.length > 0 ? traces : undefined,
    ...(policyArg ? { specOverride: (spec) => ({ ...spec, policy: policyArg as PolicyKind }) } : {}),
  });
  process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatQuality(rows)}\n`);
}

void main();
