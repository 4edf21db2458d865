/**
 * Fault: Prometheus down, slow, answering 503, NaN or an empty vector for N ticks, or throttling (429 with Retry-After).
 * Must hold afterwards: the replicas are held (no PATCH is sent, the decision says why), /readyz turns 503 after
 * failureThreshold failed ticks, and the first good tick patches once and makes /readyz 200 again, with no restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { freePort, startFakePrometheus, type FakeAnswer, type FakePrometheus } from '../../fixtures/servers.js';
import { acceptedWrites, BUSY, promPolicy, startRig, writes, type Rig } from './rig.js';

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  await api?.close();
  await prom?.close();
  api = prom = rig = undefined;
});


const policy = (promUrl: string) => promPolicy('prom-fault', promUrl, { timeout: '300ms', failureThreshold: 3 });

async function setup(promUrl: (fake: FakePrometheus) => string = (f) => f.url): Promise<Rig> {
  api = await startFakeKubeApi({
    objects: llamaGraph({ prefill: 4, decode: 3 }),
    operator: { settle: true },
  });
  prom = await startFakePrometheus(BUSY);
  rig = await startRig({ api, policyYaml: policy(promUrl(prom)), http: true });
  return rig;
}

const requestsQuery = (q: string) => q.includes('requests_total');

/**
 * A tick decided from data after the outage: the prefill pool (4 held) grows and is written once, the decode pool
 * (3 held) only if it changed, and no write is refused or repeated.
 */
function expectDecidedAndWrittenOnce(tick: Awaited<ReturnType<Rig['tick']>>): void {
  expect(tick.ok).toBe(true);
  expect(tick.result!.decision.explanation.held).toBe(false);
  const prefill = tick.result!.decision.pools['prefill-od']!.desired;
  const decode = tick.result!.decision.pools['decode-od']!.desired;
  expect(prefill).toBeGreaterThan(4);
  expect(acceptedWrites(api!).sort()).toEqual(
    [
      `PATCH llama-vllmprefillworker/scale {"spec":{"replicas":${prefill}}} -> 200`,
      ...(decode !== 3 ? [`PATCH llama-vllmdecodeworker/scale {"spec":{"replicas":${decode}}} -> 200`] : []),
    ].sort(),
  );
  expect(writes(api!)).toHaveLength(acceptedWrites(api!).length);
}

/** Each fault as the fake Prometheus (or its absence) shows it, and the words the held decision must carry. */
const FAULTS: { name: string; answer: (q: string) => FakeAnswer; reason: RegExp }[] = [
  { name: 'HTTP 503', answer: () => ({ status: 503, body: '{"status":"error","errorType":"unavailable","error":"tsdb not ready"}' }), reason: /answered HTTP 503 \(unavailable: tsdb not ready\)/ },
  { name: 'slow (past the 300 ms timeout)', answer: (q) => ({ delayMs: 800, then: BUSY(q) }), reason: /timed out after 0\.3s|did not answer within/ },
  { name: 'NaN for the request count', answer: (q) => (requestsQuery(q) ? 'NaN' : BUSY(q)), reason: /returned NaN/ },
  { name: 'an empty vector for the request count', answer: (q) => (requestsQuery(q) ? { empty: true } : BUSY(q)), reason: /returned an empty result/ },
];

