/**
 * The fleet file: `pd-planner validate FLEET.yaml` prints a summary or one `path: problem` line per problem (exit 2):
 * missing policy files, invalid graphs, duplicate graph names, a budget below the sum of minimums, two graphs
 * scaling one target, graphs on different intervals.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerValidate } from '../../../src/cli/validate.js';
import { loadPolicyFile } from '../../../src/config/load.js';
import { ROOT, runCli, runInProcess } from '../cli/cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pd-fleet-'));

function policy(file: string, name: string, opts: { min?: number; interval?: string; target?: string; extra?: string } = {}): string {
  const target = opts.target ?? name;
  writeFileSync(
    join(tmp, file),
    `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: ${name} }
spec:
  interval: ${opts.interval ?? '60s'}
  slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }
  pools:
    - { name: prefill, role: prefill, gpusPerReplica: 4, minReplicas: ${opts.min ?? 1}, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: ${target}, service: P } }
    - { name: decode, role: decode, gpusPerReplica: 4, minReplicas: ${opts.min ?? 1}, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: ${target}, service: D } }
${opts.extra ?? ''}`,
  );
  return file;
}

function fleet(file: string, body: string): string {
  const path = join(tmp, file);
  writeFileSync(path, `apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: aks }\nspec:\n${body}`);
  return path;
}

const validate = (path: string) => runInProcess(registerValidate, ['validate', path]);

describe('pd-planner validate FLEET.yaml', () => {
  policy('chat.yaml', 'chat');
  policy('code.yaml', 'code', { min: 0 });

  it('summarises a valid fleet: the shared budget, and per graph its priority, GPUs and split share', async () => {
    const r = await validate(fleet('ok.yaml', '  budget: { maxGpus: 48 }\n  graphs:\n    - { policy: chat.yaml, priority: 2 }\n    - { policy: code.yaml }\n'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('valid PlannerFleet "aks"');
    expect(r.stdout).toContain('budget       48 GPUs, shared; the graphs\' pools span 8-128 GPUs');
    expect(r.stdout).toMatch(/chat\s+chat\.yaml\s+2\s+sla\s+8-64\s+32\s/);
    expect(r.stdout).toMatch(/code\s+code\.yaml\s+1\s+sla\s+0-64\s+16\s+.*prefill\+decode after 5m/);
  });

  it('the example fleet is valid', async () => {
    const r = await validate(join(ROOT, 'examples/fleet/fleet.yaml'));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each([
    ['a missing policy file', '  budget: { maxGpus: 48 }\n  graphs:\n    - { policy: chat.yaml }\n    - { policy: nope.yaml }\n', /^spec\.graphs\[1\]\.policy: nope\.yaml: cannot read: no such file \(looked for .*nope\.yaml; paths are relative to the fleet file\)$/],
    ['a budget below the sum of minimums', '  budget: { maxGpus: 4 }\n  graphs:\n    - { policy: chat.yaml }\n    - { policy: code.yaml }\n', /^spec\.budget\.maxGpus: 4 GPUs is below the 8 the graphs' minReplicas need \(chat 8, code 0\); raise it or lower some minReplicas$/],
    ['a graph listed twice', '  budget: { maxGpus: 48 }\n  graphs:\n    - { policy: chat.yaml }\n    - { policy: ./chat.yaml }\n', /^spec\.graphs\[1\]\.policy: \.\/chat\.yaml is listed twice \(also spec\.graphs\[0\]\); list each graph once$/],
    ['an unknown field', '  budget: { maxGpus: 48, maxGPUs: 2 }\n  graphs:\n    - { policy: chat.yaml }\n', /^spec\.budget\.maxGPUs: unknown field/],
    ['a priority of zero', '  budget: { maxGpus: 48 }\n  graphs:\n    - { policy: chat.yaml, priority: 0 }\n', /^spec\.graphs\[0\]\.priority: /],
    ['no graph', '  budget: { maxGpus: 48 }\n  graphs: []\n', /^spec\.graphs: at least one graph is needed$/],
  ])('refuses %s, naming the field', async (_what, body, line) => {
    const r = await validate(fleet(`bad-${_what.replace(/\W+/g, '-')}.yaml`, body));
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(line)]);
  });

  it('refuses two graphs of one name, two graphs scaling one target, and graphs on different intervals', async () => {
    policy('chat-copy.yaml', 'chat', { target: 'chat-2' });
    policy('same-target.yaml', 'other', { target: 'chat' });
    policy('slow.yaml', 'slow', { interval: '2m' });
    const r = await validate(fleet('clash.yaml', '  budget: { maxGpus: 96 }\n  graphs:\n    - { policy: chat.yaml }\n    - { policy: chat-copy.yaml }\n    - { policy: same-target.yaml }\n    - { policy: slow.yaml }\n'));
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toContain('spec.graphs[1].policy: metadata.name "chat" of chat-copy.yaml is also the name of spec.graphs[0] (chat.yaml); every graph of a fleet needs its own name (it keys its metrics, its state and --trace NAME=FILE)');
    expect(lines).toContain('spec.graphs[2].policy: same-target.yaml spec.pools[0].target scales DynamoGraphDeployment (planner namespace)/chat P, as chat (chat.yaml) pool prefill does; two graphs would overwrite each other\'s replica count');
    expect(lines).toContain('spec.graphs[3].policy: slow ticks every 2m, chat (spec.graphs[0]) every 1m; a fleet decides its graphs together, so give them one spec.interval');
  });

  it('prefixes a graph\'s own problems with the fleet field that names it', async () => {
    policy('broken.yaml', 'broken', { extra: '  limits: { maxStepUp: 0 }\n' });
    const r = await validate(fleet('broken-fleet.yaml', '  budget: { maxGpus: 48 }\n  graphs:\n    - { policy: broken.yaml }\n'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^spec\.graphs\[0\]\.policy: broken\.yaml: spec\.limits\.maxStepUp: /);
  });

  it('a fleet file where a policy is expected says what to do with it', () => {
    expect(() => loadPolicyFile(join(ROOT, 'examples/fleet/fleet.yaml'))).toThrow(
      expect.objectContaining({ problems: [`${join(ROOT, 'examples/fleet/fleet.yaml')}: kind: PlannerFleet is a fleet file; give it to validate, run --fleet or simulate --fleet (this takes a PlannerPolicy)`] }),
    );
  });

  it('--json and exit codes through the real binary', () => {
    const good = runCli(['validate', join(ROOT, 'examples/fleet/fleet.yaml'), '--json']);
    expect(good.status).toBe(0);
    const parsed = JSON.parse(good.stdout) as { valid: boolean; kind: string; graphs: { name: string; priority: number }[] };
    expect(parsed).toMatchObject({ valid: true, kind: 'PlannerFleet', budget: { maxGpus: 48 } });
    expect(parsed.graphs.map((g) => [g.name, g.priority])).toEqual([['chat', 2], ['code', 1]]);
    const bad = runCli(['validate', fleet('bin-bad.yaml', '  budget: { maxGpus: 2 }\n  graphs:\n    - { policy: chat.yaml }\n')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('spec.budget.maxGpus: 2 GPUs is below the 8');
  });
});
