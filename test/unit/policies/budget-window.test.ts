/**
 * budgetWindow (src/policies/sla/budget-window.ts): while less than a quarter of the SLO's miss budget is spent, after the SLO
 * loop's 900 s of evidence, the scale-down window is BUDGET_WINDOW_SHARE of stabilization.scaleDown; otherwise the
 * spec's, and the recommendations it skipped are read again.
 */
import { describe, expect, it } from 'vitest';
import { applyConstraints } from '../../../src/constraints/index.js';
import { decide } from '../../../src/planner/decide.js';
import { initialState, type CorrectionState, type PlannerState } from '../../../src/planner/state.js';
import type { Observation } from '../../../src/planner/types.js';
import { BUDGET_WINDOW_SHARE, BUDGET_WINDOW_SPENT, budgetWindowStep } from '../../../src/policies/sla/budget-window.js';
import { slaContext } from '../../../src/policies/sla/context.js';
import { slaPolicy } from '../../../src/policies/sla/index.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec as makeConstraintSpec, T0 } from '../constraints/helpers.js';
import { makeInput, makeSpec } from './helpers.js';

const P90 = { ttft: { ms: 2000, percentile: 90 }, itl: { ms: 45, percentile: 90 } };
/** The SLO loop's record: `missed` of 6000 requests per role, over `seconds` of windows. */
const record = (missed: number, seconds = 900): CorrectionState['slo'] => {
  const role = { headroom: 0.8, missed, served: 6000, seconds };
  return { prefill: role, decode: role };
};

describe('budgetWindowStep', () => {
  const step = (slo: CorrectionState['slo'], improvements: Record<string, boolean> = {}, scaleDown = '300s') => {
    const spec = makeSpec({ interval: '60s', slo: P90, stabilization: { scaleDown }, sla: { improvements } });
    return budgetWindowStep(slaContext(makeInput({ spec, correction: { pCf: 1, dCf: 1, ...(slo ? { slo } : {}) } }), { prefill: 1, decode: 1 }, [], {}));
  };

  it('healthy budget after 900 s of evidence: 0.6 x 300 s = 180 s, and says how much was spent', () => {
    expect(BUDGET_WINDOW_SHARE).toBe(0.6);
    expect(BUDGET_WINDOW_SPENT).toBe(0.25);
    // (60 + 60) / 6000 = 2% of requests against a 10% budget: 20% spent
    expect(step(record(60))).toEqual({ seconds: 180, reason: "budgetWindow: 20.0% of the SLO's miss budget spent (under 25%)" });
    expect(step(record(60), {}, '600s')?.seconds).toBe(360);
    // Never under one 60 s interval: 0.6 x 90 s = 54 s -> 60 s; a 60 s window has nothing shorter to become.
    expect(step(record(60), {}, '90s')?.seconds).toBe(60);
    expect(step(record(60), {}, '60s')).toBeUndefined();
  });

  it('the spec window at a quarter of the budget spent, before 900 s of evidence, without a record, or with sloFeedback or budgetWindow off', () => {
    // (75 + 75) / 6000 = 2.5%: a quarter of the 10% budget
    expect(step(record(75))).toBeUndefined();
    expect(step(record(74))?.seconds).toBe(180);
    expect(step(record(0, 840))).toBeUndefined();
    expect(step(undefined)).toBeUndefined();
    expect(step(record(0), { sloFeedback: false })).toBeUndefined();
    expect(step(record(0), { budgetWindow: false })).toBeUndefined();
    // a window of 0 has nothing to shorten
    expect(step(record(0), {}, '0s')).toBeUndefined();
  });

  it('comes out of the sla policy as its scale-down window', () => {
    const spec = makeSpec({ interval: '60s', slo: P90 });
    const out = slaPolicy(makeInput({ spec, correction: { pCf: 1, dCf: 1, slo: record(0) } }));
    expect(out.scaleDownWindow?.seconds).toBe(180);
  });
});

