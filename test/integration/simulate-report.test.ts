/**
 * `pd-planner simulate` as users run it (the real binary, in a fresh working directory): report.json carries what
 * it takes to repeat the run, an existing report is never replaced without --force, --json writes no file unless
 * --out says where, and --current adds today's replicas as a baseline with the savings against it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PD_PLANNER_BIN } from '../fixtures/cli.js';

const TRACE = 'synthetic:step?steps=0:1.5,6m:5,12m:2&duration=15m';
const CURRENT = 'prefill-od=3,prefill-spot=2,decode-od=2,decode-spot=1';
const dirs: string[] = [];

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pd-simulate-'));
  dirs.push(dir);
  return dir;
}

function simulate(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [PD_PLANNER_BIN, 'simulate', ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- report.json read back as plain JSON
type Json = Record<string, any>;
const readJson = (file: string): Json => JSON.parse(readFileSync(file, 'utf8')) as Json;

describe('simulate: reports that can be repeated and are never silently replaced', () => {
  const cwd = workDir();
  const first = simulate(cwd, ['--trace', TRACE, '--baselines', 'static,hpa', '--current', CURRENT, '--gpu-budget', '96', '--seed', '7']);
  const reportFile = join(cwd, 'out/report/report.json');

  it('writes out/report with the inputs: effective policy, trace source, baselines, overrides, current', () => {
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const report = readJson(reportFile);
    expect(report.schemaVersion).toBe(4);
    expect(report.trace).toMatchObject({ source: TRACE, format: 'synthetic', rateScale: 1, speedup: 1 });
    expect(report.sim.seed).toBe(7);
    expect(report.baselines).toEqual(['static', 'hpa']);
    expect(report.overrides).toEqual({ 'gpu-budget': 96 });
    expect(report.current).toEqual({ 'prefill-od': 3, 'prefill-spot': 2, 'decode-od': 2, 'decode-spot': 1 });
    expect(report.policy).toMatchObject({ apiVersion: 'pd-planner/v1', kind: 'PlannerPolicy', metadata: { name: 'default-what-if' } });
    expect(report.policy.spec.budget.maxGpus).toBe(96);
    expect(report.policy.spec.interval).toBe('1m');
    expect(report.pools.map((p: Json) => p.name)).toEqual(['prefill-od', 'prefill-spot', 'decode-od', 'decode-spot']);
    expect(report.runs.map((r: Json) => r.policy)).toEqual(['policy', 'current', 'static', 'hpa']);
  });

  it('--current: a static run at today\'s counts, and every other run\'s savings against it in GPU-hours and dollars', () => {
    const report = readJson(reportFile);
    const [policy, current, staticRun] = report.runs as Json[];
    // 8 replicas x 4 GPUs = 32 GPUs held for the whole run (15 minutes of trace plus the drain).
    expect(current!.intervals.every((rec: Json) => rec.gpus === 32)).toBe(true);
    expect(current!.savedVsCurrent).toBeUndefined();
    for (const run of [policy!, staticRun!]) {
      expect(run.savedVsCurrent.gpuHours).toBeCloseTo(current!.gpuHours.total - run.gpuHours.total, 3);
      expect(run.savedVsCurrent.cost).toBeCloseTo(current!.cost - run.cost, 1);
    }
    const saved = policy!.savedVsCurrent;
    expect(first.stdout).toMatch(/saved GPU-h\s+saved \$/);
    const md = readFileSync(join(cwd, 'out/report/report.md'), 'utf8');
    expect(md).toContain('| GPU-hours saved vs current | cost saved vs current |');
    expect(md).toContain('Against today\'s replicas (prefill-od=3, prefill-spot=2, decode-od=2, decode-spot=1)');
    const html = readFileSync(join(cwd, 'out/report/report.html'), 'utf8');
    expect(html).toContain('cost saved vs current');
    expect(html).toContain(`$${Math.abs(saved.cost).toFixed(2)}`);
  });

  it('repeats from its report alone: the policy saved from report.json, the trace, seed and baselines give the same runs', () => {
    const report = readJson(reportFile);
    writeFileSync(join(cwd, 'policy.json'), JSON.stringify(report.policy));
    const again = simulate(cwd, [
      '--policy', 'policy.json', '--trace', report.trace.source, '--rate-scale', String(report.trace.rateScale), '--speedup', String(report.trace.speedup),
      '--seed', String(report.sim.seed), '--baselines', report.baselines.join(','),
      '--current', Object.entries(report.current as Record<string, number>).map(([p, n]) => `${p}=${n}`).join(','), '--out', 'again',
    ]);
    expect(again.status, again.stderr).toBe(0);
    const repeated = readJson(join(cwd, 'again/report.json'));
    expect(repeated.runs).toEqual(report.runs);
    expect(repeated.policy).toEqual(report.policy);
    // The overrides are in the saved policy already, so the repeat needs none.
    expect(repeated.overrides).toEqual({});
  });

  it('refuses to replace an existing report without --force (exit 2, nothing written), and says so when --force replaces it', () => {
    const before = readFileSync(reportFile, 'utf8');
    const mtime = statSync(reportFile).mtimeMs;
    const refused = simulate(cwd, ['--trace', TRACE, '--baselines', 'none']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/^--out out\/report: already holds a report \(report\.json, report\.md, report\.html, generated \S+\); pass --force to replace it, or choose another --out folder\n$/);
    expect(readFileSync(reportFile, 'utf8')).toBe(before);
    expect(statSync(reportFile).mtimeMs).toBe(mtime);

    const forced = simulate(cwd, ['--trace', TRACE, '--baselines', 'none', '--force']);
    expect(forced.status).toBe(0);
    expect(forced.stderr).toMatch(/^replacing the report in out\/report \(report\.json, report\.md, report\.html, generated \S+\) as --force asks\n$/);
    expect(readJson(reportFile).runs.map((r: Json) => r.policy)).toEqual(['policy']);
  });

  it('--json prints report.json and writes no file unless --out is given', () => {
    const dir = workDir();
    const printed = simulate(dir, ['--trace', TRACE, '--baselines', 'none', '--json']);
    expect(printed.status).toBe(0);
    expect(JSON.parse(printed.stdout).runs[0].policy).toBe('policy');
    expect(existsSync(join(dir, 'out'))).toBe(false);
    const both = simulate(dir, ['--trace', TRACE, '--baselines', 'none', '--json', '--out', 'kept']);
    expect(both.status).toBe(0);
    expect(readJson(join(dir, 'kept/report.json')).runs).toEqual(JSON.parse(both.stdout).runs);
  });

  it('--current names what is wrong: an unknown pool, a pool left out, a count that is not a whole number (exit 2, before any run)', () => {
    const dir = workDir();
    const unknown = simulate(dir, ['--trace', TRACE, '--current', 'prefill-od=1,prefill-spot=0,decode-od=1,decode-spot=0,decode-big=2']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toBe('--current decode-big: no pool of that name in the policy (its pools: prefill-od, prefill-spot, decode-od, decode-spot)\n');
    const missing = simulate(dir, ['--trace', TRACE, '--current', 'prefill-od=1,decode-od=1']);
    expect(missing.stderr).toBe("--current: no count for prefill-spot, decode-spot; give every pool's replicas today (0 for a pool you do not run)\n");
    const bad = simulate(dir, ['--trace', TRACE, '--current', 'prefill-od=1.5']);
    expect(bad.stderr).toBe('--current prefill-od: "1.5" is not a whole number of replicas from 0 to 10000\n');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});
