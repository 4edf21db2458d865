/**
 * The panic poll in the simulator (planner/panic.ts): a flash crowd of 5x for 150 s (shorter than the 180 s startup)
 * fills the prefill queue within the interval; the poll that sees 10 or more queued decides at that second, not at the
 * interval's end, and more requests meet the SLO than with fastPath off.
 */
import { describe, expect, it } from 'vitest';
import { graphPolicy } from '../../bench/fleet.js';
import type { PolicySpec } from '../../src/config/schema.js';
import type { Decision } from '../../src/planner/types.js';
import { simulate, SIM_EPOCH_MS } from '../../src/sim/run.js';
import { readTrace } from '../../src/sim/traces/index.js';

const CROWD = 'synthetic:burst?rate=2&height=5&length=150&every=15m&start=5m&duration=30m&isl=lognormal:2000:0.6&osl=lognormal:300:0.6';

async function run(edit: (spec: PolicySpec) => PolicySpec) {
  const { spec, profile } = graphPolicy('crowd');
  const trace = await readTrace(CROWD, { seed: 3 });
  const decisions: Decision[] = [];
  const { runs } = await simulate({ spec: edit(spec), profile, trace, baselines: [], seed: 3, onDecision: (_kind, _k, d) => decisions.push(d) });
  return { run: runs[0]!, decisions };
}

const at = (d: Decision) => (Date.parse(d.time) - SIM_EPOCH_MS) / 1000;
const total = (d: Decision) => Object.values(d.pools).reduce((s, p) => s + p.desired, 0);
const fastPath = (on: boolean) => (spec: PolicySpec): PolicySpec => ({ ...spec, sla: { ...spec.sla, improvements: { ...spec.sla.improvements, fastPath: on } } });

describe('panic poll (simulated)', () => {
  it('answers a flash crowd at a poll second inside the interval, and meets the SLO for more requests than without the fast path', async () => {
    const on = await run(fastPath(true));
    const off = await run(fastPath(false));
    const panics = on.decisions.filter((d) => d.explanation.panicPoll !== undefined);
    expect(panics.length).toBeGreaterThan(0);
    // The crowds start at 300 s and 1200 s: the first panic comes within the interval the first crowd begins in,
    // on a 10 s poll second that is not an interval boundary.
    const first = panics[0]!;
    const t = at(first);
    expect(t).toBeGreaterThan(300);
    expect(t).toBeLessThan(360);
    expect(t % 10).toBe(0);
    expect(t % 60).not.toBe(0);
    expect(first.explanation.panicPoll).toMatch(/^panic poll: \d+ queued at \d+ s into the interval/);
    // It orders more than ran before it.
    const before = on.decisions.filter((d) => at(d) < t).at(-1)!;
    expect(total(first)).toBeGreaterThan(total(before));
    // At most one panic decision per interval.
    const intervals = panics.map((d) => Math.floor(at(d) / 60));
    expect(new Set(intervals).size).toBe(intervals.length);
    // No panic poll without the fast path, and no decision off an interval boundary.
    expect(off.decisions.every((d) => d.explanation.panicPoll === undefined && at(d) % 60 === 0)).toBe(true);
    expect(on.run.sloAttainment.both).toBeGreaterThan(off.run.sloAttainment.both);
  }, 120_000);

  it('a panicPoll of 0 s turns the polls off: every decision on an interval boundary', async () => {
    const { decisions } = await run((spec) => ({ ...spec, sla: { ...spec.sla, panicPoll: 0 } }));
    expect(decisions.every((d) => d.explanation.panicPoll === undefined && at(d) % 60 === 0)).toBe(true);
  }, 120_000);
});
