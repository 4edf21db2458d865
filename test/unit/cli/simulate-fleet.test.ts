/**
 * `pd-planner simulate --fleet FLEET.yaml --trace NAME=FILE ...`: the fleet report (report.json with each run's
 * fleet totals and `graphs` beside them, report.md and report.html with the graphs side by side), and the input
 * errors (a trace per graph, NAME a graph of the fleet, fleet baselines only), exit 2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNamedTraces } from '../../../src/cli/simulate-fleet.js';
import { registerSimulate } from '../../../src/cli/simulate.js';
import { InputError } from '../../../src/errors.js';
import { ROOT, runInProcess } from './cli-helpers.js';

const FLEET = join(ROOT, 'examples/fleet/fleet.yaml');
const chat = 'chat=synthetic:step?steps=0:1,5m:4&duration=10m&isl=2000&osl=200';
const code = 'code=synthetic:step?steps=0:2,5m:0&duration=10m&isl=2000&osl=200';
const simulateFleet = (args: string[]) => runInProcess(registerSimulate, ['simulate', '--fleet', FLEET, ...args]);

describe('pd-planner simulate --fleet', () => {
  it('writes a fleet report: totals and graphs side by side, per run', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pd-sim-fleet-'));
    const r = await simulateFleet(['--trace', chat, '--trace', code, '--out', out, '--baselines', 'split,unlimited', '--startup-spread', '0.2', '--ttft-ms', '1500', '--gpu-budget', '48']);
    expect(r.stderr).not.toMatch(/^[^w]/m);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^run\s+all SLOs met\s+SLO met \(all requests\)\s+GPU-hours\s+peak GPUs \/ budget\s+cost\s+chat: SLO met\s+chat: GPU-h\s+code: SLO met\s+code: GPU-h$/m);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      kind: string;
      trace: { requests: number; durationSeconds: number };
      budget: { maxGpus: number };
      runs: { policy: string; sloAttainment: { both: number }; gpuHours: { total: number }; cost: number; graphs: Record<string, { sloAttainment: { both: number }; gpuHours: { total: number }; cost: number; priority: number }> }[];
    };
    expect(report.kind).toBe('PlannerFleet');
    // Every what-if flag given is in the report (the run is labelled with what it simulated).
    expect((report as unknown as { overrides: Record<string, number> }).overrides).toEqual({ 'gpu-budget': 48, 'ttft-ms': 1500, 'startup-spread': 0.2 });
    expect(report.budget.maxGpus).toBe(48);
    expect(report.runs.map((x) => x.policy)).toEqual(['policy', 'split', 'unlimited']);
    for (const run of report.runs) {
      expect(Object.keys(run.graphs)).toEqual(['chat', 'code']);
      // The fleet's totals are its graphs' sums.
      expect(run.gpuHours.total).toBeCloseTo(run.graphs.chat!.gpuHours.total + run.graphs.code!.gpuHours.total, 9);
      expect(run.cost).toBeCloseTo(run.graphs.chat!.cost + run.graphs.code!.cost, 9);
    }
    expect(Object.keys(report.runs[0]!).slice(0, 9)).toEqual(['policy', 'sloAttainment', 'ttftMs', 'itlMs', 'gpuHours', 'cost', 'evictions', 'droppedRequests', 'decisions']);
    expect(report.runs[0]!.graphs.chat!.priority).toBe(2);
    // Every run of the planner, the fleet's included, says where each graph's GPU-hours went, before its intervals.
    for (const run of report.runs) {
      for (const graph of Object.values(run.graphs)) {
        const keys = Object.keys(graph);
        expect(keys.indexOf('desiredGpuHours')).toBeGreaterThan(keys.indexOf('coldStarts'));
        expect(keys.indexOf('desiredGpuHours')).toBeLessThan(keys.indexOf('intervals'));
      }
    }
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('## Where the GPU-hours went');
    expect(md).toMatch(/^- policy \/ chat: desired [0-9.]+ GPU-hours = need [0-9.]+ .*; ran [0-9.]+\.$/m);
    expect(md).toMatch(/^- split \/ code: desired /m);
    expect(md).toContain('## Graphs side by side');
    expect(md).toContain('- What-if overrides: --gpu-budget 48, --ttft-ms 1500, --startup-spread 0.2');
    expect(md).toMatch(/\| run \| all SLOs met \| SLO met \(all requests\) \| GPU-hours \| peak GPUs \/ budget \| cost \| chat: SLO met \| chat: GPU-h \| code: SLO met \| code: GPU-h \|/);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('GPUs per graph under the budget');
    expect(html).toContain('<h2>Where the GPU-hours went</h2>');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/https?:\/\//);
  }, 60_000);

  it.each([
    [['--trace', chat], /^--trace: no trace for graph code; add --trace code=FILE$/m],
    [['--trace', chat, '--trace', 'other=x.csv'], /^--trace: "other" is not a graph of the fleet \(graphs: chat, code; NAME is a policy's metadata\.name\)$/m],
    [['--trace', chat, '--trace', 'plain.csv'], /^--trace: "plain\.csv" is not NAME=FILE; with --fleet give one per graph \(chat=FILE, code=FILE\)$/m],
    [['--trace', chat, '--trace', code, '--baselines', 'hindsight'], /^--baselines: "hindsight" is not a fleet baseline \(with --fleet choose from split, unlimited, dynamo\)$/m],
    [['--trace', chat, '--trace', code, '--gpu-budget', '4'], /^--gpu-budget: 4 GPUs is below the 8 the graphs' minReplicas need \(chat 8, code 0\); raise it or lower some minReplicas$/m],
    [['--trace', chat, '--trace', chat, '--trace', code], /^--trace: chat is given twice$/m],
    [['--trace', chat, '--trace', code, '--current', 'prefill=3'], /^--current: not with --fleet \(it gives one graph's replica counts\); simulate that graph alone with --policy FILE --current \.\.\.$/m],
    [['--trace', chat, '--trace', code, '--rate-scale', '1e9'], /^--rate-scale: "1e9" is not a number from 0\.000001 to 1000000$/m],
    [['--trace', chat, '--trace', code, '--startup-seconds', '99999d'], /^--startup-seconds: "99999d" is more than 86400 \(1d\), the most allowed$/m],
  ])('refuses %j with exit 2', async (args, line) => {
    const r = await simulateFleet(args as string[]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(line);
  });

  it('several --trace without --fleet, and --startup-spread without it, are input errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-sim-x-'));
    writeFileSync(join(dir, 'x'), '');
    const two = await runInProcess(registerSimulate, ['simulate', '--trace', 'a.csv', '--trace', 'b.csv']);
    expect(two.status).toBe(2);
    expect(two.stderr).toContain('--trace: given 2 times; one trace per simulation (several, as NAME=FILE, only with --fleet)');
    const spread = await runInProcess(registerSimulate, ['simulate', '--startup-spread', '0.3']);
    expect(spread.status).toBe(2);
  });

  it('a graph named constructor (an Object member, and a valid Kubernetes name) is reported like any other: report.json, report.md, the chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-sim-proto-'));
    const policy = (name: string, target: string) =>
      readFileSync(join(ROOT, 'examples/fleet/chat.yaml'), 'utf8').replace('metadata: { name: chat }', `metadata: { name: ${name} }`).replaceAll('name: chat, service', `name: ${target}, service`);
    writeFileSync(join(dir, 'a.yaml'), policy('constructor', 'a'));
    writeFileSync(join(dir, 'b.yaml'), policy('tostring', 'b'));
    writeFileSync(join(dir, 'fleet.yaml'), 'apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: names }\nspec:\n  budget: { maxGpus: 32 }\n  graphs:\n    - { policy: a.yaml, priority: 2 }\n    - { policy: b.yaml }\n');
    const out = join(dir, 'out');
    const r = await runInProcess(registerSimulate, ['simulate', '--fleet', join(dir, 'fleet.yaml'), '--trace', chat.replace('chat=', 'constructor='), '--trace', code.replace('code=', 'tostring='), '--out', out, '--baselines', 'split']);
    expect(r.stderr).not.toMatch(/^[^w]/m);
    expect(r.status).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { runs: { graphs: Record<string, { gpuHours: { total: number } }>; gpuHours: { total: number }; intervals: { gpus: Record<string, number> }[] }[] };
    for (const run of report.runs) {
      expect(Object.keys(run.graphs)).toEqual(['constructor', 'tostring']);
      expect(Object.keys(run.intervals[0]!.gpus)).toEqual(['constructor', 'tostring']);
      expect(run.gpuHours.total).toBeCloseTo(Object.values(run.graphs).reduce((s, g) => s + g.gpuHours.total, 0), 9);
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| policy \| constructor \| 2 \|/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('constructor (graph)');
    // __proto__ is no policy name at all: the service names its Lease after metadata.name, a Kubernetes object name.
    writeFileSync(join(dir, 'a.yaml'), policy('__proto__', 'a'));
    const refused = await runInProcess(registerSimulate, ['simulate', '--fleet', join(dir, 'fleet.yaml'), '--trace', chat.replace('chat=', '__proto__='), '--trace', code.replace('code=', 'tostring='), '--out', join(dir, 'out2'), '--baselines', 'split']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('metadata.name: use lower-case letters');
  }, 60_000);

  it('--trace NAME=FILE: graph names that hold "=" or name Object members are keys like any other; twice or unknown is named', () => {
    const traces = parseNamedTraces(['a=b=synthetic:poisson?rate=1', '__proto__=p.csv', 'constructor=c.csv', 'a=x.csv'], ['a=b', '__proto__', 'constructor', 'a']);
    expect([...traces]).toEqual([
      ['a=b', 'synthetic:poisson?rate=1'],
      ['__proto__', 'p.csv'],
      ['constructor', 'c.csv'],
      ['a', 'x.csv'],
    ]);
    const problems = (values: string[], names: string[]) => {
      try {
        parseNamedTraces(values, names);
      } catch (error) {
        return (error as InputError).problems;
      }
      return [];
    };
    expect(problems(['chat=a.csv', 'chat=b.csv', 'code=c.csv'], ['chat', 'code'])).toEqual(['--trace: chat is given twice']);
    expect(problems(['toString=a.csv', 'code=c.csv'], ['chat', 'code'])).toEqual([
      '--trace: "toString" is not a graph of the fleet (graphs: chat, code; NAME is a policy\'s metadata.name)',
      '--trace: no trace for graph chat; add --trace chat=FILE',
    ]);
    // A spec or path given without NAME=: its own "=" does not make a graph name of "synthetic:step?steps".
    expect(problems(['synthetic:step?steps=0:2&duration=5m', 'code=c.csv'], ['chat', 'code'])[0]).toBe(
      '--trace: "synthetic:step?steps=0:2&duration=5m" is not NAME=FILE; with --fleet give one per graph (chat=FILE, code=FILE)',
    );
    expect(problems(['traces/a=b.csv', 'code=c.csv'], ['chat', 'code'])[0]).toBe('--trace: "traces/a=b.csv" is not NAME=FILE; with --fleet give one per graph (chat=FILE, code=FILE)');
  });
});
