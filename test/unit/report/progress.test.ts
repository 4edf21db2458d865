import { describe, expect, it } from 'vitest';
import { createProgress, progressLine, type ProgressStream } from '../../../src/cli/progress.js';

class FakeStream implements ProgressStream {
  writes: string[] = [];
  constructor(public isTTY: boolean, public columns = 80) {}
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return true;
  }
}

function fakeClock(): { now: () => number; set: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, set: (ms) => { t = 1000 + ms; } };
}

describe('createProgress', () => {
  it('writes nothing when the stream is not a TTY', () => {
    const stream = new FakeStream(false);
    const clock = fakeClock();
    const p = createProgress('simulate', 100, stream, { now: clock.now, env: {} });
    for (let i = 1; i <= 100; i++) {
      clock.set(i * 50);
      p.update(i);
    }
    p.done();
    expect(stream.writes).toEqual([]);
  });

  it('writes nothing in CI, even on a TTY', () => {
    const stream = new FakeStream(true);
    const clock = fakeClock();
    const p = createProgress('simulate', 100, stream, { now: clock.now, env: { CI: 'true' } });
    clock.set(500);
    p.update(50);
    p.done();
    expect(stream.writes).toEqual([]);
  });

  it('redraws at most 10 times a second on a TTY, then ends the line', () => {
    const stream = new FakeStream(true);
    const clock = fakeClock();
    const p = createProgress('simulate', 1000, stream, { now: clock.now, env: { CI: 'false' } });
    // 1,000 updates over 1 s (one per ms): 10 redraws, not 1,000.
    for (let i = 1; i <= 1000; i++) {
      clock.set(i);
      p.update(i);
    }
    expect(stream.writes).toHaveLength(10);
    const first = stream.writes[0]!;
    expect(first.startsWith('\rsimulate [####')).toBe(true);
    expect(first.endsWith(']  10%  1000/s  ETA 0.90 s\u001b[K')).toBe(true);
    p.done();
    expect(stream.writes.at(-1)).toBe('\n');
    expect(stream.writes.at(-2)).toContain(' 100%  1000/s  in 1.0 s');
    p.update(5);
    p.done();
    expect(stream.writes).toHaveLength(12);
  });

  it('stays silent for a run that ends before the first redraw', () => {
    const stream = new FakeStream(true);
    const clock = fakeClock();
    const p = createProgress('simulate', 10, stream, { now: clock.now, env: {} });
    clock.set(30);
    p.update(10);
    p.done();
    expect(stream.writes).toEqual([]);
  });
});

describe('progressLine', () => {
  it('shows bar, percentage, rate and ETA', () => {
    // 450,000 of 1,000,000 in 0.3 s: 1.5M/s, 550,000 left -> 0.37 s; a 40-column bar 45% full = 18 '#'.
    expect(progressLine('simulate', 450_000, 1_000_000, 300, 80)).toBe(
      `simulate [${'#'.repeat(18)}${'.'.repeat(22)}]  45%  1.50M/s  ETA 0.37 s`,
    );
  });

  it('fits a narrow terminal and handles an unknown total', () => {
    const narrow = progressLine('simulate', 450_000, 1_000_000, 300, 40);
    expect(narrow.length).toBeLessThan(40);
    expect(narrow).toContain('45%');
    expect(progressLine('replay', 1234, 0, 2000)).toBe('replay 1,234  617/s');
  });
});
