/**
 * The simulator drives the real planner loop: a step in load is followed within the expected number of ticks,
 * and an eviction storm on the Spot pools moves the need to on-demand at the very next tick.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../src/config/load.js';
import { loadProfile } from '../../src/profiles/load.js';
import { readTrace } from '../../src/sim/traces/index.js';
import { simulate } from '../../src/sim/run.js';
import type { IntervalRecord, RunResult } from '../../src/sim/types.js';

function policy(extra: string, pools: string): string {
  return `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: loop-test }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 2000 }, itl: { percentile: 95, ms: 60 } }
  policy: sla
  forecaster: { kind: constant }
  profile: builtin:llama2-70b-h100-tp4
  limits: { maxStepUp: 8, maxStepDown: 2 }
  stabilization: { scaleDown: 120s }
${extra}
  pools:
${pools}
`;
}

const roleTotal = (record: IntervalRecord, names: string[], field: 'desired' | 'ready' = 'desired') =>
  names.reduce((sum, name) => sum + (record[field][name] ?? 0), 0);

describe('planner loop in the simulator', () => {
  it('follows a step from 2 to 8 requests/s within two ticks, and is ready one startup later', async () => {
    const loaded = parsePolicyText(
      policy(
        '',
        `    - { name: prefill, role: prefill, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40, startupSeconds: 120s }
    - { name: decode,  role: decode,  gpusPerReplica: 4, minReplicas: 1, maxReplicas: 40, startupSeconds: 120s }`,
      ),
      'step.yaml',
      process.cwd(),
    );
    const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
    const trace = await readTrace('synthetic:step?steps=0:2,20m:8&duration=40m&isl=3000&osl=150', { seed: 3 });
    const { runs } = await simulate({ spec: loaded.spec, profile, trace, baselines: ['perfect-forecast'], seed: 3 });
    const [run, oracle] = runs as [RunResult, RunResult];
    // Interval k ends at (k+1) minutes; the step lands at 20 min, so interval 20 (ending at 21 min) is the first
    // window that sees it.
    const before = run.intervals[18]!;
    const steadyHigh = oracle.intervals[35]!.desired.prefill!;
    const steadyLow = oracle.intervals[15]!.desired.prefill!;
    expect(steadyHigh).toBeGreaterThan(steadyLow);
    expect(before.desired.prefill).toBeLessThanOrEqual(steadyLow + 1);
    // Two ticks after the step the planner asks for at least the oracle's steady level of the new load ...
    expect(run.intervals[21]!.desired.prefill).toBeGreaterThanOrEqual(steadyHigh);
    // ... and those replicas are ready one startup (2 min) later.
    expect(run.intervals[23]!.ready.prefill).toBeGreaterThanOrEqual(steadyHigh);
    // Decode follows the same step.
    expect(run.intervals[21]!.desired.decode).toBeGreaterThan(before.desired.decode!);
    // Once the backlog of the step is served, neither role stays far above the oracle's steady counts.
    for (const role of ['prefill', 'decode']) {
      expect(run.intervals[36]!.desired[role]).toBeLessThanOrEqual(2 * oracle.intervals[36]!.desired[role]! + 1);
    }
    expect(run.droppedRequests).toBe(0);
  });

  it('an eviction storm on the Spot decode pool moves the need to on-demand at the next tick', async () => {
    const loaded = parsePolicyText(
      policy(
        '  spot: { maxShare: 0.7, onDemandFloor: 1, evictionRatePerHour: 0, noticeSeconds: 30s, evictionCooldown: 10m }',
        `    - { name: prefill-od,   role: prefill, capacity: on-demand, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 20, startupSeconds: 120s }
    - { name: prefill-spot, role: prefill, capacity: spot,      gpusPerReplica: 4, minReplicas: 0, maxReplicas: 20, startupSeconds: 120s }
    - { name: decode-od,    role: decode,  capacity: on-demand, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 20, startupSeconds: 120s }
    - { name: decode-spot,  role: decode,  capacity: spot,      gpusPerReplica: 4, minReplicas: 0, maxReplicas: 20, startupSeconds: 120s }`,
      ),
      'storm.yaml',
      process.cwd(),
    );
    const profile = loadProfile(loaded.spec.profile, loaded.baseDir);
    const trace = await readTrace('synthetic:poisson?rate=6&duration=40m&isl=3000&osl=1500', { seed: 5 });
    const stormAt = 15 * 60 + 10;
    const probe = await simulate({ spec: loaded.spec, profile, trace, baselines: [], seed: 5 });
    const spotBefore = probe.runs[0]!.intervals[14]!.ready['decode-spot']!;
    expect(spotBefore).toBeGreaterThanOrEqual(2);

    const { runs } = await simulate({
      spec: loaded.spec,
      profile,
      trace,
      baselines: [],
      seed: 5,
      evictions: { ratePerHour: 0, schedule: [{ t: stormAt, pool: 'decode-spot', count: spotBefore }] },
    });
    const run = runs[0]!;
    const k = 15; // the interval 15:00-16:00 holds the storm; its tick decides at 16:00
    const beforeStorm = run.intervals[k - 1]!;
    const atStorm = run.intervals[k]!;
    expect(atStorm.evictions).toBe(spotBefore);
    expect(run.evictions).toBe(spotBefore);
    // The very next decision takes decode off Spot (cool-down after an eviction) and puts the role's need on
    // decode-od: the evicted replicas' worth, give or take the one replica a fresh window's forecast may move.
    expect(atStorm.desired['decode-spot']).toBe(0);
    expect(atStorm.desired['decode-od']! - beforeStorm.desired['decode-od']!).toBeGreaterThanOrEqual(spotBefore - 1);
    expect(atStorm.desired['decode-od']).toBeGreaterThanOrEqual(roleTotal(beforeStorm, ['decode-od', 'decode-spot']) - 1);
    // After the cool-down the planner does not keep a storm-sized decode pool for a steady load.
    expect(roleTotal(run.intervals[38]!, ['decode-od', 'decode-spot'])).toBeLessThanOrEqual(roleTotal(beforeStorm, ['decode-od', 'decode-spot']) + 2);
    expect(run.requeued).toBeGreaterThan(0);
    expect(run.completedRequests + run.droppedRequests).toBe(trace.arrival.length);
  });
});
