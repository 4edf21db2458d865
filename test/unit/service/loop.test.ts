/**
 * The multi-policy loop on a hand-driven clock: bounded concurrency, per-policy intervals, the per-policy timeout
 * (and the abandoned tick's writes), skipping when a round runs out of time, readiness across policies, policy
 * directories on reload, and metrics series per policy.
 */
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../../src/config/load.js';
import { createLogger } from '../../../src/log.js';
import { createPlannerMetrics } from '../../../src/service/exporter.js';
import { createMultiPlannerService, type MultiPlannerOptions, type MultiPlannerService } from '../../../src/service/loop.js';
import { conflicts, expandPolicyPaths, targetKey } from '../../../src/service/policy-set.js';
import type { Connector, MetricSource } from '../../../src/planner/ports.js';
import { toLoadedPlan, type LoadedPlan } from '../../../src/service/plan.js';
import { runTick, type TickResult } from '../../../src/planner/tick.js';
import { DecideTimeoutError, type Decider } from '../../../src/service/decide/pool.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { manualTime } from '../../fixtures/manual-time.js';

const settle = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

const POLICY = (name: string, opts: { interval?: string; target?: string; failureThreshold?: number } = {}) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: ${name} }
spec:
  interval: ${opts.interval ?? '60s'}
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  failureThreshold: ${opts.failureThreshold ?? 2}
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 4, target: { kind: DynamoGraphDeployment, name: ${opts.target ?? name} } }
`;

const load = (path: string): LoadedPlan => toLoadedPlan(loadPolicyFile(path), loadProfile);

/** Ticks the test releases by hand, per policy; each records whether canAct() was true when it was released. */
function controllableTicks(canAct: () => boolean) {
  const pending: { policy: string; release: (ok?: boolean) => void; reject: (e: Error) => void }[] = [];
  const started: string[] = [];
  const actedAfterRelease: Record<string, boolean[]> = {};
  let inFlight = 0;
  let maxInFlight = 0;
  const tick: typeof runTick = async (ctx, ports) => {
    const policy = ctx.spec.pools[0]!.target!.name;
    started.push(policy);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const ok = await new Promise<boolean>((resolve, reject) => {
      pending.push({ policy, release: (good = true) => resolve(good), reject });
    }).finally(() => (inFlight -= 1));
    // Asked from inside the tick's own async flow, where a connector would ask it before writing.
    (actedAfterRelease[policy] ??= []).push(canAct());
    return {
      observation: { time: new Date(ports.clock.now()).toISOString(), requests: 10, ...(ok ? {} : { errors: { requests: 'prometheus down' } }) },
      decision: {
        time: new Date(ports.clock.now()).toISOString(),
        pools: { 'prefill-od': { desired: 2, role: 'prefill', capacity: 'on-demand', gpus: 2, boundBy: [] } },
        explanation: { policy: 'static', held: false, need: {}, constraints: [], warnings: [], missing: {} },
      },
      state: ctx.state,
      apply: { pools: { 'prefill-od': 'unchanged (2)' }, errors: {} },
    } satisfies TickResult;
  };
  const take = (policy: string) => {
    const i = pending.findIndex((p) => p.policy === policy);
    if (i < 0) throw new Error(`no pending tick of ${policy} (pending: ${pending.map((p) => p.policy).join(', ')})`);
    return pending.splice(i, 1)[0]!;
  };
  return { tick, pending, started, actedAfterRelease, take, maxInFlight: () => maxInFlight };
}

const noSource: MetricSource = { observe: async (now) => ({ time: new Date(now).toISOString() }) };
const noConnector: Connector = { apply: async () => ({ pools: {}, errors: {} }) };

let dir: string;
let service: MultiPlannerService | undefined;
afterEach(async () => {
  await service?.stop('test done');
  service = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function setup(policies: Record<string, string>, extra: Partial<MultiPlannerOptions> = {}, asDir = false) {
  dir = mkdtempSync(join(tmpdir(), 'pd-multi-unit-'));
  const paths = Object.entries(policies).map(([file, text]) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
  const time = manualTime({ order: 'due' });
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
  const late: { service?: MultiPlannerService } = {};
  const ticks = controllableTicks(() => late.service?.canAct() ?? false);
  const metrics = createPlannerMetrics({ defaultMetrics: false, policyLabel: true });
  service = createMultiPlannerService(
    {
      policyFiles: asDir ? [] : paths,
      policyDirs: asDir ? [dir] : [],
      loadPolicy: load,
      source: noSource,
      connector: noConnector,
      logger,
      clock: time.clock,
      scheduler: time.scheduler,
      metrics,
      watchPolicy: false,
      shutdownGraceSeconds: 0.05,
      tick: ticks.tick,
      ...extra,
    },
    paths.map((path) => ({ path, plan: load(path) })),
  );
  late.service = service;
  return { service, time, ticks, lines, metrics, paths, events: () => lines.map((l) => l.event) };
}

const policies = (n: number, opts: Parameters<typeof POLICY>[1] = {}) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${String(i).padStart(2, '0')}.yaml`, POLICY(`p${String(i).padStart(2, '0')}`, opts)]));

