/**
 * The service's panic poll (planner/panic.ts) on a hand-driven clock: between two interval rounds a single sla graph
 * reads only its queue (MetricSource.observeQueue) every 10 s; while the queue is short nothing else happens (no
 * observe, no write, no change to the status or the tick metrics); once 10 or more are queued it runs one full tick
 * as a poll over the window since its last full tick, and no other panic poll in that interval. A source without
 * observeQueue gets no panic polls at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import type { Connector, MetricSource } from '../../../src/planner/ports.js';
import type { Decision, Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { createPlannerMetrics } from '../../../src/service/exporter.js';
import { createMultiPlannerService, type MultiPlannerService } from '../../../src/service/loop.js';
import { toLoadedPlan } from '../../../src/service/plan.js';
import { manualTime } from '../../fixtures/manual-time.js';

const POLICY = (extra = '') => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: panic }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 2000 }, itl: { percentile: 95, ms: 60 } }
  policy: sla
  profile: builtin:llama2-70b-h100-tp4
${extra}
  sources:
    queue: { nats: "nats://127.0.0.1:4222", stream: prefill }
  pools:
    - { name: prefill, role: prefill, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: 180 }
    - { name: decode, role: decode, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: 180 }
`;

const settle = async () => {
  for (let i = 0; i < 200; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

let dir: string | undefined;
let service: MultiPlannerService | undefined;
afterEach(async () => {
  await service?.stop('test done');
  service = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A source whose queue depth the test sets; it records every call. */
function fakeSource(withQueue: boolean) {
  const calls: { kind: 'observe' | 'queue'; at: number; windowSeconds?: number }[] = [];
  const queue = { depth: 0 as number | undefined, fail: false };
  const observe = async (now: number, windowSeconds: number): Promise<Observation> => {
    calls.push({ kind: 'observe', at: now, windowSeconds });
    const requests = Math.round(2 * windowSeconds);
    return {
      time: new Date(now).toISOString(),
      windowSeconds,
      requests,
      isl: 2000,
      osl: 300,
      queueDepth: queue.depth ?? 0,
      ttftMs: { p95: 900 },
      itlMs: { p95: 40 },
      pools: { prefill: { desired: 2, ready: 2 }, decode: { desired: 3, ready: 3 } },
    };
  };
  const source: MetricSource = withQueue
    ? {
        observe,
        observeQueue: async (now) => {
          calls.push({ kind: 'queue', at: now });
          if (queue.fail) throw new Error('nats: connection refused');
          return queue.depth;
        },
      }
    : { observe };
  return { source, calls, queue };
}

function setup(withQueue: boolean, extra = '') {
  dir = mkdtempSync(join(tmpdir(), 'pd-panic-'));
  const path = join(dir, 'panic.yaml');
  writeFileSync(path, POLICY(extra));
  const load = (p: string) => toLoadedPlan(loadPolicyFile(p), loadProfile);
  const time = manualTime({ order: 'due' });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  const fake = fakeSource(withQueue);
  const decisions: Decision[] = [];
  const connector: Connector = {
    apply: async (decision) => {
      decisions.push(decision);
      return { pools: {}, errors: {} };
    },
  };
  const metrics = createPlannerMetrics({ defaultMetrics: false, policyLabel: false });
  service = createMultiPlannerService(
    { policyFiles: [path], loadPolicy: load, source: fake.source, connector, logger, clock: time.clock, scheduler: time.scheduler, metrics, watchPolicy: false, shutdownGraceSeconds: 0.05 },
    [{ path, plan: load(path) }],
  );
  const start = time.clock.now();
  const at = (s: number) => start + s * 1000;
  return { service, time, fake, decisions, metrics, lines, at };
}

describe('panic poll (service loop)', () => {
  it('reads only the queue until it is due, then runs one full tick as a poll over the window since the last tick', async () => {
    const { service: s, time, fake, decisions, metrics, lines, at } = setup(true);
    await s.start();
    await settle();
    expect(fake.calls).toEqual([{ kind: 'observe', at: at(0), windowSeconds: 60 }]);
    expect(decisions).toHaveLength(1);
    const status = JSON.stringify(s.status());
    const tickMetrics = await metrics.registry.metrics();

    // 10 s and 20 s: short queues (and a failed read) change nothing.
    fake.queue.depth = 9;
    time.fireNext();
    await settle();
    fake.queue.fail = true;
    time.fireNext();
    await settle();
    fake.queue.fail = false;
    expect(fake.calls.slice(1)).toEqual([
      { kind: 'queue', at: at(10) },
      { kind: 'queue', at: at(20) },
    ]);
    expect(decisions).toHaveLength(1);
    expect(JSON.stringify(s.status())).toBe(status);
    expect(await metrics.registry.metrics()).toBe(tickMetrics);
    const loud = lines.filter((l) => (l.level as number) > 20 && String(l.msg).includes('panic'));
    expect(loud).toEqual([]);

    // 30 s: 25 queued -> one full tick, as a poll, over the 30 s since the last tick.
    fake.queue.depth = 25;
    time.fireNext();
    await settle();
    expect(fake.calls.slice(3)).toEqual([
      { kind: 'queue', at: at(30) },
      { kind: 'observe', at: at(30), windowSeconds: 30 },
    ]);
    expect(decisions).toHaveLength(2);
    expect(decisions[1]!.explanation.panicPoll).toMatch(/^panic poll: 25 queued at 30 s into the interval/);
    expect(s.status().policies[0]!.ticks).toBe(2);

    // 40 s and 50 s: no further panic poll in this interval; at 60 s the round observes the whole interval.
    time.fireNext();
    await settle();
    expect(fake.calls.slice(5)).toEqual([{ kind: 'observe', at: at(60), windowSeconds: 60 }]);
    // The next interval polls again from 70 s.
    fake.queue.depth = 0;
    time.fireNext();
    await settle();
    expect(fake.calls.slice(6)).toEqual([{ kind: 'queue', at: at(70) }]);
    expect(decisions).toHaveLength(3);
  });

  it('never triggers on a missing, negative or not-a-number depth', async () => {
    const { service: s, time, fake, decisions } = setup(true);
    await s.start();
    await settle();
    for (const depth of [undefined, Number.NaN, -50, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
      fake.queue.depth = depth;
      time.fireNext();
      await settle();
    }
    expect(fake.calls.filter((c) => c.kind === 'observe')).toHaveLength(1);
    expect(fake.calls.filter((c) => c.kind === 'queue')).toHaveLength(5);
    expect(decisions).toHaveLength(1);
  });

  it('without observeQueue, or with fastPath off, the loop only runs its rounds', async () => {
    for (const [withQueue, extra] of [
      [false, ''],
      [true, '  sla: { improvements: { fastPath: false } }'],
    ] as const) {
      const { service: s, time, fake, at } = setup(withQueue, extra);
      fake.queue.depth = 500;
      await s.start();
      await settle();
      expect(time.timers.map((t) => t.at)).toEqual([at(60)]);
      time.fireNext();
      await settle();
      expect(fake.calls).toEqual([
        { kind: 'observe', at: at(0), windowSeconds: 60 },
        { kind: 'observe', at: at(60), windowSeconds: 60 },
      ]);
      await s.stop('next');
      service = undefined;
      rmSync(dir!, { recursive: true, force: true });
      dir = undefined;
    }
  });
});
