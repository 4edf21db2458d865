import { describe, expect, it } from 'vitest';
import { parsePlannerState } from '../../../src/config/state-file.js';
import { InputError } from '../../../src/errors.js';
import { decide } from '../../../src/planner/decide.js';
import { initialState } from '../../../src/planner/state.js';
import { learnedStartup, nearestRank, startupSamples, STARTUP_WINDOW, withLearnedStartup } from '../../../src/planner/startup.js';
import type { Observation } from '../../../src/planner/types.js';
import { loadProfile } from '../../../src/profiles/index.js';
import { makeSpec, stateWith, T0 } from '../constraints/helpers.js';

const profile = loadProfile('builtin:llama2-70b-h100-tp4', process.cwd());
const pools = [
  { name: 'prefill', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: 180 },
  { name: 'decode', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, startupSeconds: 180 },
];
const spec = makeSpec({ interval: '60s', slo: { ttft: { ms: 2000 }, itl: { ms: 60 } }, pools });

describe('startup time learned from observed pod startups', () => {
  it('the prior alone, then a blend that fades over five samples, then the p90 of the samples', () => {
    expect(learnedStartup(180, [])).toEqual({ seconds: 180, prior: 180, samples: 0, source: 'prior' });
    // (180 x 2 + 260 x 3) / 5 = 228
    expect(learnedStartup(180, [240, 260, 250])).toEqual({ seconds: 228, prior: 180, samples: 3, p90: 260, source: 'blend' });
    expect(learnedStartup(180, [240, 260, 250, 255, 270])).toEqual({ seconds: 270, prior: 180, samples: 5, p90: 270, source: 'learned' });
    // Shorter than the prior is learned too: 10 pods at 60..150 s -> p90 (rank 9) 140 s.
    expect(learnedStartup(180, [60, 70, 80, 90, 100, 110, 120, 130, 140, 150]).seconds).toBe(140);
    expect(nearestRank([5, 1, 3], 0.5)).toBe(3);
  });

  it('keeps the newest STARTUP_WINDOW (32) usable samples per pool, ignoring what is not a duration', () => {
    const state = stateWith({ startup: { prefill: Array.from({ length: STARTUP_WINDOW - 1 }, (_, i) => 100 + i), decode: ['x' as unknown as number] } });
    const observation: Observation = { time: '', pools: { prefill: { startupSeconds: [300, 310, -5, Number.NaN, 90_000] }, decode: { startupSeconds: [200] } } };
    const samples = startupSamples(spec, observation, state);
    expect(samples.prefill).toHaveLength(STARTUP_WINDOW);
    expect(samples.prefill!.slice(-2)).toEqual([300, 310]);
    expect(samples.prefill![0]).toBe(101);
    expect(samples.decode).toEqual([200]);
  });

  it('bounded whatever the state brings: only its newest STARTUP_WINDOW entries count; a state file with more, or with a sample that is not a duration, is refused by field', () => {
    // 100,000 old samples, then 32 that are not durations: nothing usable among the newest 32 -> the prior.
    const long = [...Array.from({ length: 100_000 }, () => 300), ...Array.from({ length: STARTUP_WINDOW }, () => -1)];
    const samples = startupSamples(spec, { time: '' }, stateWith({ startup: { prefill: long } }));
    expect(samples.prefill).toBeUndefined();
    expect(withLearnedStartup(spec, { time: '' }, stateWith({ startup: { prefill: long } })).startup.prefill).toMatchObject({ seconds: 180, source: 'prior' });
    const base = { history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {} };
    const refused = (data: unknown) => {
      try {
        parsePlannerState(data);
      } catch (error) {
        return (error as InputError).problems;
      }
      return [];
    };
    expect(refused({ ...base, startup: { prefill: Array.from({ length: STARTUP_WINDOW + 1 }, () => 200) } })).toEqual([
      `state.startup.prefill: at most ${STARTUP_WINDOW} startup times per pool (the newest ones the planner keeps)`,
    ]);
    expect(refused({ ...base, startup: { prefill: [200, -3] } })[0]).toMatch(/^state\.startup\.prefill\[1\]: /);
    expect(refused({ ...base, startup: { prefill: Array.from({ length: STARTUP_WINDOW }, () => 200) } })).toEqual([]);
  });

  it('plans with the learned value: a longer startup looks further ahead, and the explanation says where it came from', () => {
    const base: Observation = { time: '', requests: 600, isl: 2000, osl: 300, pools: { prefill: { desired: 2, ready: 2 }, decode: { desired: 2, ready: 2 } } };
    const prior = decide({ spec, profile, observation: base, state: initialState(), now: T0 });
    // 180 s at 60 s: ready 3 intervals on, serving the 4th.
    expect(prior.decision.explanation.leadForecast?.horizonIntervals).toBe(4);
    expect(prior.decision.explanation.startup?.prefill).toEqual({ seconds: 180, prior: 180, samples: 0, source: 'prior' });
    const measured = [400, 410, 420, 430, 440, 450];
    const learned = decide({ spec, profile, observation: { ...base, pools: { prefill: { desired: 2, ready: 2, startupSeconds: measured }, decode: { desired: 2, ready: 2 } } }, state: initialState(), now: T0 });
    // p90 of six samples = rank 6 = 450 s -> floor(450 / 60) + 1 = 8 intervals.
    expect(learned.decision.explanation.startup?.prefill).toMatchObject({ seconds: 450, source: 'learned', samples: 6 });
    expect(learned.decision.explanation.leadForecast?.horizonIntervals).toBe(8);
    expect(learned.state.startup?.prefill).toEqual(measured);
    // The next tick remembers them without new samples.
    const next = decide({ spec, profile, observation: base, state: learned.state, now: T0 + 60_000 });
    expect(next.decision.explanation.startup?.prefill?.seconds).toBe(450);
    expect(withLearnedStartup(spec, base, initialState()).spec).toBe(spec);
  });
});
