import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import { createPlannerMetrics } from '../../../src/service/exporter.js';
import type { LeaderElector } from '../../../src/service/leader.js';
import type { Connector, MetricSource } from '../../../src/planner/ports.js';
import { toLoadedPlan, type LoadedPlan } from '../../../src/service/plan.js';
import { createPlannerService, type PlannerService } from '../../fixtures/single-policy-service.js';
import type { TickResult, runTick } from '../../../src/planner/tick.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { manualTime } from '../../fixtures/manual-time.js';

function logSink() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  return { logger, lines, events: () => lines.map((l) => l.event) };
}

const POLICY = (interval: string, extra = '') => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: svc-test }
spec:
  interval: ${interval}
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  failureThreshold: 2
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 4 }
    - { name: decode-od, role: decode, minReplicas: 1, maxReplicas: 4 }
${extra}`;

let dir: string;
let service: PlannerService | undefined;
afterEach(async () => {
  await service?.stop('test done');
  service = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function writePolicy(text: string): string {
  const path = join(dir, 'policy.yaml');
  writeFileSync(path, text);
  return path;
}

const load = (path: string): LoadedPlan => toLoadedPlan(loadPolicyFile(path), loadProfile);

/** A tick whose end the test controls, returning a fixed good or failing result. */
function controllableTick() {
  const calls: { release: (r: Partial<Observation>) => void; reject: (e: Error) => void }[] = [];
  const tick: typeof runTick = (ctx, ports) =>
    new Promise<TickResult>((resolve, reject) => {
      calls.push({
        release: (obs) =>
          resolve({
            observation: { time: new Date(ports.clock.now()).toISOString(), ...obs },
            decision: {
              time: new Date(ports.clock.now()).toISOString(),
              pools: { 'prefill-od': { desired: 2, role: 'prefill', capacity: 'on-demand', gpus: 2, boundBy: [] } },
              explanation: { policy: ctx.spec.policy, held: false, need: {}, constraints: [], warnings: [], missing: {} },
            },
            state: ctx.state,
            apply: { pools: { 'prefill-od': 'unchanged' }, errors: {} },
          }),
        reject,
      });
    });
  return { tick, calls };
}

const noSource: MetricSource = { observe: async (now) => ({ time: new Date(now).toISOString() }) };
const noConnector: Connector = { apply: async () => ({ pools: {}, errors: {} }) };

function makeService(extra: Partial<Parameters<typeof createPlannerService>[0]> = {}, interval = '60s') {
  dir = mkdtempSync(join(tmpdir(), 'pd-svc-'));
  const path = writePolicy(POLICY(interval));
  const time = manualTime({ order: 'set' });
  const sink = logSink();
  const ticks = controllableTick();
  service = createPlannerService(
    {
      policyPath: path,
      loadPolicy: load,
      source: noSource,
      connector: noConnector,
      logger: sink.logger,
      clock: time.clock,
      scheduler: time.scheduler,
      metrics: createPlannerMetrics({ defaultMetrics: false }),
      watchPolicy: false,
      // Ticks left hanging by a test are abandoned quickly at afterEach's stop().
      shutdownGraceSeconds: 0.05,
      tick: ticks.tick,
      ...extra,
    },
    load(path),
  );
  return { service, time, sink, ticks, path };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('planner service loop', () => {
  it('never overlaps ticks: an overrunning tick delays the next one, which then starts at once', async () => {
    const { service, time, sink, ticks } = makeService();
    await service.start();
    expect(ticks.calls).toHaveLength(1);
    // Three intervals pass while tick 1 is still running: no timer is armed, no second tick starts.
    time.advance(180);
    expect(time.timers).toHaveLength(0);
    void service.runOnce();
    expect(ticks.calls).toHaveLength(1);
    ticks.calls[0]!.release({ requests: 10 });
    await settle();
    // Overran by 120 s: next tick due now, and the overrun is logged.
    expect(time.timers.map((t) => t.delay)).toEqual([0]);
    const overrun = sink.lines.find((l) => l.event === 'tick-overrun');
    expect(overrun?.overrunSeconds).toBe(120);
    time.fireNext();
    expect(ticks.calls).toHaveLength(2);
    // Tick 2 takes 5 s: the next is due 55 s after it ends (60 s after it started).
    time.advance(5);
    ticks.calls[1]!.release({ requests: 10 });
    await settle();
    expect(time.timers.map((t) => t.delay)).toEqual([55_000]);
    expect(service.status().ticks).toBe(2);
  });

  it('logs the decision for each tick at info, and its explanation at debug', async () => {
    const { service, sink, ticks } = makeService();
    await service.start();
    ticks.calls[0]!.release({ requests: 720 });
    await settle();
    const line = sink.lines.find((l) => l.event === 'tick')!;
    expect(line.level).toBe('info');
    expect(line.msg).toBe('tick: prefill-od=2');
    expect(line.desired).toEqual({ 'prefill-od': 2 });
    expect(line.outcome).toBe('scaled');
    expect(line.held).toBe(false);
    expect(line.explanation).toBeUndefined();
    expect((line.observation as Observation).requests).toBe(720);
    const detail = sink.lines.find((l) => l.event === 'tick-detail')!;
    expect(detail.level).toBe('debug');
    expect((detail.explanation as { policy: string }).policy).toBe('static');
    expect(sink.lines.filter((l) => l.level === 'warn')).toEqual([]);
  });

  it('a source that cannot be read is one warning naming the fields it left unknown; the tick line stays short', async () => {
    const { service, sink, ticks } = makeService();
    await service.start();
    const down = (q: string) => `prometheus http://p:9090/api/v1/query could not be reached (ECONNREFUSED) for query \`${q}\``;
    ticks.calls[0]!.release({ errors: { requests: down('sum(a)'), isl: down('sum(b)'), queueDepth: 'nats nats://n:4222 stream "prefill": connection refused' } });
    await settle();
    const warnings = sink.lines.filter((l) => l.level === 'warn' && l.event === 'source-error');
    expect(warnings.map((w) => w.msg)).toEqual([
      'prometheus http://p:9090/api/v1/query could not be reached (ECONNREFUSED): requests, isl unknown this tick',
      'nats nats://n:4222 stream "prefill": connection refused: queueDepth unknown this tick',
    ]);
    const line = sink.lines.find((l) => l.event === 'tick')!;
    expect((line.observation as Observation).errors).toEqual({ requests: 'prometheus', isl: 'prometheus', queueDepth: 'nats' });
    expect(JSON.stringify(line).length).toBeLessThan(2000);
  });

  it('failureThreshold failed ticks in a row flip /readyz; one good tick flips it back', async () => {
    const { service, time, ticks } = makeService();
    await service.start();
    expect(service.ready().ok).toBe(true);
    ticks.calls[0]!.release({ errors: { requests: 'prometheus http://p/api/v1/query refused the connection' } });
    await settle();
    expect(service.ready()).toEqual({ ok: true, detail: 'last tick failed (1/2): requests: prometheus http://p/api/v1/query refused the connection' });
    time.fireNext();
    ticks.calls[1]!.reject(new Error('connector exploded'));
    await settle();
    expect(service.ready()).toEqual({ ok: false, detail: '2 failed ticks in a row (threshold 2); last: tick failed: connector exploded' });
    // A zero-traffic window with no errors is a good tick.
    time.fireNext();
    ticks.calls[2]!.release({ requests: 0 });
    await settle();
    expect(service.ready().ok).toBe(true);
    expect(service.status().consecutiveFailures).toBe(0);
  });

  it('/healthz fails when a tick hangs past max(3 x interval, 120 s)', async () => {
    const { service, time } = makeService();
    await service.start();
    time.advance(179);
    expect(service.health().ok).toBe(true);
    time.advance(2);
    expect(service.health()).toEqual({ ok: false, detail: 'the planner loop made no progress for 181s (limit 180s); a tick is still running' });
  });
});

