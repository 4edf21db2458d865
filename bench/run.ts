/**
 * `npm run bench [-- SECTION ...]`: speed and quality figures, written to bench/results.json and
 * bench/RESULTS.md (the README quotes the latter). Sections: decide, simulator, quality, load (default: all).
 * Figures are compared with baselines measured in the same run; the machine is shared and noisy, so read ratios.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDecide, type DecideBench } from './decide.js';
import { benchDecideWorker, type DecideWorkerBench } from './decide-worker.js';
import { benchSimulator, SIM_SPEED_TARGET, type SimulatorBench } from './simulator.js';
import { benchQuality, type QualityRow } from './quality.js';
import { benchLoad, type LoadBench } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS = ['decide', 'simulator', 'quality', 'load'] as const;
type Section = (typeof SECTIONS)[number];

interface Results {
  generatedAt: string;
  machine: { cpus: number; model: string; node: string; loadAverage: number[] };
  command: string;
  decide?: DecideBench & { worker?: DecideWorkerBench };
  simulator?: SimulatorBench;
  quality?: QualityRow[];
  load?: LoadBench;
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
  if (section === 'decide') results.decide = { ...benchDecide(), worker: await benchDecideWorker() };
  if (section === 'simulator') results.simulator = await benchSimulator();
  if (section === 'quality') results.quality = await benchQuality();
  if (section === 'load') results.load = await benchLoad();
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
    const w = d.worker;
    if (w) {
      lines.push(
        '### decide() in a worker thread (as `pd-planner run` runs it)',
        '',
        '| | median (µs) | p99 (µs) |',
        '|---|---:|---:|',
        `| in line | ${fmt(w.inlineMicros.median, 1)} | ${fmt(w.inlineMicros.p99, 1)} |`,
        `| through the worker | ${fmt(w.workerMicros.median, 1)} | ${fmt(w.workerMicros.p99, 1)} |`,
        '',
        `The hop (structured clone of the observation and a planner state of ${w.historyPoints} history points there, ${Math.round(w.sentBytes / 1024)} KB as JSON, and of the decision and new state back, ${Math.round(w.returnedBytes / 1024)} KB) adds **${fmt(w.overheadMicros, 0)} µs** per tick: ${fmt(w.overheadToInterval * 100, 4)} % of a 30 s interval. \`sla\` on examples/spot-mixed.yaml, ${w.calls.toLocaleString('en-US')} ticks one at a time; measured ${w.measuredAt.slice(0, 10)} at load average ${w.loadAverage} (the hop waits for a free core, so it costs more on a busy machine).`,
        '',
      );
    }
  }
  if (r.simulator) {
    const s = r.simulator;
    lines.push(
      '## Simulator speed',
      '',
      `${s.requests.toLocaleString('en-US')} requests (${s.trace} x${s.rateScale}), one policy, after an untimed JIT warm-up over the trace's first ${(s.warmUpRequests ?? 0).toLocaleString('en-US')} requests: ${fmt(s.wallSeconds, 2)} s wall, **${Math.round(s.requestsPerSecond).toLocaleString('en-US')} requests/s** = ${fmt(s.ratioToTarget, 2)}x the ${SIM_SPEED_TARGET.toLocaleString('en-US')}/s target (per CPU-second of this process: ${Math.round(s.requestsPerCpuSecond).toLocaleString('en-US')}, which a loaded machine disturbs less). Peak ready replicas: ${Object.entries(s.peakReplicas).map(([k, v]) => `${k} ${v}`).join(', ')} (\`npm run bench -- simulator\`).`,
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
    lines.push(
      '',
      '`hpa-tuned`: the HPA baseline with its target utilisation lowered from 0.7 until it meets the SLO (the fair "at equal attainment" comparison).',
      '',
    );
    for (const row of r.quality) {
      const tuned = row.hpaTuned;
      const slo = row.slo ? `SLO TTFT p${row.slo.percentile} <= ${row.slo.ttftMs} ms, ITL <= ${row.slo.itlMs} ms` : '';
      const tunedText = tuned
        ? tuned.run
          ? `hpa-tuned at utilisation ${tuned.utilization}: ${pct(tuned.run.attainment)} within both, ${fmt(tuned.run.gpuHours, 1)} GPU-h (policy / hpa-tuned = ${fmt(row.gpuHoursRatio['hpa-tuned']!, 2)})`
          : 'hpa-tuned: no setting tried met the SLO'
        : 'hpa meets the SLO untuned';
      lines.push(`- ${row.trace} x${row.rateScale}: ${slo}. ${row.why ? `${row.why}.` : ''} ${tunedText}.${(row.notes ?? []).map((n) => ` ${n}.`).join('')}`);
    }
    lines.push('', 'Targets per trace (SLO met; GPU-h <= 1.15 x oracle; fewer GPU-h than dynamo and hpa, or better attainment):', '');
    for (const row of r.quality) {
      lines.push(`- ${row.trace}: SLO met ${yes(row.sloMet)}; <= 1.15 x oracle ${yes(row.targets.withinOracle115)} (${fmt(row.gpuHoursRatio.oracle!, 2)}x); vs dynamo ${yes(row.targets.fewerThanDynamo)}; vs hpa ${yes(row.targets.fewerThanHpa)}`);
    }
    lines.push('', 'Reproduce: `npm run bench -- quality`.', '');
  }
  if (r.load) {
    const l = r.load;
    const verbs = Object.entries(l.apiRequestsPerTick.byVerb).map(([verb, n]) => `${verb} ${fmt(n, 1)}`).join(', ');
    lines.push(
      `## Load: one planner process, ${l.graphs} graphs, ${l.pools} pools`,
      '',
      `\`pd-planner run --policy DIR\` wiring against the in-process fake API server and a fake Prometheus (their CPU included), \`sla\` policies, ${l.concurrency} policies at a time, ${l.ticks} ticks with traffic moving every tick:`,
      '',
      '| tick p50 | tick p95 | tick max | p95 / interval | overruns | patches / tick (mean, max) | API requests / tick (mean, max) | watches | failed policy ticks |',
      '|---:|---:|---:|---:|---:|---|---|---|---:|',
      `| ${fmt(l.tickSeconds.p50, 2)} s | ${fmt(l.tickSeconds.p95, 2)} s | ${fmt(l.tickSeconds.max, 2)} s | **${fmt(l.p95ToInterval, 3)}** of ${l.intervalSeconds} s | ${l.overruns} | ${fmt(l.patchesPerTick.mean, 1)}, ${l.patchesPerTick.max} | ${fmt(l.apiRequestsPerTick.mean, 0)}, ${l.apiRequestsPerTick.max} | ${Object.entries(l.watches).map(([k, n]) => `${k} ${n}`).join(', ')} | ${l.failedPolicyTicks} |`,
      '',
      `First tick (lists and starts the informers): ${fmt(l.firstTickSeconds, 2)} s. Requests per tick by kind: ${verbs}; Prometheus queries per tick: ${fmt(l.prometheusQueriesPerTick, 0)}.`,
      `Memory after GC: heap ${l.memoryMB.heapBefore} MB before, ${l.memoryMB.heapAfterFirstTick} MB after the first tick (planner with ${l.graphs} policies: ${l.memoryMB.plannerHeap} MB), ${l.memoryMB.heapAfter} MB after the last (+${l.memoryMB.heapGrowthOverTicks} MB over ${l.ticks} ticks); RSS ${l.memoryMB.rssBefore} -> ${l.memoryMB.rssAfter} MB. Target: the tick stays well under the interval — ${l.maxToInterval < 0.5 && l.overruns === 0 ? 'met' : '**NOT met**'} (\`npm run bench -- load\`).`,
      '',
    );
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
