/**
 * Print the quality matrix (bench/matrix.ts) without writing bench/RESULTS.md:
 *
 *   npx tsx bench/matrix-run.ts [--seeds report|tuning|1,2,3] [--only TEXT,...] [--real | --families] [--quick]
 *                               [--policy-only] [--off IMPROVEMENT,...] [--set PATH=VALUE,...] [--ablation] [--reserve] [--json]
 *
 * --seeds      the family seeds: report (1001-1003, the default), tuning (1-3) or a list
 * --only       keep rows whose name contains one of the texts
 * --quick      a subset: azure-code x2, mooncake x1 and every family at the first seed
 * --policy-only  skip static, hpa-tuned and dynamo (the bound and hindsight are always computed)
 * --off        switch improvements off in the policy run (trendBound: the forecaster's upper bound)
 * --set        change any field of the policy run's spec (e.g. forecaster.kind=constant,sla.targetUtilization=1)
 * --ablation   also switch each improvement off in turn (the yardsticks are computed once per row)
 * --reserve    on rows that jump and miss the SLO, also search the standing reserve that meets it (pd-planner reserve)
 */
import type { PolicySpec } from '../src/config/schema.js';
import { REPORT_SEEDS, TUNING_SEEDS } from '../src/sim/scenarios/index.js';
import { familyRows, formatAblation, formatFamilies, formatLayers, formatMatrix, formatSurprise, quickRows, REAL_ROWS, runAblation, runMatrix, switchOff, type MatrixRow, type RowResult } from './matrix.js';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(`${(await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]}*/\n`);
  process.exit(0);
}
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
};
const seedsArg = value('--seeds') ?? 'report';
const seeds = seedsArg === 'report' ? REPORT_SEEDS : seedsArg === 'tuning' ? TUNING_SEEDS.slice(0, 3) : seedsArg.split(',').map(Number);
if (seeds.some((s) => !Number.isSafeInteger(s))) {
  process.stderr.write(`--seeds: "${seedsArg}" is not report, tuning or a list of integers\n`);
  process.exit(2);
}
let rows: MatrixRow[];
if (args.includes('--quick')) rows = quickRows(seeds[0]);
else if (args.includes('--real')) rows = REAL_ROWS;
else if (args.includes('--families')) rows = familyRows(seeds);
else rows = [...REAL_ROWS, ...familyRows(seeds)];
const only = value('--only')?.split(',');
if (only) rows = rows.filter((r) => only.some((o) => r.name.includes(o)));
const off = value('--off')?.split(',').filter(Boolean) ?? [];
const sets = (value('--set')?.split(',').filter(Boolean) ?? []).map((s) => s.split('=') as [string, string]);
const parse = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v));
const policyOverride =
  off.length || sets.length
    ? (spec: PolicySpec): PolicySpec => {
        let out = structuredClone(spec);
        for (const k of off) out = switchOff(k)(out);
        for (const [path, v] of sets) {
          const keys = path.split('.');
          let node = out as unknown as Record<string, unknown>;
          for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
          node[keys[keys.length - 1] as string] = parse(v);
        }
        return out;
      }
    : undefined;
const results: RowResult[] = await runMatrix({
  rows,
  baselines: !args.includes('--policy-only'),
  reserve: args.includes('--reserve'),
  ...(policyOverride ? { policyOverride } : {}),
  onRow: (r) => {
    const p = r.runs.policy!;
    process.stderr.write(
      `${r.row.name}: ${(p.attainment * 100).toFixed(1)}% ${p.gpuHours.toFixed(1)} GPU-h = ${p.xHindsight.toFixed(2)} x hindsight (${r.runs.hindsight!.gpuHours.toFixed(1)}), ${p.xBound.toFixed(2)} x bound` +
        `${r.cheapest ? `; cheapest ${r.cheapest.name} ${r.cheapest.gpuHours.toFixed(1)}` : ''}\n`,
    );
  },
});
if (args.includes('--json')) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  process.stdout.write(`${formatMatrix(results)}\n\n${formatFamilies(results)}\n\n${formatLayers(results)}\n`);
  const surpriseTable = formatSurprise(results);
  if (surpriseTable) process.stdout.write(`\n${surpriseTable}\n`);
  if (args.includes('--ablation')) process.stdout.write(`\n${formatAblation(results, await runAblation(rows))}\n`);
}