describe('fault: Prometheus outage for N ticks', () => {
  for (const fault of FAULTS) {
    it(`${fault.name}: replicas held with no write, not ready after 3 ticks, one patch on recovery`, async () => {
      const r = await setup();
      prom!.answer = fault.answer;
      for (let n = 1; n <= 3; n += 1) {
        const outcome = await r.tick();
        expect(outcome.ok).toBe(false);
        const decision = outcome.result!.decision;
        expect(decision.explanation.held).toBe(true);
        expect(decision.explanation.holdReason).toMatch(fault.reason);
        // Held at what runs: 4 prefill / 3 decode; nothing is written.
        expect(Object.fromEntries(Object.entries(decision.pools).map(([p, d]) => [p, d.desired]))).toEqual({ 'prefill-od': 4, 'decode-od': 3 });
        expect(writes(api!)).toEqual([]);
        // Ready until the 3rd failure in a row (failureThreshold 3).
        expect(await r.probe('/readyz')).toBe(n < 3 ? 200 : 503);
        expect(await r.probe('/healthz')).toBe(200);
      }
      // Prometheus recovers: the very next tick decides from data, patches each changed pool once, and is ready.
      prom!.answer = BUSY;
      expectDecidedAndWrittenOnce(await r.tick());
      expect(await r.probe('/readyz')).toBe(200);
      expect(r.log.events()).toContain('not-ready');
      expect(r.log.lines.filter((l) => l.event === 'ready')).toHaveLength(1);
    });
  }

  it('Prometheus not listening at all (connection refused): held, not ready after 3, recovers when it comes up on that address', async () => {
    const port = await freePort();
    const r = await setup(() => `http://127.0.0.1:${port}`);
    for (let n = 1; n <= 3; n += 1) {
      const outcome = await r.tick();
      expect(outcome.result!.decision.explanation.holdReason).toContain(`prometheus http://127.0.0.1:${port}/api/v1/query refused the connection`);
    }
    expect(writes(api!)).toEqual([]);
    expect(await r.probe('/readyz')).toBe(503);
    expect(await (await fetch(`${r.baseUrl}/readyz`)).text()).toContain('3 failed ticks in a row (threshold 3)');
    // Prometheus starts on the configured address: the service needs no restart and no reload.
    const { createServer } = await import('node:http');
    const proxy = createServer((req, res) => {
      void fetch(`${prom!.url}${req.url}`).then(async (upstream) => res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text()));
    });
    await new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve));
    try {
      const good = await r.tick();
      expect(good.ok).toBe(true);
      expect(acceptedWrites(api!).length).toBeGreaterThanOrEqual(1);
      expect(await r.probe('/readyz')).toBe(200);
    } finally {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('throttled (429, Retry-After: 120): held without asking again until 120 s have passed, then one patch', async () => {
    const r = await setup();
    prom!.answer = () => ({ status: 429, body: 'rate limit exceeded', headers: { 'retry-after': '120' } });
    const first = await r.tick();
    expect(first.result!.decision.explanation.held).toBe(true);
    expect(first.result!.decision.explanation.holdReason).toMatch(/answered HTTP 429 \(rate limit exceeded\) and asked to retry after 120 s: not queried again before 2026-11-25T10:02:00\.000Z/);
    expect(first.result!.observation.requests).toBeUndefined();
    expect(prom!.received).toHaveLength(14);
    // The 14 errors differ only in their query: one warning names the endpoint, the delay and the fields.
    const warnings = r.log.lines.filter((l) => l.event === 'source-error');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/asked to retry after 120 s: not queried again before 2026-11-25T10:02:00\.000Z; if it keeps asking, raise the query rate limit it applies to the planner or lengthen spec\.interval: requests, isl, .* and 8 more unknown this tick$/);

    // 10:01: the server would answer now, but it asked for 10:02; nothing is sent, the tick holds again.
    prom!.answer = BUSY;
    const second = await r.tick();
    expect(prom!.received).toHaveLength(14);
    expect(second.result!.decision.explanation.held).toBe(true);
    expect(second.result!.decision.explanation.holdReason).toMatch(/asked to retry after 120 s \(HTTP 429 at 2026-11-25T10:00:00\.000Z\): not queried before 2026-11-25T10:02:00\.000Z, 60 s from now/);
    expect(Object.fromEntries(Object.entries(second.result!.decision.pools).map(([p, d]) => [p, d.desired]))).toEqual({ 'prefill-od': 4, 'decode-od': 3 });
    expect(writes(api!)).toEqual([]);
    expect(await r.probe('/readyz')).toBe(200);

    // 10:02: asked again, decided from data and written.
    const third = await r.tick();
    expect(prom!.received).toHaveLength(28);
    expectDecidedAndWrittenOnce(third);
  });

  it('a Prometheus that is down while the request count is 0 is not mistaken for an idle window (no scale-down)', async () => {
    const r = await setup();
    // Zero traffic for real: the sla policy may scale down (to the minimums, subject to stabilization).
    // A failed read of the same counter must not: the decision is a hold, not 0 requests.
    prom!.answer = () => ({ status: 500, body: 'boom' });
    const outcome = await r.tick();
    expect(outcome.result!.observation.requests).toBeUndefined();
    expect(outcome.result!.decision.explanation.held).toBe(true);
    expect(outcome.result!.decision.pools['prefill-od']!.desired).toBe(4);
    expect(writes(api!)).toEqual([]);
  });
});
