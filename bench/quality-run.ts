/** Print the planner-quality table (bench/quality.ts): npx tsx bench/quality-run.ts [--json] [trace names...] */
import { benchQuality, formatQuality } from './quality.js';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const traces = args.filter((a) => !a.startsWith('--'));
  const rows = await benchQuality({ traces: traces.length > 0 ? traces : undefined });
  process.stdout.write(json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatQuality(rows)}\n`);
}

void main();