describe('budgetWindow through decide', () => {
  const profile = loadProfile('builtin:dynamo-format-synthetic', process.cwd());
  const pools = [
    { name: 'p', role: 'prefill', minReplicas: 1, maxReplicas: 20 },
    { name: 'd', role: 'decode', minReplicas: 1, maxReplicas: 20 },
  ];
  const now = T0 + 600_000;
  /** A light minute after a busy one 240 s ago (6 of each) and a lighter one 120 s ago (2 of each), 6 running. */
  function tick(slo: CorrectionState['slo'], improvements: Record<string, boolean> = {}) {
    const spec = makeConstraintSpec({ interval: '60s', slo: P90, pools, limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' }, sla: { improvements } });
    const state: PlannerState = {
      ...initialState(),
      correction: { pCf: 1, dCf: 1, ...(slo ? { slo } : {}) },
      last: { p: 6, d: 6 },
      recommendations: [
        { time: now - 240_000, desired: { p: 6, d: 6 } },
        { time: now - 120_000, desired: { p: 2, d: 2 } },
      ],
    };
    const observation: Observation = {
      time: new Date(now).toISOString(),
      windowSeconds: 60,
      requests: 30,
      queueDepth: 0,
      isl: 3000,
      osl: 150,
      ttftMs: { p90: 400 },
      itlMs: { p90: 12 },
      pools: { p: { desired: 6, ready: 6 }, d: { desired: 6, ready: 6 } },
    };
    return decide({ spec, profile, observation, state, now });
  }

  it('with the budget healthy, the 180 s window lets the 6 of 240 s ago go: down to the 2 of 120 s ago', () => {
    const { decision } = tick(record(30));
    expect(decision.pools.p!.desired).toBe(2);
    expect(decision.pools.d!.desired).toBe(2);
    const effect = decision.explanation.constraints.find((e) => e.constraint === 'stabilization' && e.pool === 'p');
    expect(effect?.detail).toBe("p: highest recommendation in the last 180s (not 300s: budgetWindow: 10.0% of the SLO's miss budget spent (under 25%)) was 2; scale-down from 6 to 1 deferred");
  });

  it('with a quarter of the budget spent, switched off, or before the evidence, the 300 s window keeps the 6', () => {
    for (const run of [tick(record(150)), tick(record(30), { budgetWindow: false }), tick(record(30, 600))]) {
      expect(run.decision.pools.p!.desired).toBe(6);
      expect(run.decision.pools.d!.desired).toBe(6);
      const effect = run.decision.explanation.constraints.find((e) => e.constraint === 'stabilization' && e.pool === 'p');
      expect(effect?.detail).toBe('p: highest recommendation in the last 300s was 6; scale-down from 6 to 1 deferred');
    }
  });

  it('the recommendations a short window skipped are still remembered for the full one', () => {
    const { state } = tick(record(30));
    expect(state.recommendations.map((e) => e.desired.p)).toEqual([6, 2, 1]);
  });
});

describe('the constraints read a policy window only when it is shorter', () => {
  const spec = makeConstraintSpec({ interval: '60s', pools: [{ name: 'p', role: 'prefill', minReplicas: 1, maxReplicas: 20 }, { name: 'd', role: 'decode', minReplicas: 1, maxReplicas: 20 }], limits: { maxStepDown: 10 }, stabilization: { scaleDown: '300s' } });
  const now = T0 + 600_000;
  const run = (scaleDownWindow?: { seconds: number; reason: string }) =>
    applyConstraints({
      spec,
      observation: { time: '' },
      state: { ...initialState(), recommendations: [{ time: now - 240_000, desired: { p: 6, d: 6 } }] },
      now,
      need: { prefill: 1, decode: 1 },
      baseline: [1, 1],
      previous: [6, 6],
      ...(scaleDownWindow ? { scaleDownWindow } : {}),
    }).desired;

  it('240 s ago is inside 300 s and 600 s (kept at 6), outside 180 s (down to 1)', () => {
    expect(run()).toEqual([6, 6]);
    expect(run({ seconds: 600, reason: 'longer' })).toEqual([6, 6]);
    expect(run({ seconds: 180, reason: 'shorter' })).toEqual([1, 1]);
  });
});