describe('multi-policy loop', () => {
  it('ticks every policy once per round, at most `concurrency` at a time', async () => {
    const { service, ticks, time } = setup(policies(10), { concurrency: 3 });
    await service.start();
    await settle();
    expect(ticks.started).toEqual(['p00', 'p01', 'p02']);
    for (let i = 0; i < 10; i += 1) {
      ticks.take(`p${String(i).padStart(2, '0')}`).release();
      await settle();
    }
    expect(ticks.started).toHaveLength(10);
    expect(ticks.maxInFlight()).toBe(3);
    expect(service.status().rounds).toBe(1);
    // The next round is armed one interval after this one started.
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([60_000]);
  });

  it('ticks each policy on its own interval: a 60 s policy every second round of a 30 s loop', async () => {
    const { service, ticks, time } = setup({ 'fast.yaml': POLICY('fast', { interval: '30s' }), 'slow.yaml': POLICY('slow', { interval: '60s' }) });
    await service.start();
    expect(service.status().intervalSeconds).toBe(30);
    const perRound: string[][] = [];
    for (let round = 0; round < 4; round += 1) {
      await settle();
      const names = ticks.pending.map((p) => p.policy).sort();
      perRound.push(names);
      for (const name of names) ticks.take(name).release();
      await settle();
      time.fireNext();
    }
    expect(perRound).toEqual([['fast', 'slow'], ['fast'], ['fast', 'slow'], ['fast']]);
  });

  it('a policy over its timeout is failed and can no longer write; the others finish; it is skipped until its call returns', async () => {
    const { service, ticks, time, lines } = setup(policies(3), { policyTimeoutSeconds: 10 });
    await service.start();
    await settle();
    ticks.take('p00').release();
    ticks.take('p02').release();
    await settle();
    // p01 hangs: the timer 10 s out is its timeout.
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([10_000]);
    time.fireNext();
    await settle();
    const round = service.status().lastRound!;
    expect(round.results.map((r) => [r.name, r.outcome.ok])).toEqual([
      ['p00', true],
      ['p02', true],
      ['p01', false],
    ]);
    expect(round.results[2]!.outcome.failure).toBe('tick timed out after 10s (per-policy timeout); its writes are stopped and its result dropped');
    expect(lines.find((l) => l.event === 'tick-timeout')?.policy).toBe('p01');
    // Next round (50 s later): p01's old call is still out, so p01 is skipped; the others tick.
    time.fireNext();
    await settle();
    // p00 and p02 are ticking again; the one p01 pending is its old, stuck call.
    expect(ticks.pending.map((p) => p.policy).sort()).toEqual(['p00', 'p01', 'p02']);
    expect(ticks.started).toEqual(['p00', 'p01', 'p02', 'p00', 'p02']);
    const second = service.status().policies.find((p) => p.name === 'p01')!;
    expect(second.lastOutcome?.failure).toBe('tick skipped: its previous tick has not returned yet (it timed out earlier)');
    expect(second.consecutiveFailures).toBe(2);
    // When the stuck call returns, its connector could no longer act, and its result is not recorded.
    ticks.take('p01').release();
    await settle();
    expect(ticks.actedAfterRelease.p01).toEqual([false]);
    expect(service.status().policies.find((p) => p.name === 'p01')!.running).toBe(false);
    ticks.take('p00').release();
    await settle();
    expect(ticks.actedAfterRelease.p00).toEqual([true, true]);
  });

  it('starts no tick that could not finish within the round; the skipped ones go first next round', async () => {
    // 4 policies, one at a time, 60 s interval, 20 s timeout: none may start later than 40 s into the round.
    const { service, ticks, time } = setup(policies(4), { concurrency: 1, policyTimeoutSeconds: 20 });
    await service.start();
    await settle();
    time.advance(25);
    ticks.take('p00').release();
    await settle();
    time.advance(20);
    ticks.take('p01').release();
    await settle();
    // 45 s in: p02 and p03 are skipped without starting.
    expect(ticks.pending).toEqual([]);
    const results = service.status().lastRound!.results;
    expect(results.map((r) => r.name)).toEqual(['p00', 'p01', 'p02', 'p03']);
    expect(results[2]!.outcome.failure).toBe('tick skipped: no time left in this round: it would start 45s into a 60s interval with a 20s timeout (raise --concurrency)');
    time.fireNext();
    await settle();
    expect(ticks.pending.map((p) => p.policy)).toEqual(['p02']);
  });

  it('a wall clock stepped back an hour (NTP) does not stop the ticks: every policy is due at the next round', async () => {
    const { service, ticks, time, events } = setup({ 'fast.yaml': POLICY('fast', { interval: '30s' }), 'slow.yaml': POLICY('slow', { interval: '60s' }) });
    await service.start();
    await settle();
    for (const name of ['fast', 'slow']) ticks.take(name).release();
    await settle();
    // The round timer fires 30 s later on the monotonic timers, but the wall clock now reads an hour earlier.
    time.advance(-3600);
    time.timers.shift()!.fn();
    await settle();
    expect(ticks.pending.map((p) => p.policy).sort()).toEqual(['fast', 'slow']);
    for (const name of ['fast', 'slow']) ticks.take(name).release();
    await settle();
    // From the new clock on, each is back on its own interval: fast at +30 s, slow at +60 s.
    time.fireNext();
    await settle();
    expect(ticks.pending.map((p) => p.policy)).toEqual(['fast']);
    expect(events().filter((e) => e === 'clock-jump')).toHaveLength(1);
  });

  it('/healthz runs on the monotonic clock: a wall clock stepped an hour ahead is not a loop without progress', async () => {
    let monotonicMs = 0;
    const { service, ticks, time } = setup(policies(1), { monotonic: () => monotonicMs });
    await service.start();
    await settle();
    ticks.take('p00').release();
    await settle();
    // NTP steps the wall clock an hour ahead; 30 s pass on the monotonic clock.
    time.advance(3600);
    monotonicMs += 30_000;
    expect(service.health()).toEqual({ ok: true, detail: 'idle, 1 ticks so far' });
    // A loop that really stalls still fails: 181 s without progress on the monotonic clock (limit 180 s).
    monotonicMs += 151_000;
    expect(service.health()).toEqual({ ok: false, detail: 'the planner loop made no progress for 181s (limit 180s)' });
  });

  it('/readyz: ready while some policies fail (it names them); not ready when every policy fails', async () => {
    const { service, ticks, time, metrics } = setup(policies(3, { failureThreshold: 1 }));
    await service.start();
    await settle();
    ticks.take('p00').release(false);
    ticks.take('p01').release(true);
    ticks.take('p02').release(false);
    await settle();
    expect(service.ready()).toEqual({ ok: true, detail: '1 of 3 policies ready; failing: p00, p02' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('pd_planner_policy_ready{policy="p00"} 0');
    expect(text).toContain('pd_planner_policy_ready{policy="p01"} 1');
    time.fireNext();
    await settle();
    for (const p of ['p00', 'p01', 'p02']) ticks.take(p).release(false);
    await settle();
    const verdict = service.ready();
    expect(verdict.ok).toBe(false);
    expect(verdict.detail).toBe(
      'all 3 policies are failing: p00: 2 failed ticks in a row (threshold 1); last: requests: prometheus down; p01: 1 failed ticks in a row (threshold 1); last: requests: prometheus down; p02: 2 failed ticks in a row (threshold 1); last: requests: prometheus down',
    );
  });
});

describe('policy directory reload', () => {
  it('adds new files, removes deleted ones (and their metrics), refuses invalid or clashing ones once', async () => {
    const { service, paths, lines, metrics, ticks } = setup({ 'a.yaml': POLICY('a'), 'b.yaml': POLICY('b') }, {}, true);
    await service.start();
    await settle();
    ticks.take('a').release();
    ticks.take('b').release();
    await settle();
    expect((await metrics.registry.metrics()).includes('pd_planner_desired_replicas{policy="b",pool="prefill-od"')).toBe(true);

    writeFileSync(join(dir, 'c.yaml'), POLICY('c'));
    writeFileSync(join(dir, 'bad.yaml'), POLICY('bad').replace('policy: static', 'policy: magic'));
    writeFileSync(join(dir, 'clash.yaml'), POLICY('clash', { target: 'a' }));
    writeFileSync(join(dir, 'notes.txt'), 'not a policy');
    unlinkSync(paths[1]!);
    expect(service.reloadPolicies()).toBe(true);
    expect(service.plans().map((p) => p.name).sort()).toEqual(['a', 'c']);
    expect(lines.filter((l) => l.event === 'policy-added').map((l) => l.policy)).toEqual(['c']);
    expect(lines.filter((l) => l.event === 'policy-removed').map((l) => l.policy)).toEqual(['b']);
    const refused = lines.filter((l) => l.event === 'policy-reload-failed');
    expect(refused.map((l) => (l.path as string).split('/').pop())).toEqual(['bad.yaml', 'clash.yaml']);
    expect((refused[1]!.problems as string[])[0]).toBe(
      `${join(dir, 'clash.yaml')}: pool prefill-od scales DynamoGraphDeployment//a/role:prefill, which pool prefill-od of a (${join(dir, 'a.yaml')}) already scales; two policies would undo each other's patches`,
    );
    expect((await metrics.registry.metrics()).includes('policy="b"')).toBe(false);
    // Nothing changed since: no new log lines for the same bad files.
    expect(service.reloadPolicies()).toBe(false);
    expect(lines.filter((l) => l.event === 'policy-reload-failed')).toHaveLength(2);
  });
});

describe('policy directory: a file that cannot be read', () => {
  // /proc/self/mem is a regular file that every read refuses (EIO), even for root: a stand-in for a file the
  // planner's user may not read (a ConfigMap mounted with the wrong defaultMode, a disk error).
  it('a policy whose file turns unreadable is kept, not removed as deleted; a new unreadable file is reported once, not skipped in silence', async () => {
    const { service, lines, metrics, ticks } = setup({ 'a.yaml': POLICY('a'), 'b.yaml': POLICY('b') }, {}, true);
    await service.start();
    await settle();
    ticks.take('a').release();
    ticks.take('b').release();
    await settle();

    unlinkSync(join(dir, 'b.yaml'));
    symlinkSync('/proc/self/mem', join(dir, 'b.yaml'));
    symlinkSync('/proc/self/mem', join(dir, 'c.yaml'));
    service.reloadPolicies();
    expect(service.plans().map((p) => p.name).sort()).toEqual(['a', 'b']);
    expect(lines.filter((l) => l.event === 'policy-removed')).toEqual([]);
    const failed = lines.filter((l) => l.event === 'policy-reload-failed');
    expect(failed.map((l) => l.msg)).toEqual([
      `policy reload: ${join(dir, 'b.yaml')}: cannot read: EIO: i/o error, read; keeping the current policy`,
      `new policy ${join(dir, 'c.yaml')} cannot be read; not started: ${join(dir, 'c.yaml')}: cannot read: EIO: i/o error, read`,
    ]);
    expect(await metrics.registry.metrics()).toContain('pd_planner_policy_ready{policy="b"} 1');
    // Still unreadable: nothing new to say.
    expect(service.reloadPolicies()).toBe(false);
    expect(lines.filter((l) => l.event === 'policy-reload-failed')).toHaveLength(2);
    // Readable again (and unchanged): b goes on; c becomes a policy.
    unlinkSync(join(dir, 'b.yaml'));
    writeFileSync(join(dir, 'b.yaml'), POLICY('b'));
    unlinkSync(join(dir, 'c.yaml'));
    writeFileSync(join(dir, 'c.yaml'), POLICY('c'));
    service.reloadPolicies();
    expect(service.plans().map((p) => p.name).sort()).toEqual(['a', 'b', 'c']);
    expect(lines.filter((l) => l.event === 'policy-added').map((l) => l.policy)).toEqual(['c']);
  });
});

describe('policy set', () => {
  it('expands directories, and reports missing paths, empty directories and files given twice', () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-multi-unit-'));
    writeFileSync(join(dir, 'b.yaml'), 'x');
    writeFileSync(join(dir, 'a.yml'), 'x');
    writeFileSync(join(dir, '.hidden.yaml'), 'x');
    writeFileSync(join(dir, 'README.md'), 'x');
    expect(expandPolicyPaths([dir])).toEqual({ files: [join(dir, 'a.yml'), join(dir, 'b.yaml')], named: [], dirs: [dir] });
    const empty = mkdtempSync(join(dir, 'empty-'));
    expect(() => expandPolicyPaths([join(dir, 'nope.yaml'), empty, dir, join(dir, 'b.yaml')])).toThrow(
      [`--policy: ${join(dir, 'nope.yaml')} not found`, `--policy: the directory ${empty} holds no *.yaml or *.yml policy file`, `--policy: ${join(dir, 'b.yaml')} is given twice (directly or through its directory)`].join('\n'),
    );
  });

  it('keys targets by graph and component (or role), so two policies cannot scale the same thing', () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-multi-unit-'));
    writeFileSync(join(dir, 'x.yaml'), POLICY('x', { target: 'llama' }));
    writeFileSync(join(dir, 'y.yaml'), POLICY('x', { target: 'mistral' }));
    const x = { path: 'x.yaml', plan: load(join(dir, 'x.yaml')) };
    const y = { path: 'y.yaml', plan: load(join(dir, 'y.yaml')) };
    expect(targetKey(x.plan.spec.pools[0]!, 'dynamo')).toBe('DynamoGraphDeployment/dynamo/llama/role:prefill');
    expect(conflicts(y, [x])).toEqual(['y.yaml: metadata.name "x" is also the name of x.yaml; every policy of one planner needs its own name']);
  });
});

