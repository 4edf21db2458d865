/**
 * Fault: Prometheus answers, but with values that are not counts: "" and "   " (which Number() reads as 0, an idle
 * window), "0x10" (16 to Number()), "-5"; answers of 10 MB per query; a request count of 1e13.
 * Must hold:
 *   - a value that is not a finite decimal number >= 0 is missing, with the reason (naming the query) in `errors`:
 *     the decision holds (no write), the error counts in pd_planner_errors_total{reason="metrics"}, /readyz turns 503
 *     after failureThreshold such ticks, and `run --once` exits 1 naming it;
 *   - an answer over the 1 MB cap is refused unread past the cap: 14 queries of 10 MB each leave the process's peak
 *     RSS within 64 MB of a run with normal answers (the pod's limit in deploy/ is 256 MiB);
 *   - 1e13 requests: decide returns (bounded work): the need is capped at maxReplicas, each pool grows by the step
 *     limit, and the tick applies it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { startFakePrometheus, type FakeAnswer, type FakePrometheus } from '../../fixtures/servers.js';
import { acceptedWrites, BUSY, promPolicy, startRig, writes, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let rig: Rig | undefined;
let dir: string | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  await prom?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = prom = rig = dir = undefined;
});

const isRequestCount = (q: string) => q.includes('requests_total') && !q.includes('rate(');

const policy = (promUrl: string) => promPolicy('prom-values', promUrl, { timeout: '5s', failureThreshold: 2 });

async function setup(answer: (q: string) => FakeAnswer): Promise<Rig> {
  api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 6, decode: 3 }), operator: { settle: true } });
  prom = await startFakePrometheus(answer);
  rig = await startRig({ api, policyYaml: policy(prom.url), http: true });
  return rig;
}

const metricsErrors = async (r: Rig) => Number(/^pd_planner_errors_total\{reason="metrics"\} (\d+)$/m.exec(await r.metrics.registry.metrics())?.[1] ?? Number.NaN);

const INVALID: { value: string; says: string }[] = [
  { value: '', says: 'returned "", which is not a decimal number' },
  { value: '   ', says: 'returned "   ", which is not a decimal number' },
  { value: '0x10', says: 'returned "0x10", which is not a decimal number' },
  { value: '-5', says: 'returned -5, below 0, which no count, length, latency or usage can be' },
];

describe('fault: Prometheus answers a request count that is not a count', () => {
  for (const { value, says } of INVALID) {
    it(`${JSON.stringify(value)}: held with no write (6 prefill stay 6), counted as a metrics error, not ready after 2 ticks`, async () => {
      const r = await setup((q) => (isRequestCount(q) ? { value } : BUSY(q)));
      for (let n = 1; n <= 2; n += 1) {
        const outcome = await r.tick();
        expect(outcome.ok).toBe(false);
        const { observation, decision } = outcome.result!;
        expect(observation.requests).toBeUndefined();
        expect(observation.errors?.requests).toContain(says);
        expect(observation.errors?.requests).toContain('for query `sum(increase(dynamo_frontend_requests_total{}[60s]))`');
        expect(decision.explanation.unknown).toEqual(['the request count']);
        expect(decision.pools['prefill-od']).toMatchObject({ desired: 6, hold: true });
        expect(writes(api!)).toEqual([]);
        expect(await metricsErrors(r)).toBe(n);
        expect(await r.probe('/readyz')).toBe(n < 2 ? 200 : 503);
      }
      // A real count again: decided from data and written.
      prom!.answer = BUSY;
      const good = await r.tick();
      expect(good.ok).toBe(true);
      expect(acceptedWrites(api!).length).toBeGreaterThanOrEqual(1);
      expect(await r.probe('/readyz')).toBe(200);
    });
  }

  it('`run --once` with "" for the request count: nothing written, exit 1 naming the query', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 6, decode: 3 }), operator: { settle: true } });
    prom = await startFakePrometheus((q) => (isRequestCount(q) ? { value: '' } : BUSY(q)));
    dir = mkdtempSync(join(tmpdir(), 'pd-values-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, policy(prom.url));
    const { code, stderr } = await runWithPeakRss(['run', '--policy', path, '--once', '--kubeconfig', api.kubeconfigPath]);
    expect(code).toBe(1);
    expect(stderr).toContain('pd-planner run --once: the tick failed: requests: prometheus');
    expect(stderr).toContain('returned "", which is not a decimal number for query `sum(increase(dynamo_frontend_requests_total{}[60s]))`');
    expect(writes(api)).toEqual([]);
  }, 60_000);

  it('1e13 requests: decide returns (bounded work), the need capped at maxReplicas, each pool grown by the step limit and applied', async () => {
    const r = await setup((q) => (isRequestCount(q) ? { value: '1e13' } : BUSY(q)));
    const outcome = await r.tick();
    expect(outcome.ok).toBe(true);
    expect(outcome.result!.observation.requests).toBe(1e13);
    const decision = outcome.result!.decision;
    expect(decision.explanation.held).toBe(false);
    // Billions of replicas needed: capped at the pools' 16, then at most 8 more than what runs (6 and 3) per tick.
    expect(decision.explanation.need.prefill!.replicas).toBeGreaterThan(1e9);
    expect(decision.explanation.constraints.filter((c) => c.constraint === 'max').map((c) => c.to)).toEqual([16, 16]);
    expect(Object.fromEntries(Object.entries(decision.pools).map(([p, d]) => [p, d.desired]))).toEqual({ 'prefill-od': 14, 'decode-od': 11 });
    expect(acceptedWrites(api!).sort()).toEqual([
      'PATCH llama-vllmdecodeworker/scale {"spec":{"replicas":11}} -> 200',
      'PATCH llama-vllmprefillworker/scale {"spec":{"replicas":14}} -> 200',
    ]);
    // And the next tick reaches the cap.
    await r.tick();
    expect(acceptedWrites(api!)).toContain('PATCH llama-vllmprefillworker/scale {"spec":{"replicas":16}} -> 200');
  });
});

const PEAK_RSS = fileURLToPath(new URL('../../fixtures/peak-rss.mjs', import.meta.url));

/** `pd-planner <args>` in a child that reports its peak RSS (KB) at exit. */
function runWithPeakRss(args: string[]): Promise<{ code: number | null; stderr: string; peakRssKb: number }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PEAK_RSS, ...args], { env: { ...process.env, KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' } });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr, peakRssKb: Number(/peak-rss-kb (\d+)\s*$/.exec(stderr)?.[1] ?? Number.NaN) }));
  });
}

