/**
 * `npm run bench [-- SECTION ...]`: speed and quality figures, written to bench/results.json and
 * bench/RESULTS.md (the README quotes the latter). Sections: decide, simulator, quality, load, matrix, fleet (default: all).
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
import { EXTRA_COST_FOR_SLO } from '../src/sim/report/pareto.js';
import { benchLoad, type LoadBench } from './load.js';
import { formatAblation, formatFamilies, formatLayers, formatMatrix, formatSurprise, matrixRows, runAblation, runMatrix, type AblationRow, type RowResult } from './matrix.js';
import { benchFleet, formatFleet, type FleetBench } from './fleet.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS = ['decide', 'simulator', 'quality', 'load', 'matrix', 'fleet'] as const;
type Section = (typeof SECTIONS)[number];

interface Results {
  generatedAt: string;
  machine: { cpus: number; model: string; node: string; loadAverage: number[] };
  command: string;
  decide?: DecideBench & { worker?: DecideWorkerBench };
  simulator?: SimulatorBench;
  quality?: QualityRow[];
  load?: LoadBench;
  matrix?: { rows: RowResult[]; ablation: AblationRow[] };
  fleet?: FleetBench;
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
  if (section === 'matrix') {
    const rows = matrixRows('report');
    results.matrix = { rows: await runMatrix({ rows, reserve: true }), ablation: await runAblation(rows) };
  }
  if (section === 'fleet') results.fleet = await benchFleet();
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
      '## Planner quality on real traces (default `sla` policy vs yardsticks that do not share its code)',
      '',
      'Every run starts from the same neutral warm start. **x bound**: GPU-hours over the fluid lower bound (no schedule that meets the SLO goes below 1.00); ' +
        '**x hindsight**: over the cheapest schedule found with the whole trace known that meets the SLO. Attainment is the share of requests within both targets.',
      '',
      '| trace | x rate | requests | run | attainment | SLO met | GPU-h | x bound | x hindsight |',
      '|---|---:|---:|---|---:|---|---:|---:|---:|',
    );
    for (const row of r.quality) {
      for (const [name, run] of Object.entries(row.runs)) {
        const label = name === 'hpa-tuned' && row.hpaTunedUtilization !== undefined ? `hpa-tuned (u ${row.hpaTunedUtilization})` : name;
        lines.push(
          `| ${row.trace} | ${row.rateScale} | ${row.requests.toLocaleString('en-US')} | ${label} | ${pct(run.attainment)} | ${run.sloMet ? 'yes' : '**no**'} | ${fmt(run.gpuHours, 1)} | ${fmt(run.xBound, 2)} | ${fmt(run.xHindsight, 2)} |`,
        );
      }
    }
    lines.push('', `Verdicts ("beats" is Pareto: meets the SLO at fewer GPU-hours, or meets it where the other does not at no more than ${Math.round(EXTRA_COST_FOR_SLO * 100)}% extra; a cheaper run that misses the SLO is shown with its cost, not as beaten):`, '');
    for (const row of r.quality) {
      lines.push(`- ${row.trace} x${row.rateScale} (SLO TTFT p${row.slo.percentile} <= ${row.slo.ttftMs} ms, ITL <= ${row.slo.itlMs} ms; bound ${fmt(row.bound.gpuHours, 1)} GPU-h; ${fmt(row.wallSeconds, 1)} s):`);
      for (const run of Object.values(row.runs)) if (run.verdict) lines.push(`  - ${run.verdict}`);
    }
    lines.push('', "Targets per trace (SLO met; GPU-h within the trace's factor of hindsight: what the defaults reach with about 10% to spare, bench/quality.ts):", '');
    for (const row of r.quality) {
      lines.push(`- ${row.trace}: SLO met ${yes(row.targets.sloMet)}; <= ${row.hindsightFactor ?? 2} x hindsight ${yes(row.targets.withinHindsightFactor)} (${fmt(row.runs.policy!.xHindsight, 2)}x)`);
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
  if (r.matrix) {
    lines.push(
      '## Quality matrix: the default policy against the yardsticks (`npm run bench -- matrix`)',
      '',
      'Bundled traces at several rate scales and the scenario families (`src/sim/scenarios/`) at their held-out report seeds (1001-1003, never used for tuning). ' +
        'Every run starts from the same neutral warm start. Budget 256 GPUs, 32 replicas per pool; real traces at p95 (TTFT 2 s, Mooncake 8 s; ITL 60 ms), families at p90 (TTFT 2 s, ITL 45 ms). ' +
        'Yardsticks (src/sim/yardsticks/, docs/yardsticks.md): `bound` the strict fluid lower bound, `hindsight` the cheapest schedule found with the whole trace known, `static` each pool at hindsight\'s peak, ' +
        '`hpa-tuned` HPA at the cheapest target utilisation on its grid that meets the SLO, `dynamo` Dynamo\'s planner as it ships. Goals per row: SLO met; GPU-h <= the cheapest deployable baseline that meets it (static, hpa-tuned, dynamo); ' +
        '<= 1.3 x the bound where the pools\' minimum replicas are under half of it. Reproduce one row: `npx tsx bench/matrix-run.ts --only "ramp #1001"`; a quick subset: `npx tsx bench/matrix-run.ts --quick`.',
      '',
      formatMatrix(r.matrix.rows),
      '',
      '### Per family',
      '',
      formatFamilies(r.matrix.rows),
      '',
      '### Where the GPU-hours went',
      '',
      'The desired GPU-hours of the policy and of hpa-tuned by what asked for them (`runs[].desiredGpuHours` in `simulate`\'s report.json, src/planner/gpu-layers.ts), summed over the family\'s rows: ' +
        '**need** the bare need (for the policy: the load at the profiled throughput, utilisation 1, no corrections; for hpa-tuned: its replica count), **margins** what the policy asked over it (target utilisation, corrections, burst, lead time, SLO headroom, holds), ' +
        '**eviction spare** the Spot spare, **stabilization** the scale-down (and scale-up) windows, **rest** the warm start, minimums, counts held while metrics were missing, step limits, the readiness gate, caps, scale to zero and the rounding between replica sizes.',
      '',
      formatLayers(r.matrix.rows),
      '',
      '### Loads that jump without a precursor',
      '',
      'Surprise: the requests above the highest interval load seen in time for capacity ordered on it to be ready (an indicator, not a bound: see docs/yardsticks.md#surprise; `simulate` reports it too). ' +
        'The policy\'s first episode: the first stretch of intervals below the SLO and the share of the trace it missed. ' +
        'Where the policy misses: the standing reserve `pd-planner reserve` finds (src/sim/reserve.ts: the fewest replicas per role always running, on-demand, with which the default policy meets the SLO), found on the row\'s own trace as static\'s peak and hpa-tuned\'s utilisation are.',
      '',
      formatSurprise(r.matrix.rows),
      '',
      '### Ablation: each improvement switched off alone (same rows, policy run only)',
      '',
      formatAblation(r.matrix.rows, r.matrix.ablation),
      '',
    );
  }
  if (r.fleet) lines.push(formatFleet(r.fleet));
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