describe('metrics with the policy label', () => {
  it('each policy replaces only its own series; a removed policy takes its series with it', async () => {
    const metrics = createPlannerMetrics({ defaultMetrics: false, policyLabel: true });
    dir = mkdtempSync(join(tmpdir(), 'pd-multi-unit-'));
    writeFileSync(join(dir, 'a.yaml'), POLICY('a'));
    const spec = load(join(dir, 'a.yaml')).spec;
    const tick = (policy: string, desired: number) =>
      metrics.recordTick({
        policy,
        spec,
        observation: { time: 'x', requests: 1 },
        decision: {
          time: 'x',
          pools: { 'prefill-od': { desired, role: 'prefill', capacity: 'on-demand', gpus: desired, boundBy: [] } },
          explanation: { policy: 'static', held: false, need: {}, constraints: [], warnings: [], missing: {} },
        },
        applyErrors: 0,
        durationSeconds: 0.2,
      });
    tick('a', 2);
    tick('b', 5);
    tick('a', 3);
    let text = await metrics.registry.metrics();
    expect(text).toContain('pd_planner_desired_replicas{policy="a",pool="prefill-od",role="prefill",capacity="on-demand"} 3');
    expect(text).toContain('pd_planner_desired_replicas{policy="b",pool="prefill-od",role="prefill",capacity="on-demand"} 5');
    expect(text).toContain('pd_planner_decisions_total{policy="a",reason="scaled"} 2');
    expect(text).toContain('pd_planner_tick_duration_seconds_count{policy="b"} 1');
    metrics.recordRound(75, true);
    metrics.forgetPolicy('b');
    text = await metrics.registry.metrics();
    expect(text).not.toContain('policy="b"');
    expect(text).toContain('pd_planner_tick_overruns_total 1');
    expect(text).toContain('pd_planner_round_duration_seconds_bucket{le="60"} 0');
  });
});