describe('policy hot reload', () => {
  it('an invalid new file keeps the old policy and logs the field-path problems; a valid one is taken', async () => {
    const { service, sink, path } = makeService();
    writeFileSync(path, POLICY('60s').replace('maxReplicas: 4 }', 'maxReplicas: -1 }').replace('policy: static', 'policy: magic'));
    expect(service.reloadPolicy()).toBe(false);
    expect(service.spec().interval).toBe(60);
    const failed = sink.lines.find((l) => l.event === 'policy-reload-failed')!;
    const problems = failed.problems as string[];
    expect(problems.some((p) => p.startsWith('spec.policy:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('spec.pools[0].maxReplicas:') || p.startsWith('spec.pools.0.maxReplicas:'))).toBe(true);

    writeFileSync(path, POLICY('30s'));
    expect(service.reloadPolicy()).toBe(true);
    expect(service.spec().interval).toBe(30);
    // Same text again: nothing to do.
    expect(service.reloadPolicy()).toBe(false);
  });

  it('a policy file swapped for a huge file, or for a link to /dev/zero, is read up to the size cap only: old policy kept, the size named', async () => {
    const { service, sink, path } = makeService();
    writeFileSync(path, `${POLICY('30s')}\n# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    expect(service.reloadPolicy()).toBe(false);
    expect(service.spec().interval).toBe(60);
    const failed = sink.lines.filter((l) => l.event === 'policy-reload-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.problems).toEqual([`${path}: is 2.0 MB; a policy file is a few KB (limit 256 KB): is this the right file?`]);
    // The same oversized file again: logged once, not on every event.
    expect(service.reloadPolicy()).toBe(false);
    expect(sink.lines.filter((l) => l.event === 'policy-reload-failed')).toHaveLength(1);

    unlinkSync(path);
    symlinkSync('/dev/zero', path);
    // Read whole, /dev/zero would take the heap; capped, it costs 256 KB.
    const before = process.memoryUsage().rss;
    expect(service.reloadPolicy()).toBe(false);
    expect(service.spec().interval).toBe(60);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);

    unlinkSync(path);
    writeFileSync(path, POLICY('30s'));
    expect(service.reloadPolicy()).toBe(true);
    expect(service.spec().interval).toBe(30);
  });

  it('picks up a change through the file watcher, and the next tick uses the new interval', async () => {
    const { service, time, ticks, path } = makeService({ watchPolicy: true, reloadDebounceMs: 20 });
    await service.start();
    writeFileSync(path, POLICY('30s'));
    const deadline = Date.now() + 5000;
    while (service.spec().interval !== 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(service.spec().interval).toBe(30);
    ticks.calls[0]!.release({ requests: 1 });
    await settle();
    expect(time.timers.map((t) => t.delay)).toEqual([30_000]);
  });
});

describe('shutdown and leadership', () => {
  it('stop() lets a running tick finish, then releases the lease', async () => {
    const order: string[] = [];
    let leading = true;
    const leader: LeaderElector = {
      identity: 'me',
      isLeader: () => leading,
      term: () => new AbortController().signal,
      tryAcquireOrRenew: async () => leading,
      start: async () => leading,
      stop: async () => {
        order.push('lease released');
        leading = false;
      },
    };
    const { service, ticks } = makeService({ leader, shutdownGraceSeconds: 5 });
    await service.start();
    expect(service.canAct()).toBe(true);
    const stopping = service.stop('SIGTERM');
    // Stopping: the connector may no longer act, even though the tick is still running.
    expect(service.canAct()).toBe(false);
    await settle();
    expect(order).toEqual([]);
    ticks.calls[0]!.release({ requests: 1 });
    order.push('tick finished');
    await stopping;
    expect(order).toEqual(['tick finished', 'lease released']);
  });

  it('a tick that does not finish within the grace period is abandoned', async () => {
    const { service, sink } = makeService({ shutdownGraceSeconds: 0.02 });
    await service.start();
    await service.stop('SIGTERM');
    expect(sink.events()).toContain('tick-abandoned');
    expect(service.canAct()).toBe(false);
  });

  it('canAct follows the lease: false as soon as the elector says so', async () => {
    let leading = true;
    const leader: LeaderElector = {
      identity: 'me',
      isLeader: () => leading,
      term: () => new AbortController().signal,
      tryAcquireOrRenew: async () => leading,
      start: async () => leading,
      stop: async () => undefined,
    };
    const { service } = makeService({ leader });
    expect(service.canAct()).toBe(true);
    leading = false;
    expect(service.canAct()).toBe(false);
  });
});
