import { describe, expect, it } from 'vitest';
import { TickSteps } from '../../../src/service/tick-step.js';

/** A tick's work that stays open until the test ends it, and records the budget its calls see. */
function openWork(steps: TickSteps) {
  let end!: () => void;
  const seen: ReturnType<TickSteps['budget']>[] = [];
  const abandoned: boolean[] = [];
  const work = async () => {
    seen.push(steps.budget());
    await new Promise<void>((resolve) => (end = resolve));
    seen.push(steps.budget());
    abandoned.push(steps.abandoned());
  };
  return { work, seen, abandoned, end: () => end() };
}

describe('the ticks as their API calls see them', () => {
  it("the planner's stop ends the calls of every running tick, not their decide(); a tick started after it starts stopped", async () => {
    const stop = new AbortController();
    const steps = new TickSteps(stop.signal);
    const a = openWork(steps);
    const b = openWork(steps);
    const first = steps.run(30_000, a.work);
    const second = steps.run(30_000, b.work);
    const budgetA = a.seen[0]!;
    expect(budgetA.signal?.aborted).toBe(false);
    stop.abort(new Error('the planner is stopping (SIGTERM)'));
    for (const { step } of [first, second]) {
      expect(step.budget().signal?.aborted).toBe(true);
      expect((step.budget().signal?.reason as Error).message).toBe('the planner is stopping (SIGTERM)');
      // decide() listens to the timeout alone: a tick finishing while the planner stops still decides.
      expect(step.timeout.signal.aborted).toBe(false);
      expect(step.abandoned).toBe(false);
    }
    expect(budgetA.signal?.aborted).toBe(true);
    const late = steps.run(30_000, async () => steps.budget());
    expect((await late.running)?.signal?.aborted).toBe(true);
    a.end();
    b.end();
    await Promise.all([first.running, second.running]);
  });

  it('a tick given up (its timeout) ends its calls and its decide(), refuses its writes; the other ticks go on', async () => {
    const steps = new TickSteps(new AbortController().signal);
    const a = openWork(steps);
    const b = openWork(steps);
    const given = steps.run(3_000, a.work);
    const other = steps.run(3_000, b.work);
    given.step.abandon('the tick timed out after 3s (per-policy timeout)');
    expect(given.step.budget().signal?.aborted).toBe(true);
    expect(given.step.timeout.signal.aborted).toBe(true);
    expect(other.step.budget().signal?.aborted).toBe(false);
    a.end();
    b.end();
    await Promise.all([given.running, other.running]);
    // Inside each tick's own async context: the abandoned one sees it, the other does not.
    expect([a.seen[1]!.signal!.aborted, b.seen[1]!.signal!.aborted]).toEqual([true, false]);
    expect([...a.abandoned, ...b.abandoned]).toEqual([true, false]);
    expect(steps.abandoned()).toBe(false);
    expect(steps.budget()).toBeUndefined();
  });

  it('the time left runs from the tick start to its deadline', async () => {
    const steps = new TickSteps(new AbortController().signal);
    const { running } = steps.run(3_000, async () => steps.budget()!.remainingMs!());
    const left = await running;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(3_000);
  });

  it('a stop after every tick has returned touches none of them', async () => {
    const stop = new AbortController();
    const steps = new TickSteps(stop.signal);
    const done = steps.run(3_000, async () => 'done');
    await done.running;
    stop.abort(new Error('the planner is stopping (SIGTERM)'));
    expect(done.step.budget().signal?.aborted).toBe(false);
  });
});
