/**
 * No secret is ever logged: the planner is run exactly as `pd-planner run` runs it (runPlanner, the real wiring of
 * sources, connector, kube-state and leader election), with
 *   - a kubeconfig whose user has a bearer token,
 *   - a Prometheus URL carrying basic-auth credentials (user:password@host),
 *   - a NATS URL carrying a token (nats://token@host),
 * through ticks full of errors (NATS unreachable, API server faults), at debug level. Every byte of log output,
 * and the /readyz and /metrics bodies, must be free of the three secrets (and of their base64 forms).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runPlanner, type RunOptions } from '../../../src/service/run.js';
import { createLogger, redactUrlCredentials } from '../../../src/log.js';
import { splitUrlCredentials } from '../../../src/sources/prometheus.js';
import type { MultiPlannerService } from '../../../src/service/loop.js';
import { startFakeKubeApi, type FakeKubeApi } from '../../fixtures/fake-kube-api/index.js';
import { llamaGraph } from '../../fixtures/fake-kube-api/objects.js';
import { dynamoAnswers, freePort, startFakePrometheus, waitFor, type FakePrometheus } from '../../fixtures/servers.js';

const KUBE_TOKEN = 'kube-sa-token-Zx81qQ';
const PROM_USER = 'grafana-reader';
const PROM_PASSWORD = 'prom-pw-Hk29vB';
const NATS_TOKEN = 'nats-tok-Pq73mW';
const SECRETS = [KUBE_TOKEN, PROM_PASSWORD, NATS_TOKEN, Buffer.from(`${PROM_USER}:${PROM_PASSWORD}`).toString('base64')];

let api: FakeKubeApi | undefined;
let prom: FakePrometheus | undefined;
let dir: string | undefined;
afterEach(async () => {
  await api?.close();
  await prom?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  api = prom = dir = undefined;
});

async function setup(): Promise<{ policyPath: string; kubeconfig: string; output: string[]; logger: ReturnType<typeof createLogger> }> {
  api = await startFakeKubeApi({
    objects: llamaGraph({ prefill: 2, decode: 2 }),
  });
  const answers = dynamoAnswers({ requests: 600, isl: 2000, osl: 150, ttftSeconds: 0.3, itlSeconds: 0.03, durationSeconds: 4 });
  // The ITL percentiles come back empty: an error that quotes the Prometheus endpoint reaches the log.
  prom = await startFakePrometheus((q) => (q.includes('histogram_quantile') && q.includes('inter_token') ? { empty: true } : answers(q)));
  dir = mkdtempSync(join(tmpdir(), 'pd-redact-'));
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: KUBE_TOKEN } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u', namespace: 'default' } }],
      'current-context': 'c',
    }),
  );
  const promUrl = prom.url.replace('http://', `http://${PROM_USER}:${PROM_PASSWORD}@`);
  const natsUrl = `nats://${NATS_TOKEN}@127.0.0.1:${await freePort()}`;
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(
    policyPath,
    `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: redact }
spec:
  interval: 1s
  failureThreshold: 1
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: sla
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmPrefillWorker } }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 8, target: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } }
  sources:
    prometheus: { url: ${promUrl}, timeout: 1s }
    queue: { nats: ${natsUrl}, stream: prefill, timeout: 300ms }
`,
  );
  const output: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void output.push(s) } });
  return { policyPath, kubeconfig, output, logger };
}

const OPTIONS = { metricsPort: 0, connector: 'kubernetes', leaseDuration: 3, renewDeadline: 2, retryPeriod: 0.5 } as const;

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) expect(text.includes(secret), `${where} contains the secret "${secret}"`).toBe(false);
  expect(text, where).not.toMatch(/bearer\s+(?!\[redacted\])[A-Za-z0-9]/i);
}

describe('URL credentials', () => {
  it('splitUrlCredentials: strips user:password from the URL into a Basic header', () => {
    expect(splitUrlCredentials('http://reader:s3cret@prom:9090')).toEqual({ url: 'http://prom:9090', authorization: 'Basic cmVhZGVyOnMzY3JldA==' });
    expect(splitUrlCredentials('http://prom:9090/prometheus/')).toEqual({ url: 'http://prom:9090/prometheus/' });
    // Percent-encoded characters in the password are decoded before encoding the header: "p@ss" -> cmVhZGVyOnBAc3M=.
    expect(splitUrlCredentials('https://reader:p%40ss@prom.example/x')).toEqual({ url: 'https://prom.example/x', authorization: 'Basic cmVhZGVyOnBAc3M=' });
  });

  it('redactUrlCredentials: masks the userinfo of any URL in a text, leaves the rest', () => {
    expect(redactUrlCredentials('nats nats://tok123@nats:4222 stream "p": refused; see http://u:p@prom:9090/api/v1/query')).toBe(
      'nats nats://[redacted]@nats:4222 stream "p": refused; see http://[redacted]@prom:9090/api/v1/query',
    );
    expect(redactUrlCredentials('mail me at ops@example.com; http://prom:9090')).toBe('mail me at ops@example.com; http://prom:9090');
  });
});

describe('security: no secret or token is ever logged', () => {
  it('pd-planner run --once with failing sources and API server faults', async () => {
    const { policyPath, kubeconfig, output, logger } = await setup();
    // Two 500s: the connector logs its backoff warnings (with the server's message), then the write lands.
    api!.inject({ path: '**/scale', method: 'PATCH', fault: 500, times: 2 });
    const code = await runPlanner({ ...OPTIONS, policy: policyPath, kubeconfig, once: true } as RunOptions, { logger, handleSignals: false });
    // The sources reported errors: the tick failed, as it would count towards not-ready in the loop.
    expect(code).toBe(1);
    const text = output.join('');
    // The tick really ran into errors from every side, so the error paths were logged.
    expect(text).toContain('"event":"tick"');
    expect(text).toMatch(/queueDepth/);
    expect(text).toMatch(/HTTP 500/);
    // Prometheus was actually read, through the URL with credentials (sent as a Basic header, not in the URL).
    expect(prom!.received.length).toBeGreaterThan(0);
    expect(text).toMatch(/prometheus http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query returned an empty result/);
    expect(text).toContain(`nats://[redacted]@127.0.0.1`);
    expectNoSecret(text, 'the log');
  }, 30_000);

  it('the long-running service: lease, ticks with errors, /readyz and /metrics, shutdown', async () => {
    const { policyPath, kubeconfig, output, logger } = await setup();
    api!.inject({ path: '**/leases/**', fault: 500, times: 2 });
    let service: MultiPlannerService | undefined;
    // A start-up failure must fail the test, not hang it.
    const done = runPlanner({ ...OPTIONS, policy: policyPath, kubeconfig } as RunOptions, { logger, handleSignals: false, onStarted: (s) => (service = s) });
    let failed: unknown;
    done.catch((error: unknown) => (failed = error));
    await waitFor(() => failed !== undefined || (service?.status().policies[0]?.ticks ?? 0) >= 2, 20_000, 'two ticks', 50);
    expect(failed).toBeUndefined();
    const base = `http://127.0.0.1:${service!.port()}`;
    const readyz = await (await fetch(`${base}/readyz`)).text();
    const metrics = await (await fetch(`${base}/metrics`)).text();
    await service!.stop('test done');
    expect(await done).toBe(0);
    const text = output.join('');
    expect(readyz).toMatch(/failed ticks in a row|last tick failed/);
    expectNoSecret(text, 'the log');
    expectNoSecret(readyz, '/readyz');
    expectNoSecret(metrics, '/metrics');
  }, 30_000);
});
