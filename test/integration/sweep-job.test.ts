/**
 * Sweeps as a Kubernetes Indexed Job, without a cluster: `sweep --emit-job` renders the Job (checked against the
 * Kubernetes API types), each index runs here exactly as its pod would (the container's args, JOB_COMPLETION_INDEX
 * set, the mounts mapped to temp folders), `sweep --merge` combines them, and the merged report is the report of a
 * local sweep of the same two values (all but timestamps and wall-clock timings).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { main } from '../../src/cli/program.js';
import { defaultImage, IMAGE_REPOSITORY, packageVersion } from '../../src/image.js';
import { kubeTypeProblems } from '../fixtures/kube-schema.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `pd-planner <args>` in this process, with `env` added to process.env for the call. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  try {
    const returned = await main(['node', 'pd-planner', ...args]);
    const code = returned !== 0 ? returned : Number(process.exitCode ?? 0);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
    for (const key of Object.keys(env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SWEEP = ['sweep', '--param', 'gpu-budget=32,48', '--policy', 'examples/sla.yaml', '--speedup', '8', '--baselines', 'dynamo'];
/** Fields that differ between any two runs of the same scenario: when and how fast it ran. */
const VOLATILE = new Set(['generatedAt', 'wallSeconds', 'requestsPerSecond']);
const stable = (value: unknown): unknown =>
  Array.isArray(value) ? value.map(stable) : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, stable(v)])) : value;

