/**
 * Fault: a cold start (no planner state) while Prometheus is down and the API server fails the first reads of the
 * graph (five 500s on its GET: every try of the observation's read), with pools whose minimum is 0 and 5 replicas
 * running each. Nothing the decision needs is known.
 * Must hold afterwards: no PATCH below the running count, ever (the one write that would take the model offline);
 * the tick fails (so `run --once` exits 1 and /readyz counts it); the result lines say why nothing was written.
 * Also: a human scaled the graph up after the planner's last decision, then the reads fail: the held decision
 * (the last count known) is not written below what the graph holds now.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../../fixtures/cli.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { dgdsa, llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { freePort } from '../../fixtures/servers.js';
import { startRig, writes, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let rig: Rig | undefined;
let dir: string | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = rig = dir = undefined;
});

const RUNNING = 5;

const policy = (promUrl: string, body = '  policy: sla') => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: cold }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
${body}
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 0, maxReplicas: 16, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
    - { name: decode-od, role: decode, minReplicas: 0, maxReplicas: 16, target: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } }
  sources:
    prometheus: { url: ${promUrl}, timeout: 500ms }
`;

/** Every write to a Dynamo object with its replica count; a count below the running one fails the test. */
function patchedCounts(fake: FakeKubeApi): { write: string; replicas: number | undefined }[] {
  return fake.requests
    .filter((r) => r.method !== 'GET' && r.group === 'nvidia.com')
    .map((r) => {
      const text = JSON.stringify(r.body);
      const match = /"(?:replicas|value)":(\d+)/.exec(text);
      return { write: `${r.method} ${r.path} ${text}`, replicas: match ? Number(match[1]) : undefined };
    });
}

function expectNothingBelowRunning(fake: FakeKubeApi): void {
  for (const { write, replicas } of patchedCounts(fake)) expect(replicas, `a write below the ${RUNNING} running: ${write}`).toBeGreaterThanOrEqual(RUNNING);
}

const GRAPH_GET = { path: '**/dynamographdeployments/llama', method: 'GET', fault: 500 as const, times: 5 };

describe('fault: cold start with Prometheus down and the graph reads failing', () => {
  it('the service writes nothing: both pools are unknown (writable: false), the tick fails', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: RUNNING, decode: RUNNING }), operator: { settle: true } });
    api.inject(GRAPH_GET);
    rig = await startRig({ api, policyYaml: policy(`http://127.0.0.1:${await freePort()}`) });
    const outcome = await rig.tick();
    expect(outcome.ok).toBe(false);
    const { observation, decision, apply } = outcome.result!;
    expect(observation.requests).toBeUndefined();
    expect(observation.errors?.targets).toMatch(/HTTP 500.*gave up after 5 attempts/);
    expect(decision.explanation.unknown).toEqual(['the request count', 'the current count of prefill-od, decode-od']);
    for (const pool of ['prefill-od', 'decode-od']) {
      expect(decision.pools[pool]).toMatchObject({ hold: true, writable: false });
      expect(apply.pools[pool]).toMatch(/^not written: nothing is known of this pool's count/);
    }
    expect(writes(api)).toEqual([]);
    // The graph was not even read for the write: nothing was to be written.
    expect(api.requests.filter((r) => r.method === 'GET' && r.name === 'llama')).toHaveLength(5);

    // The API server answers again, Prometheus is still down: the counts are known, the decision holds them.
    const next = await rig.tick();
    expect(Object.fromEntries(Object.entries(next.result!.decision.pools).map(([p, d]) => [p, d.desired]))).toEqual({ 'prefill-od': RUNNING, 'decode-od': RUNNING });
    expect(writes(api)).toEqual([]);
  });

  it('`run --once` as a process: no PATCH below the running count, exit 1 naming what was missing', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: RUNNING, decode: RUNNING }), operator: { settle: true } });
    // Lists and gets of graphs both fail, five times: the informers' first list and the reader's tries share them.
    api.inject({ path: /\/dynamographdeployments(\/llama)?$/, method: 'GET', fault: 500, times: 5 });
    dir = mkdtempSync(join(tmpdir(), 'pd-cold-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, policy(`http://127.0.0.1:${await freePort()}`));
    const { code, stdout, stderr } = await runCli(['run', '--policy', path, '--once', '--kubeconfig', api.kubeconfigPath]);
    expectNothingBelowRunning(api);
    expect(patchedCounts(api)).toEqual([]);
    expect(code).toBe(1);
    // One line for the source every query failed on, naming the fields it left unknown.
    expect(stderr).toMatch(/^pd-planner run --once: the tick failed: prometheus http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query (refused the connection|could not be reached)[^\n]*: requests, isl, osl, [^\n]* unknown this tick/);
    const tick = jsonLines(stdout).find((l) => l.event === 'tick') as { desired: Record<string, number>; apply: { pools: Record<string, string> } };
    for (const pool of ['prefill-od', 'decode-od']) {
      // Whichever read failed (graph or none), the count written is never below the 5 running.
      expect(tick.apply.pools[pool]).toMatch(/^(not written: nothing is known|held at 5: the decision was a hold|unchanged \(5\))/);
    }
  }, 60_000);

  it('a human scaled the graph up after the last decision, then the reads fail: the held count is not written below it', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 2, decode: 2 }), operator: { settle: true } });
    rig = await startRig({ api, policyYaml: policy('http://127.0.0.1:1', '  policy: static\n  static: { replicas: { prefill-od: 2, decode-od: 2 } }') });
    const first = await rig.tick();
    expect(first.result!.apply.pools).toEqual({ 'prefill-od': 'unchanged (2)', 'decode-od': 'unchanged (2)' });
    // kubectl scale: the adapter (and through it the graph) goes to 5.
    api.put(dgdsa('v1beta1', 'llama', 'VllmPrefillWorker', RUNNING));
    api.inject(GRAPH_GET);
    const held = await rig.tick();
    const decision = held.result!.decision;
    expect(decision.explanation.unknown).toEqual(['the request count', 'the current count of prefill-od, decode-od']);
    expect(decision.pools['prefill-od']).toMatchObject({ desired: 2, hold: true });
    expect(decision.pools['prefill-od']!.writable).toBeUndefined();
    expect(held.result!.apply.pools['prefill-od']).toBe(
      'held at 5: the decision was a hold (the request count; the current count of prefill-od, decode-od unknown) and 2 is below the 5 set now; not written',
    );
    expect(held.result!.apply.pools['decode-od']).toBe('unchanged (2)');
    expect(writes(api)).toEqual([]);
    expect(rig.log.raw()).toContain('the decision was a hold; not writing 2, below the 5 set now');
  });
});
