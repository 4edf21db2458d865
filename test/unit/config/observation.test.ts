import { describe, expect, it } from 'vitest';
import { parseObservation, parseObservationText } from '../../../src/config/observation.js';
import { parsePlannerState } from '../../../src/config/state-file.js';
import { InputError } from '../../../src/errors.js';
import { initialState } from '../../../src/planner/state.js';
import { load, basePolicy } from './policy-helpers.js';

const base = { time: '2026-11-25T10:00:00Z', windowSeconds: 60, requests: 720, isl: 3000, osl: 150 };

function problemsOf(run: () => unknown): string[] {
  try {
    run();
    return [];
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
}

describe('observation parsing', () => {
  it('keeps what was observed and nothing else', () => {
    const obs = parseObservation({ ...base, ttftMs: { mean: 420, p95: 610 }, pools: { 'prefill-od': { desired: 2, ready: 2 } } });
    expect(obs).toEqual({ ...base, ttftMs: { mean: 420, p95: 610 }, pools: { 'prefill-od': { desired: 2, ready: 2 } } });
  });

  it('treats null as missing and drops the key', () => {
    const obs = parseObservation({ ...base, osl: null, itlMs: null, pools: { 'decode-od': { desired: 2, ready: null } } });
    expect(obs).toEqual({ time: base.time, windowSeconds: 60, requests: 720, isl: 3000, pools: { 'decode-od': { desired: 2 } } });
    expect('osl' in obs).toBe(false);
  });

  it.each([
    ['a negative percentile', { ttftMs: { p95: -3 } }, 'observation.ttftMs.p95: expected a number ≥ 0, got -3'],
    ['a string latency', { itlMs: { mean: '31ms' } }, 'observation.itlMs.mean: expected a number, got "31ms"'],
    ['NaN (from code, JSON has none)', { requests: Number.NaN }, 'observation.requests: expected a number, got NaN'],
    ['an unknown field', { ttftMS: { p95: 1 } }, 'observation.ttftMS: unknown field; did you mean "ttftMs"? (allowed: time, windowSeconds, requests, peakRequestsPerSecond, isl, osl, islPercentiles, oslPercentiles, ttftMs, itlMs, requestDurationSeconds, queueDepth, kvUsage, pools, errors)'],
    ['a bad summary key', { ttftMs: { p95: 600, P99: 900 } }, 'observation.ttftMs.P99: unknown key (expected "mean" or a percentile between p0 and p100 such as "p95"); did you mean "p99"?'],
    ['a percentile of 100', { ttftMs: { p100: 900 } }, 'observation.ttftMs.p100: unknown key (expected "mean" or a percentile between p0 and p100 such as "p95")'],
    ['KV use as a percentage', { kvUsage: 75 }, 'observation.kvUsage: expected a fraction between 0 and 1 (0.75 for 75%), got 75'],
    ['a zero window', { windowSeconds: 0 }, 'observation.windowSeconds: expected a number > 0, got 0'],
    ['a window with a unit', { windowSeconds: '60s' }, 'observation.windowSeconds: expected a number, got "60s"'],
    ['a fractional pod count', { pools: { p: { ready: 1.5 } } }, 'observation.pools.p.ready: expected a whole number, got 1.5'],
    ['an unknown pool field', { pools: { p: { replicas: 2 } } }, 'observation.pools.p.replicas: unknown field (allowed: desired, ready, updated, graph, pending, evicted, evictionNotices, pendingSeconds, startupSeconds)'],
    ['a time without zone', { time: '2026-11-25 10:00' }, 'observation.time: expected an ISO 8601 time such as "2026-11-25T10:00:00Z", got "2026-11-25 10:00"'],
  ])('%s', (_name, extra, line) => {
    expect(problemsOf(() => parseObservation({ ...base, ...extra }))).toEqual([line]);
  });

  it('requires a time', () => {
    expect(problemsOf(() => parseObservation({ requests: 5 }))).toEqual(['observation.time: required field is missing (expected a string)']);
  });

  it('gives line and column for invalid JSON', () => {
    expect(problemsOf(() => parseObservationText('{\n  "time": "2026-11-25T10:00:00Z",\n  "requests" 720\n}', 'obs.json'))).toEqual([
      'obs.json:3:14: invalid JSON: Unexpected number',
    ]);
    expect(problemsOf(() => parseObservationText('{"time": ', 'obs.json'))).toEqual([
      'obs.json:1:10: invalid JSON: unexpected end of input (unclosed { or [?)',
    ]);
  });

  it('checks observed pools against the policy', () => {
    const { spec } = load(basePolicy());
    const text = JSON.stringify({ ...base, windowSeconds: 30, pools: { 'prefil-od': { desired: 1 } } });
    expect(problemsOf(() => parseObservationText(text, 'obs.json', spec))).toEqual([
      'observation.pools.prefil-od: no pool named "prefil-od" in the policy; did you mean "prefill-od"? (pools: prefill-od, decode-spot, decode-od)',
    ]);
    const ok = parseObservationText(JSON.stringify({ ...base, windowSeconds: 30 }), 'obs.json', spec);
    expect(ok.warnings).toEqual([
      'observation.windowSeconds: 30s differs from spec.interval (60s); counts are per window, so check the exporter',
    ]);
  });
});

describe('planner state file', () => {
  it('round-trips the initial state and keeps fields a newer version added', () => {
    const state = { ...initialState(), last: { 'prefill-od': 2 }, futureField: 1 };
    expect(parsePlannerState(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });

  it('rejects a state that is not one', () => {
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 0, dCf: 1 }, recommendations: [], lastEviction: {} }))).toEqual([
      'state.correction.pCf: expected a number > 0, got 0',
    ]);
    // The SLO loop's counts and the burst memory reach the policy's arithmetic: a string there would be NaN.
    const slo = { prefill: { headroom: 1, missed: 'lots', served: 3 }, decode: { headroom: 0.8, missed: 0, served: 3 } };
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 1, dCf: 1, burstFloor: -2, slo }, recommendations: [], lastEviction: {} }))).toEqual([
      'state.correction.burstFloor: expected a number ≥ 0, got -2',
      'state.correction.slo.prefill.missed: expected a number, got "lots"',
    ]);
    // What ran when a pause began is a floor of the pause hold: a negative or missing role would be a wrong floor.
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {}, idleSince: 0, pauseRunning: { prefill: -1 } }))).toEqual([
      'state.pauseRunning.prefill: expected a number ≥ 0, got -1',
      'state.pauseRunning.decode: required field is missing (expected a number)',
    ]);
    // The GPUs of a unit when it was taken divide by nothing: 0 is refused; a unit is whole GPUs per replica, as in a
    // policy (a pause of 4 units of 4 GPUs, recorded as of 2.5 GPUs, would be read as 2.5 units, not 4).
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {}, pauseRunning: { prefill: 2, decode: 3 }, pauseUnitGpus: { prefill: 0, decode: 4 } }))).toEqual([
      'state.pauseUnitGpus.prefill: expected a number > 0, got 0',
    ]);
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {}, pauseRunning: { prefill: 2, decode: 3 }, pauseUnitGpus: { prefill: 2.5, decode: 1e6 } }))).toEqual([
      'state.pauseUnitGpus.prefill: expected a whole number, got 2.5',
      'state.pauseUnitGpus.decode: expected a number ≤ 1024, got 1000000',
    ]);
    // The replica sizes the counts were decided in divide them: whole GPUs per replica, as in a policy.
    expect(problemsOf(() => parsePlannerState({ history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {}, replicaGpus: { a: 0, b: 2.5, c: 4096, d: 8 } }))).toEqual([
      'state.replicaGpus.a: expected a number > 0, got 0',
      'state.replicaGpus.b: expected a whole number, got 2.5',
      'state.replicaGpus.c: expected a number ≤ 1024, got 4096',
    ]);
  });

  it('the replica sizes of the counts: read when present, and a state written without them still loads (they are the sizes of now)', () => {
    const old = { history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [{ time: 1, desired: { p: 6 } }], last: { p: 6 }, lastEviction: {} };
    expect(parsePlannerState(old).replicaGpus).toBeUndefined();
    expect(parsePlannerState({ ...old, replicaGpus: { p: 4 } }).replicaGpus).toEqual({ p: 4 });
  });
});
