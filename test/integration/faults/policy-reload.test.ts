/**
 * Fault: the policy file is replaced, in a running service, by an invalid one (a bad field, a YAML syntax error,
 * the file gone), the way Kubernetes updates a ConfigMap volume: a new `..<timestamp>` directory and an atomic
 * swap of the `..data` symlink that `policy.yaml` points through.
 * Must hold afterwards: the old policy stays in force (same decisions, no write, still ready), each bad version is
 * logged once with what is wrong and counted in pd_planner_errors_total{reason="policy-reload"}; the next valid
 * version is taken by the file watcher and the next tick acts on it, once.
 * A valid reload that changes a pool's gpusPerReplica keeps the planner state, read in the new replica size: the
 * scale-down window keeps the GPUs it held, not the count (planner/replica-sizes.ts).
 * (reloadPolicy() on a plain file: test/unit/service/single.test.ts.)
 */
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { dynamoAnswers, startFakePrometheus, waitFor, type FakePrometheus } from '../../fixtures/servers.js';
import { acceptedWrites, startRig, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let rig: Rig | undefined;
let prom: FakePrometheus | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  await prom?.close();
  api = rig = prom = undefined;
});

const policy = (prefill: string, extra = '') => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: reload-fault }
spec:
  interval: 60s
  failureThreshold: 2
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: ${prefill} } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
${extra}`;

/** The kubelet's ConfigMap volume layout: policy.yaml -> ..data/policy.yaml, ..data -> ..<version>. */
function configMapVolume() {
  let version = 0;
  let dir = '';
  const publish = (yaml: string | undefined) => {
    version += 1;
    const versionDir = join(dir, `..2026_11_25_10_00_0${version}`);
    mkdirSync(versionDir);
    if (yaml !== undefined) writeFileSync(join(versionDir, 'policy.yaml'), yaml);
    symlinkSync(`..2026_11_25_10_00_0${version}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  return {
    write(into: string, yaml: string): string {
      dir = into;
      publish(yaml);
      symlinkSync('..data/policy.yaml', join(dir, 'policy.yaml'));
      return join(dir, 'policy.yaml');
    },
    /** A new version of the ConfigMap; `undefined` = the key was removed from it. */
    publish,
  };
}

const prefill = (outcome: Awaited<ReturnType<Rig['tick']>>) => outcome.result!.decision.pools['prefill-od']!.desired;

describe('fault: policy file replaced by an invalid one', () => {
  it('keeps the old policy through a bad field, a YAML error and a missing key; takes the next valid one', async () => {
    api = await startFakeKubeApi({
      objects: llamaGraph({ prefill: 2 }),
      operator: { settle: true },
    });
    const volume = configMapVolume();
    rig = await startRig({
      api,
      policyYaml: policy('4'),
      writePolicy: (dir, yaml) => volume.write(dir, yaml),
      http: true,
      // The loop's timers never fire on their own: the test ticks by hand; start() only arms the file watcher.
      service: { watchPolicy: true, reloadDebounceMs: 20, scheduler: { setTimeout: () => undefined, clearTimeout: () => undefined } },
    });
    await rig.service.start();
    expect(prefill(await rig.tick())).toBe(4);
    expect(acceptedWrites(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 200']);

    const failures = () => rig!.log.lines.filter((l) => l.event === 'policy-reload-failed');
    const bad: { what: string; publish: () => void; problem: RegExp }[] = [
      { what: 'a bad field', publish: () => volume.publish(policy('-3').replace('maxReplicas: 8', 'maxReplicas: many')), problem: /spec\.pools(\[0\]|\.0)\.maxReplicas/ },
      { what: 'a YAML syntax error', publish: () => volume.publish(`${policy('5')}\n  pools: [ {`), problem: /yaml|YAML|line/ },
      { what: 'the key removed from the ConfigMap', publish: () => volume.publish(undefined), problem: /cannot read/ },
    ];
    for (const [i, b] of bad.entries()) {
      b.publish();
      await waitFor(() => failures().length === i + 1, 5_000, `the reload of ${b.what} to fail`, 20);
      const failed = failures()[i]!;
      expect(`${String(failed.msg)} ${JSON.stringify(failed.problems ?? [])}`, b.what).toMatch(b.problem);
      expect(failed.msg, b.what).toMatch(/keeping the current policy/);
      // The old policy is still in force: same decision, nothing new written, still ready.
      expect(rig.service.spec().static.replicas).toEqual({ 'prefill-od': 4 });
      const outcome = await rig.tick();
      expect(prefill(outcome), b.what).toBe(4);
      expect(outcome.ok, b.what).toBe(true);
      expect(await rig.probe('/readyz')).toBe(200);
    }
    expect(acceptedWrites(api)).toHaveLength(1);
    const metrics = await (await fetch(`${rig.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^pd_planner_errors_total\{reason="policy-reload"\} 3$/m);

    // A valid version: taken by the watcher, and the next tick acts on it once.
    volume.publish(policy('5'));
    await waitFor(() => rig!.service.spec().static.replicas['prefill-od'] === 5, 5_000, 'the valid policy to be taken', 20);
    expect(prefill(await rig.tick())).toBe(5);
    expect(acceptedWrites(api)).toEqual(['PATCH llama-vllmprefillworker/scale {"spec":{"replicas":4}} -> 200', 'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":5}} -> 200']);
    expect(rig.log.lines.filter((l) => l.event === 'policy-reloaded')).toHaveLength(1);
  });
});

describe('policy reloaded with another replica size', () => {
  // The request count is read (a static policy sizes without it, but while it is unknown no pool goes below what runs).
  const sized = (gpusPerReplica: number, replicas: number) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: reload-sizes }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: ${replicas} } }
  limits: { maxStepUp: 8, maxStepDown: 8 }
  sources:
    prometheus: { url: ${prom!.url}, timeout: 2s }
  pools:
    - { name: prefill-od, role: prefill, gpusPerReplica: ${gpusPerReplica}, minReplicas: 1, maxReplicas: 16, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
`;

  it('4 -> 8 GPUs per replica: the scale-down window keeps the 24 GPUs it held (3 replicas), not 6 replicas (48 GPUs)', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2 }), operator: { settle: true } });
    prom = await startFakePrometheus(dynamoAnswers({ requests: 600, isl: 3000, osl: 150, ttftSeconds: 0.4, itlSeconds: 0.03, durationSeconds: 5, ttftQuantileSeconds: 0.6, itlQuantileSeconds: 0.04 }));
    rig = await startRig({ api, policyYaml: sized(4, 6) });
    // Two ticks at 6 replicas of 4 GPUs: the 300 s scale-down window holds 6 (24 GPUs).
    expect(prefill(await rig.tick())).toBe(6);
    expect(prefill(await rig.tick())).toBe(6);
    // The graph now runs 8-GPU replicas and needs only one: the window keeps the 24 GPUs, 3 replicas of 8.
    writeFileSync(rig.policyPath, sized(8, 1));
    expect(rig.service.reloadPolicy()).toBe(true);
    const outcome = await rig.tick();
    expect(outcome.result!.decision.pools['prefill-od']).toMatchObject({ desired: 3, gpus: 24 });
    expect(outcome.result!.decision.explanation.constraints.find((e) => e.constraint === 'stabilization')?.detail).toBe(
      'prefill-od: highest recommendation in the last 300s was 3; scale-down from 3 to 1 deferred',
    );
    expect(acceptedWrites(api)).toEqual([
      'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":6}} -> 200',
      'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":3}} -> 200',
    ]);
  });
});