let dir: string;
let configMap: Obj;
let job: Obj;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-sweep-job-'));
  const { code, stdout, stderr } = await cli([...SWEEP, '--emit-job']);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const docs = parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
  expect(docs.map((d) => `${d.apiVersion} ${d.kind}`)).toEqual(['v1 ConfigMap', 'batch/v1 Job']);
  [configMap, job] = docs as [Obj, Obj];
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sweep --emit-job', () => {
  it('prints a valid Indexed Job: one index per value, the image deploy/ uses, reports on a mounted volume', () => {
    expect(kubeTypeProblems(job, 'V1Job')).toEqual([]);
    expect(kubeTypeProblems(configMap, 'V1ConfigMap')).toEqual([]);
    // The check finds a misspelt field and a wrong type (so the two [] above mean something).
    const broken = structuredClone(job);
    broken.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    broken.spec.completions = '2';
    expect(kubeTypeProblems(broken, 'V1Job')).toEqual([
      'spec.completions: expected a number, got "2"',
      'spec.template.spec.containers[0].imagePullPolcy: no such field in V1Container',
    ]);
    expect(job.metadata.name).toBe('pd-planner-sweep-gpu-budget');
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 2, parallelism: 2 });
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0];
    // The same image as the planner Deployment.
    expect(container.image).toBe(`${IMAGE_REPOSITORY}:${packageVersion()}`);
    expect(container.image).toBe(defaultImage());
    const deployment = parse(readFileSync('deploy/base/deployment.yaml', 'utf8')) as Obj;
    expect(container.image).toBe(deployment.spec.template.spec.containers[0].image);
    // The same flags (in the command's own order), the policy from the ConfigMap, the report into the volume, one
    // index per pod.
    expect(container.args).toEqual([
      'sweep', '--param', 'gpu-budget=32,48', '--baselines', 'dynamo', '--speedup', '8',
      '--policy', '/etc/pd-planner/policy.yaml', '--out', '/reports/pd-planner-sweep-gpu-budget', '--job-index',
    ]);
    expect(configMap.data['policy.yaml']).toBe(readFileSync('examples/sla.yaml', 'utf8'));
    const volumes = new Map<string, Obj>((pod.volumes as Obj[]).map((v) => [v.name, v]));
    const mounts = new Map<string, Obj>((container.volumeMounts as Obj[]).map((m) => [m.mountPath, m]));
    expect(volumes.get(mounts.get('/reports')!.name)).toEqual({ name: 'reports', persistentVolumeClaim: { claimName: 'pd-planner-sweep-reports' } });
    expect(volumes.get(mounts.get('/etc/pd-planner')!.name)).toEqual({ name: 'policy', configMap: { name: configMap.metadata.name } });
    expect(volumes.get(mounts.get('/tmp')!.name)!.emptyDir).toBeDefined();
    // Hardened like the planner: non-root, read-only root filesystem, nothing to escalate.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.env).toEqual([{ name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
  });

  it('deploy/examples/sweep-reports.yaml provides the claim the Job mounts, and a pod to fetch the results from', () => {
    const [pvc, pod] = parseAllDocuments(readFileSync('deploy/examples/sweep-reports.yaml', 'utf8')).map((d) => d.toJS() as Obj) as [Obj, Obj];
    expect(kubeTypeProblems(pvc, 'V1PersistentVolumeClaim')).toEqual([]);
    expect(kubeTypeProblems(pod, 'V1Pod')).toEqual([]);
    expect(pvc.metadata.name).toBe(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName);
    expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(pod.spec.volumes).toEqual([{ name: 'reports', persistentVolumeClaim: { claimName: pvc.metadata.name } }]);
    expect(pod.spec.containers[0].image).toBe(defaultImage());
    expect(pod.spec.containers[0].volumeMounts).toEqual([{ name: 'reports', mountPath: '/reports', readOnly: true }]);
  });

  it('takes --image, --job-name, --namespace, --reports-claim and --parallelism', async () => {
    const { code, stdout } = await cli([...SWEEP, '--emit-job', '--image', 'registry.example.com/pd:1', '--job-name', 'budget', '--namespace', 'sims', '--reports-claim', 'shared', '--parallelism', '1']);
    expect(code).toBe(0);
    const [cm, j] = parseAllDocuments(stdout).map((d) => d.toJS() as Obj) as [Obj, Obj];
    expect(cm.metadata).toMatchObject({ name: 'budget-policy', namespace: 'sims' });
    expect(j.metadata).toMatchObject({ name: 'budget', namespace: 'sims' });
    expect(j.spec.parallelism).toBe(1);
    expect(j.spec.template.spec.containers[0].image).toBe('registry.example.com/pd:1');
    expect(j.spec.template.spec.containers[0].args).toContain('/reports/budget');
    expect(j.spec.template.spec.volumes[0]).toEqual({ name: 'reports', persistentVolumeClaim: { claimName: 'shared' } });
  });

  it('refuses what the pods could not use, naming the flag and what to do (exit 2)', async () => {
    const localTrace = await cli([...SWEEP, '--emit-job', '--trace', 'traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv']);
    expect(localTrace.code).toBe(2);
    expect(localTrace.stderr).toContain('--trace /reports/AzureLLMInferenceTrace_conv.csv');
    const synthetic = await cli([...SWEEP, '--emit-job', '--trace', 'synthetic:poisson?rate=2&duration=300']);
    expect(synthetic.code).toBe(0);
    expect(synthetic.stdout).toContain('synthetic:poisson?rate=2&duration=300');
    // A scenario: trace is generated in each pod as a synthetic: one is; a bad one is refused here, not in every pod.
    const scenario = await cli([...SWEEP, '--emit-job', '--trace', 'scenario:ramp?seed=3']);
    expect(scenario.stderr).toBe('');
    expect(scenario.code).toBe(0);
    expect(scenario.stdout).toContain('scenario:ramp?seed=3');
    const badScenario = await cli([...SWEEP, '--emit-job', '--trace', 'scenario:rmp?seed=3']);
    expect(badScenario.code).toBe(2);
    expect(badScenario.stderr).toContain('scenario spec "scenario:rmp?seed=3": unknown family "rmp"');
    // Names kubectl would refuse are refused here, each naming its flag.
    const badNames = await cli([...SWEEP, '--emit-job', '--namespace', 'Sims_Team', '--reports-claim', 'my claim']);
    expect(badNames.code).toBe(2);
    expect(badNames.stderr).toContain('--namespace: "Sims_Team" is not a namespace name');
    expect(badNames.stderr).toContain('--reports-claim: "my claim" is not a PersistentVolumeClaim name');
    const out = await cli([...SWEEP, '--emit-job', '--out', 'x']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--out would not reach the Job');
    const badName = await cli([...SWEEP, '--emit-job', '--job-name', 'Budget_Sweep']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('--job-name: "Budget_Sweep" must be lowercase');
    const stray = await cli([...SWEEP, '--image', 'x']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--image shapes the Job that --emit-job prints');
  });
});

describe('the Job run here, index by index, then merged', () => {
  const mapped = (args: string[]) => args.map((a) => a.replace(/^\/reports\//, `${dir}/reports/`).replace(/^\/etc\/pd-planner\//, `${dir}/policy/`));

  it('two indices with JOB_COMPLETION_INDEX, merged, equal a local sweep of the same values', async () => {
    // The pod's mounts: the ConfigMap as a file, the reports volume as a folder.
    mkdirSync(join(dir, 'policy'));
    writeFileSync(join(dir, 'policy/policy.yaml'), configMap.data['policy.yaml']);
    const args = mapped(job.spec.template.spec.containers[0].args as string[]);
    for (const index of ['1', '0']) {
      const { code, stdout, stderr } = await cli(args, { JOB_COMPLETION_INDEX: index });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(stdout).toContain(`sweep index ${index} of 2 (gpu-budget = ${index === '0' ? 32 : 48})`);
    }
    const reports = join(dir, 'reports/pd-planner-sweep-gpu-budget');
    expect(readdirSync(reports).sort()).toEqual(['sweep-index-0.json', 'sweep-index-1.json']);

    const merged = await cli(['sweep', '--merge', reports]);
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('merged from 2 part files');

    const local = join(dir, 'local');
    const direct = await cli(['sweep', '--param', 'gpu-budget=32,48', '--policy', 'examples/sla.yaml', '--speedup', '8', '--baselines', 'dynamo', '--threads', '2', '--out', local]);
    expect(direct.code).toBe(0);
    // The same table on the terminal and in sweep.md, the same sweep.json and per-value reports.
    const table = (s: string) => s.slice(0, s.indexOf('\n\nsweep report:'));
    expect(table(merged.stdout)).toBe(table(direct.stdout));
    expect(table(merged.stdout)).toMatch(/^32 GPUs\s+policy/m);
    expect(table(merged.stdout)).toMatch(/^48 GPUs\s+policy/m);
    expect(readFileSync(join(reports, 'sweep.md'), 'utf8')).toBe(readFileSync(join(local, 'sweep.md'), 'utf8'));
    const json = (d: string, f: string) => stable(JSON.parse(readFileSync(join(d, f), 'utf8')));
    expect(json(reports, 'sweep.json')).toEqual(json(local, 'sweep.json'));
    for (const value of ['gpu-budget-32', 'gpu-budget-48']) {
      expect(readdirSync(join(reports, value)).sort()).toEqual(['report.html', 'report.json', 'report.md']);
      expect(json(reports, `${value}/report.json`)).toEqual(json(local, `${value}/report.json`));
    }
    // The two values really differ (so "equal" above compares something).
    expect(json(local, 'gpu-budget-32/report.json')).not.toEqual(json(local, 'gpu-budget-48/report.json'));
  }, 120_000);

  it('a missing index: the report says "no result" and --merge exits 1 naming it', async () => {
    const partial = join(dir, 'partial');
    mkdirSync(partial);
    copyFileSync(join(dir, 'reports/pd-planner-sweep-gpu-budget/sweep-index-1.json'), join(partial, 'sweep-index-1.json'));
    const { code, stderr } = await cli(['sweep', '--merge', partial, '--out', join(dir, 'partial-out')]);
    expect(code).toBe(1);
    expect(stderr).toContain('no part file for index 0 (gpu-budget = 32)');
    expect(readFileSync(join(dir, 'partial-out/sweep.md'), 'utf8')).toContain('- **No result for**: 32 GPUs');
  }, 60_000);

  it('refuses parts of another sweep, a folder without parts, and an index past the values (exit 2)', async () => {
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    copyFileSync(join(dir, 'reports/pd-planner-sweep-gpu-budget/sweep-index-0.json'), join(mixed, 'sweep-index-0.json'));
    const other = JSON.parse(readFileSync(join(dir, 'reports/pd-planner-sweep-gpu-budget/sweep-index-1.json'), 'utf8')) as Obj;
    other.values = [32, 64];
    other.value = 64;
    writeFileSync(join(mixed, 'sweep-index-1.json'), JSON.stringify(other));
    const m = await cli(['sweep', '--merge', mixed]);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('sweep-index-1.json: is from another sweep (gpu-budget = 32,64;');

    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const e = await cli(['sweep', '--merge', empty]);
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('no sweep-index-<i>.json in it');

    const past = await cli([...SWEEP, '--job-index', '--out', join(dir, 'past')], { JOB_COMPLETION_INDEX: '2' });
    expect(past.code).toBe(2);
    expect(past.stderr).toContain('JOB_COMPLETION_INDEX: 2 is past the last of the 2 values of --param');
    const unset = await cli([...SWEEP, '--job-index', '--out', join(dir, 'past')], { JOB_COMPLETION_INDEX: '' });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('JOB_COMPLETION_INDEX is not set');
    const withParam = await cli(['sweep', '--merge', mixed, '--param', 'gpu-budget=1']);
    expect(withParam.code).toBe(2);
    expect(withParam.stderr).toContain('--merge: --param would change nothing');
  });
});
