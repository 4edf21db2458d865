/**
 * Print the quality matrix (bench/matrix.ts) without writing bench/RESULTS.md:
 *
 *   npx tsx bench/matrix-run.ts [--seeds report|tuning|1,2,3] [--only TEXT,...] [--real | --families]
 *                               [--off IMPROVEMENT,...] [--set PATH=VALUE,...] [--quick] [--json]
 *
 * --only keeps rows whose name contains one of the texts; --off switches improvements off in the policy run (an
 * ablation); --set changes any field of the policy run's spec (e.g. forecaster.kind=constant,sla.targetUtilization=1);
 * --quick skips the baselines and the hpa-tuned search (the policy run and the fluid bound only).
 */
import type { PolicySpec } from '../src/config/schema.js';
import { familyRows, formatMatrix, matrixRows, REAL_ROWS, runMatrix, type MatrixRow, type RowResult } from './matrix.js';
import { REPORT_SEEDS, TUNING_SEEDS } from '../src/sim/scenarios/index.js';

const args = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
};
const seedsArg = value('--seeds') ?? 'report';
const seeds = seedsArg === 'report' ? REPORT_SEEDS : seedsArg === 'tuning' ? TUNING_SEEDS.slice(0, 3) : seedsArg.split(',').map(Number);
let rows: MatrixRow[] = args.includes('--real') ? REAL_ROWS : args.includes('--families') ? familyRows(seeds) : [...REAL_ROWS, ...familyRows(seeds)];
if (seedsArg !== 'report' && !args.includes('--real') && !args.includes('--families')) rows = matrixRows(seeds as number[]);
const only = value('--only')?.split(',');
if (only) rows = rows.filter((r) => only.some((o) => r.name.includes(o)));
const off = value('--off')?.split(',').filter(Boolean) ?? [];
const quick = args.includes('--quick');
const sets = (value('--set')?.split(',').filter(Boolean) ?? []).map((s) => s.split('=') as [string, string]);
const parse = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v));
const policyOverride =
  off.length || sets.length
    ? (spec: PolicySpec): PolicySpec => {
        const out = structuredClone(spec) as unknown as Record<string, unknown>;
        for (const k of off) (out.sla as { improvements: Record<string, boolean> }).improvements[k] = false;
        for (const [path, v] of sets) {
          const keys = path.split('.');
          let node = out;
          for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
          node[keys[keys.length - 1] as string] = parse(v);
        }
        return out as unknown as PolicySpec;
      }
    : undefined;
const results: RowResult[] = await runMatrix({
  rows,
  ...(quick ? { baselines: [], hpaTuned: false } : {}),
  ...(policyOverride ? { policyOverride } : {}),
  onRow: (r) => {
    const p = r.runs.policy!;
    process.stderr.write(`${r.row.name}: ${(p.attainment * 100).toFixed(1)}% ${p.gpuHours.toFixed(1)} GPU-h (fluid ${r.fluid.gpuHours.toFixed(1)}${r.cheapest ? `, cheapest ${r.cheapest.name} ${r.cheapest.gpuHours.toFixed(1)}` : ''})\n`);
  },
});
process.stdout.write(args.includes('--json') ? `${JSON.stringify(results, null, 2)}\n` : `${formatMatrix(results)}\n`);