describe('fault: Prometheus answers 10 MB per query', () => {
  it('every query refused at the 1 MB cap with a message naming it; peak RSS within 64 MB of a normal run', async () => {
    api = await startFakeKubeApi({ objects: llamaGraph({ prefill: 6, decode: 3 }), operator: { settle: true } });
    prom = await startFakePrometheus(BUSY);
    dir = mkdtempSync(join(tmpdir(), 'pd-huge-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, policy(prom.url));
    const args = ['run', '--policy', path, '--once', '--dry-run', '--kubeconfig', api.kubeconfigPath];

    const normal = await runWithPeakRss(args);
    expect(normal.code, normal.stderr).toBe(0);

    prom.answer = () => ({ bytes: 10 * 1024 * 1024 });
    prom.received.length = 0;
    const huge = await runWithPeakRss(args);
    expect(prom.received).toHaveLength(14);
    expect(huge.code).toBe(1);
    const refused = huge.stderr.match(/answered more than 1 MB for query `[^`]+` \(read no further\)/g) ?? [];
    expect(refused).toHaveLength(14);
    expect(huge.stderr).toContain('requests: prometheus');
    // Buffered whole, 14 x 10 MB of JSON would add well over 140 MB (the text, then its parse).
    const extraMb = (huge.peakRssKb - normal.peakRssKb) / 1024;
    process.stdout.write(`10 MB answers: peak RSS ${Math.round(normal.peakRssKb / 1024)} MB with normal answers, ${Math.round(huge.peakRssKb / 1024)} MB with 10 MB ones\n`);
    expect(extraMb, `peak RSS ${Math.round(normal.peakRssKb / 1024)} MB normal, ${Math.round(huge.peakRssKb / 1024)} MB with 10 MB answers`).toBeLessThan(64);
  }, 120_000);
});
