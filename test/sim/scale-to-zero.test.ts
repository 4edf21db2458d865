/**
 * Scale to zero and back in the simulator (bench/fleet.ts setup): 10 minutes of traffic, half an hour without a
 * request, 10 minutes again. The graph spends the idle half hour at zero after its idle delay, wakes at the first
 * tick that sees demand (or the first poll, with a poll interval), drops nothing, and the wait of the requests that
 * woke it is in the attainment.
 */
import { describe, expect, it } from 'vitest';
import { graphPolicy, ZERO_GAP, ZERO_TRACE } from '../../bench/fleet.js';
import type { Decision } from '../../src/planner/types.js';
import { simulate, SIM_EPOCH_MS } from '../../src/sim/run.js';
import { readTrace } from '../../src/sim/traces/index.js';

async function simulateGap(poll?: number) {
  const { spec, profile } = graphPolicy('code', { min: 0, extra: poll !== undefined ? `  scaleToZero: { idleSeconds: 300, pollInterval: ${poll}s }` : '' });
  const trace = await readTrace(ZERO_TRACE, { seed: 7 });
  const decisions: Decision[] = [];
  const { runs } = await simulate({ spec, profile, trace, baselines: [], seed: 7, onDecision: (_kind, _k, d) => decisions.push(d) });
  const first = trace.arrival.find((t) => t >= ZERO_GAP.end) as number;
  const lastBefore = [...trace.arrival].reverse().find((t) => t < ZERO_GAP.start) as number;
  return { run: runs[0]!, decisions, first, lastBefore };
}

const at = (d: Decision) => (Date.parse(d.time) - SIM_EPOCH_MS) / 1000;
const total = (d: Decision) => Object.values(d.pools).reduce((s, p) => s + p.desired, 0);

describe('scale to zero and back (simulated)', () => {
  it('spends the idle half hour at zero GPUs after its 5-minute idle delay, and wakes at the first tick that sees demand', async () => {
    const { run, decisions, first, lastBefore } = await simulateGap();
    expect(lastBefore).toBeGreaterThan(ZERO_GAP.start - 5);
    // The window 10:00-11:00 has no request: idle since 10:00, kept warm until 300 s later, zero at the 15:00 tick.
    const zeroAt = decisions.find((d) => at(d) > ZERO_GAP.start && total(d) === 0)!;
    expect(at(zeroAt)).toBe(ZERO_GAP.start + 300);
    const idle = run.intervals.filter((r) => r.t > ZERO_GAP.start && r.t <= ZERO_GAP.end);
    const atZero = idle.filter((r) => r.gpus === 0);
    // 30 idle minutes: 6 at one replica per role (8 GPUs) or still draining, 24 at zero GPUs...
    expect(atZero.length).toBeGreaterThanOrEqual(24);
    // ... from the 17th minute to the end of the gap, without a break.
    expect(idle.slice(idle.length - atZero.length).every((r) => r.gpus === 0)).toBe(true);
    // The first request after the gap: the tick that ends its minute orders replicas.
    const wake = decisions.find((d) => at(d) > first && total(d) > 0)!;
    expect(at(wake)).toBe(Math.ceil(first / 60) * 60);
    expect(wake.explanation.scaleToZero?.action).toBe('wake');
    // Nothing is dropped; the requests that woke it waited a startup (180 s) and up to one interval more, counted.
    expect(run.droppedRequests).toBe(0);
    const cold = run.coldStarts!;
    expect(cold.wakes).toBe(1);
    expect(cold.requests).toBeGreaterThan(400);
    expect(cold.maxTtftMs / 1000).toBeGreaterThan(180);
    expect(cold.maxTtftMs / 1000).toBeLessThan(180 + 60 + 5);
    expect(run.sloAttainment.both).toBeLessThan(0.9);
  });

  it('with a 10 s poll interval, wakes within 10 s of the first request and its cold start is 50 s shorter', async () => {
    const plain = await simulateGap();
    const polled = await simulateGap(10);
    const wake = polled.decisions.find((d) => at(d) > polled.first && total(d) > 0)!;
    expect(at(wake) - polled.first).toBeLessThanOrEqual(10);
    expect(at(wake) - polled.first).toBeGreaterThan(0);
    // The poll itself held no GPU and changed nothing while there was no demand: the same idle GPU-hours.
    const idleGpus = (r: typeof plain.run) => r.intervals.filter((x) => x.t > ZERO_GAP.start && x.t <= ZERO_GAP.end).reduce((s, x) => s + x.gpus, 0);
    expect(idleGpus(polled.run)).toBe(idleGpus(plain.run));
    expect(plain.run.coldStarts!.maxTtftMs - polled.run.coldStarts!.maxTtftMs).toBeGreaterThan(45_000);
    expect(polled.run.droppedRequests).toBe(0);
  });
});