describe('decide() through a decider (a worker thread in the service)', () => {
  /** A decider whose calls hang until given up; records each call's deadline and whether its signal was aborted. */
  function hangingDecider() {
    const calls: { timeoutMs: number; aborted: () => boolean }[] = [];
    let starts = 0;
    let closes = 0;
    const decider: Decider = {
      decide: (_input, options) =>
        new Promise((_, reject) => {
          calls.push({ timeoutMs: options.timeoutMs, aborted: () => options.signal?.aborted ?? false });
          options.signal?.addEventListener('abort', () => reject(new DecideTimeoutError('the tick timed out during its decision; the decision thread was restarted')));
        }),
      start: async () => void (starts += 1),
      close: async () => void (closes += 1),
    };
    return { decider, calls, starts: () => starts, closes: () => closes };
  }

  it('the tick timeout gives the decide what is left of it, and stops it when it passes: a `timeout`, nothing applied', async () => {
    const hang = hangingDecider();
    const applied: string[] = [];
    const connector: Connector = { apply: async (d) => ((applied.push(d.time), { pools: {}, errors: {} })) };
    const { service, time, metrics, events } = setup(policies(1), { tick: runTick, decider: hang.decider, connector, policyTimeoutSeconds: 20 });
    await service.start();
    await settle();
    expect(hang.starts()).toBe(1);
    expect(hang.calls).toHaveLength(1);
    expect(hang.calls[0]!.timeoutMs).toBe(20_000);
    // The one timer pending is the tick's timeout, 20 s out.
    expect(time.timers.map((t) => t.at - time.clock.now())).toEqual([20_000]);
    time.fireNext();
    await settle();
    expect(hang.calls[0]!.aborted()).toBe(true);
    expect(service.status().policies[0]).toMatchObject({ running: false, consecutiveFailures: 1 });
    expect(applied).toEqual([]);
    expect(events()).toContain('tick-timeout');
    expect(await metrics.registry.metrics()).toMatch(/^pd_planner_errors_total\{policy="p00",reason="timeout"\} 1$/m);
    await service.stop('test done');
    expect(hang.closes()).toBe(1);
  });

  it('without a tick timeout, the decide gets its own bound: max(interval, 10 s); its DecideTimeoutError counts as a timeout', async () => {
    const calls: number[] = [];
    const decider: Decider = {
      decide: async (_input, options) => {
        calls.push(options.timeoutMs);
        throw new DecideTimeoutError('decide() did not return within 60s (a computation that does not end); its thread was restarted and nothing was written');
      },
    };
    const { service, metrics, lines } = setup(policies(1), { tick: runTick, decider });
    const round = await service.runOnce();
    expect(calls).toEqual([60_000]);
    expect(round.results[0]!.outcome.failure).toBe('tick timed out: decide() did not return within 60s (a computation that does not end); its thread was restarted and nothing was written');
    expect(lines.find((l) => l.event === 'tick-timeout')).toBeDefined();
    expect(await metrics.registry.metrics()).toMatch(/^pd_planner_errors_total\{policy="p00",reason="timeout"\} 1$/m);
    expect(await metrics.registry.metrics()).toMatch(/^pd_planner_errors_total\{policy="p00",reason="tick"\} 0$/m);
  });
});
