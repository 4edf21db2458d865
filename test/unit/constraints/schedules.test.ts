import { describe, expect, it } from 'vitest';
import { lastFiringWithin } from '../../../src/constraints/cron.js';
import { scheduledMins } from '../../../src/constraints/schedules.js';
import { FOUR_POOLS, makeSpec } from './helpers.js';

const H = 3_600_000;

describe('lastFiringWithin (is a cron schedule active)', () => {
  it('weekday business hours in Paris: active 9.5 h after 08:00 local, not 10.5 h after', () => {
    // Wednesday 2026-01-14; Paris is UTC+1 in January, so 08:00 local = 07:00 UTC.
    const fired = Date.UTC(2026, 0, 14, 7, 0, 0);
    expect(lastFiringWithin('0 8 * * 1-5', 'Europe/Paris', Date.UTC(2026, 0, 14, 16, 30), 10 * H)).toBe(fired);
    expect(lastFiringWithin('0 8 * * 1-5', 'Europe/Paris', Date.UTC(2026, 0, 14, 17, 30), 10 * H)).toBeUndefined();
    // 06:59 UTC = 07:59 Paris: not yet fired today, yesterday's window is over.
    expect(lastFiringWithin('0 8 * * 1-5', 'Europe/Paris', Date.UTC(2026, 0, 14, 6, 59), 10 * H)).toBeUndefined();
    // Exactly at the firing instant it is active.
    expect(lastFiringWithin('0 8 * * 1-5', 'Europe/Paris', fired, 10 * H)).toBe(fired);
  });

  it('skips weekends (Saturday 2026-01-17)', () => {
    expect(lastFiringWithin('0 8 * * 1-5', 'UTC', Date.UTC(2026, 0, 17, 9, 0), 10 * H)).toBeUndefined();
    // A 3-day duration started on Friday 08:00 is still active on Saturday.
    expect(lastFiringWithin('0 8 * * 1-5', 'UTC', Date.UTC(2026, 0, 17, 9, 0), 72 * H)).toBe(Date.UTC(2026, 0, 16, 8, 0));
  });

  it('counts real hours across a DST change (New York, 2026-03-08 02:00 -> 03:00)', () => {
    // 01:00 EST = 06:00 UTC. Three real hours later is 09:00 UTC = 05:00 EDT.
    const fired = Date.UTC(2026, 2, 8, 6, 0);
    expect(lastFiringWithin('0 1 * * *', 'America/New_York', Date.UTC(2026, 2, 8, 8, 59), 3 * H)).toBe(fired);
    expect(lastFiringWithin('0 1 * * *', 'America/New_York', Date.UTC(2026, 2, 8, 9, 1), 3 * H)).toBeUndefined();
  });

  it('understands 6 fields, steps, and the last day of the month', () => {
    expect(lastFiringWithin('30 */15 * * * *', 'UTC', Date.UTC(2026, 0, 14, 12, 16), 2 * 60_000)).toBe(Date.UTC(2026, 0, 14, 12, 15, 30));
    expect(lastFiringWithin('0 0 L * *', 'UTC', Date.UTC(2026, 1, 28, 5), 6 * H)).toBe(Date.UTC(2026, 1, 28));
    expect(lastFiringWithin('0 0 L * *', 'UTC', Date.UTC(2026, 1, 27, 5), 6 * H)).toBeUndefined();
  });

  it('throws a clear error on a bad expression', () => {
    expect(() => lastFiringWithin('61 * * * *', 'UTC', 0, H)).toThrow(/invalid cron expression "61 \* \* \* \*"/);
  });
});

describe('scheduledMins', () => {
  const spec = makeSpec({
    pools: FOUR_POOLS,
    schedules: [
      { cron: '0 8 * * 1-5', duration: '10h', minReplicas: { 'prefill-od': 3, 'decode-od': 20 } },
      { cron: '0 9 * * *', duration: '1h', minReplicas: { 'prefill-od': 2, 'no-such-pool': 1 } },
    ],
  });
  it('raises the named pools while active, highest minimum wins, capped at maxReplicas with a warning', () => {
    const r = scheduledMins(spec, Date.UTC(2026, 0, 14, 9, 30));
    expect(r.mins).toEqual([0, 3, 0, 8]);
    expect(r.raisedBy[1]).toBe('"0 8 * * 1-5" (10h, UTC)');
    expect(r.active).toHaveLength(2);
    expect(r.warnings).toEqual([
      'spec.schedules[0] asks decode-od for at least 20 replicas, above its maxReplicas 8; using 8',
      'spec.schedules[1].minReplicas.no-such-pool: no pool of that name; ignored',
    ]);
  });
  it('leaves the pool minimums alone when no schedule is active', () => {
    const r = scheduledMins(spec, Date.UTC(2026, 0, 14, 19, 0));
    expect(r.mins).toEqual([0, 1, 0, 1]);
    expect(r.active).toEqual([]);
  });
  it('turns an unknown time zone into a warning rather than a crash', () => {
    const bad = makeSpec({ pools: FOUR_POOLS, schedules: [{ cron: '* * * * *', duration: '1h', timezone: 'Mars/Olympus', minReplicas: { 'prefill-od': 2 } }] });
    const r = scheduledMins(bad, Date.UTC(2026, 0, 14, 9, 30));
    expect(r.mins).toEqual([0, 1, 0, 1]);
    expect(r.warnings[0]).toMatch(/^spec\.schedules\[0\]: .*; schedule ignored$/);
  });
});

describe('bounded walk', () => {
  const now = Date.UTC(2026, 5, 15, 12, 0, 0);
  it('a cron that fires once in decades (Feb 29 on a Monday) with a duration of 99999999999 days walks back a year, not forever', () => {
    // Day-of-month AND day-of-week, as node-cron matches them: the last such day was 2016-02-29.
    expect(lastFiringWithin('0 0 29 2 1', 'UTC', now, 99_999_999_999 * 86_400_000)).toBeUndefined();
  });
  it('a yearly cron lasting a year is active half a year later', () => {
    expect(lastFiringWithin('0 0 1 1 *', 'UTC', now, 366 * 86_400_000)).toBe(Date.UTC(2026, 0, 1));
  });
  it('a non-finite time or duration is "not active", not a loop', () => {
    expect(lastFiringWithin('0 8 * * *', 'UTC', Number.NaN, 3_600_000)).toBeUndefined();
    expect(lastFiringWithin('0 8 * * *', 'UTC', now, Number.NaN)).toBeUndefined();
    expect(lastFiringWithin('0 8 * * *', 'UTC', now, Infinity)).toBe(Date.UTC(2026, 5, 15, 8));
  });
});
