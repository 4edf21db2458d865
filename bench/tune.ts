/**
 * Compare variants of the policy on the tuning seeds (never the report seeds): the yardsticks of each row are
 * computed once (bench/matrix.ts caches them), then every variant replays only the policy.
 *
 *   npx tsx bench/tune.ts [--seeds 1-5|1,2,3] [--real] [--families ramp,flash] [--only TEXT,...] [--rows] [--baselines]
 *                         [--cache DIR] VARIANT ...
 *
 * A VARIANT is NAME or NAME:PATH=VALUE,PATH=VALUE (the fields of the policy spec, as matrix-run's --set; `off.X`
 * switches improvement X off). `base` is the defaults. Prints, per variant and family, rows meeting the SLO, mean
 * attainment and mean x hindsight; --rows also prints every row.
 * --only keeps the rows whose name contains one of the texts (e.g. `--real --only conv` for the Azure conversation
 * trace at each rate). --baselines also runs static, hpa-tuned and dynamo once per row and prints, per variant, the
 * rows within the cheapest deployable baseline that meets the SLO and the mean GPU-hours over it (x cheapest).
 * --cache DIR keeps the yardsticks on disk between runs, under a fingerprint of the code they come from (all of src/
 * but the sla policy): a change to the model, a baseline or the constraints computes them afresh.
 * Example: npx tsx bench/tune.ts --seeds 1-5 base u1:sla.targetUtilization=1
 */
import type { PolicySpec } from '../src/config/schema.js';
import { FAMILIES, REPORT_SEEDS, type Family } from '../src/sim/scenarios/index.js';
import { familyRows, REAL_ROWS, runMatrix, setYardstickCacheDir, switchOff, type MatrixRow, type RowResult } from './matrix.js';

const args = process.argv.slice(2);
const value = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i === -1 ? undefined : args[i + 1];
};
const seedText = value('--seeds') ?? '1-3';
const seeds = seedText.includes('-')
  ? Array.from({ length: Number(seedText.split('-')[1]) - Number(seedText.split('-')[0]) + 1 }, (_, i) => Number(seedText.split('-')[0]) + i)
  : seedText.split(',').map(Number);
if (seeds.some((s) => REPORT_SEEDS.includes(s))) {
  process.stderr.write(`tune: seeds ${REPORT_SEEDS.join(', ')} are held out for the report; tune on others\n`);
  process.exit(2);
}
const families = (value('--families')?.split(',') ?? [...FAMILIES]) as Family[];
const only = value('--only')?.split(',');
const rows: MatrixRow[] = [...(args.includes('--real') ? REAL_ROWS : []), ...familyRows(seeds, families)].filter((r) => !only || only.some((o) => r.name.includes(o)));
const withBaselines = args.includes('--baselines');
const flagsWithValue = new Set(['--seeds', '--families', '--cache', '--only']);
setYardstickCacheDir(value('--cache'));
const variants = args.filter((a, i) => !a.startsWith('--') && !flagsWithValue.has(args[i - 1] ?? ''));
if (variants.length === 0) variants.push('base');

const parse = (v: string): unknown => (v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v));
function override(text: string): (spec: PolicySpec) => PolicySpec {
  const sets = text.split(',').filter(Boolean).map((s) => s.split('=') as [string, string]);
  return (spec) => {
    let out = structuredClone(spec);
    for (const [path, v] of sets) {
      if (path.startsWith('off.')) {
        out = switchOff(path.slice(4))(out);
        continue;
      }
      const keys = path.split('.');
      let node = out as unknown as Record<string, unknown>;
      for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
      node[keys[keys.length - 1] as string] = parse(v);
    }
    return out;
  };
}

/** The policy's GPU-hours over the cheapest deployable baseline that meets the SLO (undefined: none does, or not run). */
const xCheapest = (r: RowResult): number | undefined => (r.cheapest ? r.runs.policy!.gpuHours / r.cheapest.gpuHours : undefined);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
for (const variant of variants) {
  const colon = variant.indexOf(':');
  const name = colon === -1 ? variant : variant.slice(0, colon);
  const results: RowResult[] = await runMatrix({ rows, baselines: withBaselines, policyOverride: override(colon === -1 ? '' : variant.slice(colon + 1)) });
  const groups = new Map<string, RowResult[]>();
  for (const r of results) groups.set(r.row.kind, [...(groups.get(r.row.kind) ?? []), r]);
  const parts: string[] = [];
  for (const [kind, rs] of groups) {
    parts.push(`${kind} ${rs.filter((r) => r.checks.meetsSlo).length}/${rs.length} ${(100 * mean(rs.map((r) => r.runs.policy!.attainment))).toFixed(1)}% ${mean(rs.map((r) => r.runs.policy!.xHindsight)).toFixed(2)}x`);
  }
  const met = results.filter((r) => r.checks.meetsSlo).length;
  const judged = results.filter((r) => r.cheapest);
  const vsCheapest = withBaselines
    ? `, within cheapest ${judged.filter((r) => r.checks.withinCheapest).length}/${judged.length}, mean ${mean(judged.map((r) => xCheapest(r) as number)).toFixed(3)}x cheapest`
    : '';
  process.stdout.write(`${name.padEnd(14)} met ${met}/${results.length}${vsCheapest}, mean ${mean(results.map((r) => r.runs.policy!.xHindsight)).toFixed(3)}x hindsight | ${parts.join(' | ')}\n`);
  if (args.includes('--rows')) {
    for (const r of results) {
      const c = xCheapest(r);
      const cheapest = c === undefined ? '' : ` ${c.toFixed(2)}x ${r.cheapest?.name}`;
      process.stdout.write(`    ${r.row.name.padEnd(14)} ${(100 * r.runs.policy!.attainment).toFixed(1)}% ${r.runs.policy!.gpuHours.toFixed(1)} GPU-h ${r.runs.policy!.xHindsight.toFixed(2)}x${cheapest}\n`);
    }
  }
}
