/**
 * `npm run bench [-- SECTION ...]`: speed and quality figures, written to bench/results.json and
 * bench/RESULTS.md (the README quotes the latter). Sections: decide, simulator, quality (default: all).
 * Figures are compared with baselines measured in the same run; the machine is shared and noisy, so read ratios.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDecide, type DecideBench } from './decide.js';
import { benchSimulator, SIM_SPEED_TARGET, type SimulatorBench } from './simulator.js';
import { benchQuality, type QualityRow } from './quality.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS = ['decide', 'simulator', 'quality'] as const;
type Section = (typeof SECTIONS)[number];

interface Results {
  generatedAt: string;
  machine: { cpus: number; model: string; node: string; loadAverage: number[] };
  command: string;
  decide?: DecideBench;
  simulator?: SimulatorBench;
  quality?: QualityRow[];
}

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const name of requested) {
  if (!(SECTIONS as readonly string[]).includes(name)) {
    process.stderr.write(`bench: unknown section "${name}" (choose from ${SECTIONS.join(', ')})\n`);
    process.exit(2);
  }
}
const sections: Section[] = requested.length ? (requested as Section[]) : [...SECTIONS];
const resultsPath = path.join(here, 'results.json');
const previous: Partial<Results> = fs.existsSync(resultsPath) ? JSON.parse(fs.readFileSync(resultsPath, 'utf8')) : {};
const results: Results = {
  ...previous,
  generatedAt: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version, loadAverage: os.loadavg().map((l) => +l.toFixed(2)) },
  command: 'npm run bench',
};

for (const section of sections) {
  process.stderr.write(`bench: ${section} ...\n`);
  if (section === 'decide') results.decide = benchDecide();
  if (section === 'simulator') results.simulator = await benchSimulator();
  if (section === 'quality') results.quality = await benchQuality();
}
fs.writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
fs.writeFileSync(path.join(here, 'RESULTS.md'), markdown(results));
process.stdout.write(markdown(results));

function markdown(r: Results): string {
  const lines = [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${r.generatedAt} (${r.machine.cpus} x ${r.machine.model}, Node ${r.machine.node}, load average ${r.machine.loadAverage.join(' ')}).`,
    'Absolute times move with the machine\'s load; the ratios are measured in the same run.',
    '',
  ];
  if (r.decide) {
    const d = r.decide;
    lines.push(
      '## decide(): one model, four pools',
      '',
      '| policy | median (µs) | p99 (µs) |',
      '|---|---:|---:|',
      ...Object.keys(d.medianMicros).map((k) => `| ${k} | ${fmt(d.medianMicros[k]!, 1)} | ${fmt(d.p99Micros[k]!, 1)} |`),
      '',
      `Target: median under 100 µs for \`sla\` — ${d.medianMicros.sla! < 100 ? 'met' : 'NOT met'}; \`sla\` costs ${fmt(d.ratioToDynamo, 2)}x Dynamo's formulas. ${d.calls.toLocaleString('en-US')} calls each (\`npm run bench -- decide\`).`,
      '',
    );
  }
  if (r.simulator) {
    const s = r.simulator;
    lines.push(
      '## Simulator speed',
      '',
      `${s.requests.toLocaleString('en-US')} requests (${s.trace} x${s.rateScale}), one policy: ${fmt(s.wallSeconds, 2)} s wall, **${Math.round(s.requestsPerSecond).toLocaleString('en-US')} requests/s** = ${fmt(s.ratioToTarget, 2)}x the ${SIM_SPEED_TARGET.toLocaleString('en-US')}/s target. Peak ready replicas: ${Object.entries(s.peakReplicas).map(([k, v]) => `${k} ${v}`).join(', ')} (\`npm run bench -- simulator\`).`,
      '',
    );
  }
  if (r.quality) {
    lines.push(
      '## Planner quality on real traces (default `sla` policy vs baselines)',
      '',
      '| trace | x rate | requests | oracle peak P/D | run | SLO met (both) | TTFT | ITL | GPU-h | policy GPU-h / this |',
      '|---|---:|---:|---|---|---:|---:|---:|---:|---:|',
    );
    for (const row of r.quality) {
      for (const [name, run] of Object.entries(row.runs)) {
        lines.push(
          `| ${row.trace} | ${row.rateScale} | ${row.requests.toLocaleString('en-US')} | ${row.peakOracleReplicas.prefill}/${row.peakOracleReplicas.decode} | ${name} | ${pct(run.attainment)} | ${pct(run.ttftAttainment)} | ${pct(run.itlAttainment)} | ${fmt(run.gpuHours, 1)} | ${name === 'policy' ? '1.00' : fmt(row.gpuHoursRatio[name]!, 2)} |`,
        );
      }
    }
    lines.push('', 'Targets per trace (SLO met; GPU-h <= 1.15 x oracle; fewer GPU-h than dynamo and hpa, or better attainment):', '');
    for (const row of r.quality) {
      lines.push(`- ${row.trace}: SLO met ${yes(row.sloMet)}; <= 1.15 x oracle ${yes(row.targets.withinOracle115)} (${fmt(row.gpuHoursRatio.oracle!, 2)}x); vs dynamo ${yes(row.targets.fewerThanDynamo)}; vs hpa ${yes(row.targets.fewerThanHpa)}`);
    }
    lines.push('', 'Reproduce: `npm run bench -- quality`.', '');
  }
  return `${lines.join('\n')}\n`;
}

function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}
function pct(n: number): string {
  return `${(n * 100).toFixed(1)}%`;
}
function yes(b: boolean): string {
  return b ? 'yes' : '**no**';
}
