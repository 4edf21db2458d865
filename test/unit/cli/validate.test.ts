import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerValidate } from '../../../src/cli/validate.js';
import { ROOT, runCli, runInProcess } from './cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pd-validate-'));
function policyFile(name: string, spec: string): string {
  const path = join(tmp, name);
  writeFileSync(path, `apiVersion: pd-planner/v1\nkind: PlannerPolicy\nmetadata: { name: t }\nspec:\n${spec}`);
  return path;
}
const pools = `  pools:
    - { name: prefill-od, role: prefill, gpusPerReplica: 4, minReplicas: 2, maxReplicas: 8 }
    - { name: decode-od, role: decode, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 }
`;
const slo = '  slo: { ttft: { ms: 800 }, itl: { ms: 60 } }\n';

describe('pd-planner validate (in-process)', () => {
  it('prints a one-screen summary for a valid policy', async () => {
    const result = await runInProcess(registerValidate, ['validate', join(ROOT, 'examples/spot-mixed.yaml')]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(25);
    expect(lines[0]).toMatch(/spot-mixed\.yaml: valid PlannerPolicy "llama-70b-aks-spot" \(namespace dynamo\)$/);
    expect(result.stdout).toContain('SLO          TTFT p95 <= 800 ms, ITL p95 <= 60 ms');
    expect(result.stdout).toMatch(/prefill-spot\s+prefill\s+spot\s+0-8\s+4\s+0-32\s+2\.10\s+5m\s+DCD llama-disagg-prefill-spot/);
    expect(result.stdout).toContain('budget       96 GPUs, $400.00/h (reported, not enforced); pools span 8-128 GPUs, $55.84-$503.04/h');
    expect(result.stdout).toContain('"0 8 * * 1-5" Europe/Amsterdam for 10h: prefill-od >= 2, decode-od >= 2');
    expect(result.stdout).toContain('warnings     none');
  });

  it('lists warnings in the summary', async () => {
    const file = policyFile('warn.yaml', `  slo: { ttft: { ms: 800 }, itl: { ms: 20 } }\n${pools}`);
    const result = await runInProcess(registerValidate, ['validate', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("  warnings (1)\n    spec.slo.itl.ms: 20 ms is below the profile's fastest decode step (28.73 ms); ITL cannot meet it");
  });

  it('exits 2 with one problem per line on stderr', async () => {
    const file = policyFile('bad.yaml', `  interval: 60\n${slo}  budget: { maxGpus: 8 }\n${pools.replace('maxReplicas: 8 }\n    - { name: decode', 'maxReplicas: 8, colour: red }\n    - { name: decode')}`);
    const result = await runInProcess(registerValidate, ['validate', file]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'spec.interval: expected an interval with a unit such as "60s" or "60m", got the bare number 60',
      'spec.pools[0].colour: unknown field (allowed: name, role, capacity, gpusPerReplica, minReplicas, maxReplicas, costPerGpuHour, startupSeconds, target)',
    ]);
  });

  it('reports cross-field problems once the shape is right', async () => {
    const file = policyFile('budget.yaml', `${slo}  budget: { maxGpus: 8 }\n${pools}  schedules: [{ cron: "0 8 * * 1-5", duration: 10h, minReplicas: { prefil: 2 } }]\n`);
    const result = await runInProcess(registerValidate, ['validate', file]);
    expect(result.status).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      "spec.budget.maxGpus: 8 GPUs is below the 12 the pools' minReplicas need (prefill-od 2x4, decode-od 1x4)",
      'spec.schedules[0].minReplicas.prefil: no pool named "prefil" (pools: prefill-od, decode-od)',
    ]);
  });

  it('--json prints the parsed spec with defaults, or the problems', async () => {
    const ok = await runInProcess(registerValidate, ['validate', join(ROOT, 'examples/sla.yaml'), '--json']);
    expect(ok.status).toBe(0);
    const parsed = JSON.parse(ok.stdout);
    expect(parsed).toMatchObject({ valid: true, name: 'llama-70b-disagg', problems: [], warnings: [], profile: { name: 'llama2-70b-h100-tp4' } });
    expect(parsed.spec.interval).toBe(60);
    expect(parsed.spec.stabilization.scaleDown).toBe(300);

    const file = policyFile('bad-json.yaml', `${slo}  policy: slaa\n${pools}`);
    const bad = await runInProcess(registerValidate, ['validate', file, '--json']);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout)).toEqual({
      valid: false,
      path: file,
      problems: ['spec.policy: expected one of sla, dynamo, load, hpa, static, got "slaa"; did you mean "sla"?'],
      warnings: [],
    });
  });

  it('a YAML syntax error names file, line and column', async () => {
    const path = join(tmp, 'syntax.yaml');
    writeFileSync(path, 'apiVersion: pd-planner/v1\nkind: PlannerPolicy\nkind: Again\n');
    const result = await runInProcess(registerValidate, ['validate', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${path}:3:1: Map keys must be unique\n`);
  });
});

describe('pd-planner validate (the binary)', () => {
  it('exit 0 for every example, exit 2 with path lines for a broken file', () => {
    const ok = runCli(['validate', 'examples/sla.yaml']);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^examples\/sla\.yaml: valid PlannerPolicy "llama-70b-disagg"/);

    const file = policyFile('bin-bad.yaml', `${slo}${pools.replace('minReplicas: 1, maxReplicas: 8', 'minReplicas: 3, maxReplicas: 2')}`);
    const bad = runCli(['validate', file]);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('spec.pools[1].maxReplicas: 2 is below minReplicas 3\n');
  });

  it('a missing file is exit 2, not a crash', () => {
    const result = runCli(['validate', 'no/such/policy.yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('no/such/policy.yaml: cannot read: no such file\n');
  });
});
