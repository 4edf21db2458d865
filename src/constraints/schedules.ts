/**
 * Scheduled overrides (`spec.schedules`): while a schedule is active it raises the minReplicas of the
 * pools it names (never lowers them, never above maxReplicas). Several active schedules: the highest
 * minimum wins. KEDA's cron scaler is the model.
 *
 * Example: { cron: "0 8 * * 1-5", duration: 10h, minReplicas: { prefill-od: 2 } } with prefill-od
 * min 1, max 8: on a weekday at 09:00 the effective minimum is 2; at 19:00 it is 1 again.
 */
import { formatDuration } from '../config/duration.js';
import type { PolicySpec, ScheduleSpec } from '../config/schema.js';
import { lastFiringWithin } from './cron.js';
import { messageOf } from '../errors.js';

export interface ScheduledMins {
  /** Effective minimum per pool (index as spec.pools). */
  mins: number[];
  /** Per pool, the schedule that raised its minimum (absent = the pool's own minReplicas). */
  raisedBy: (string | undefined)[];
  /** Schedules active now, described ("0 8 * * 1-5 (10h, UTC) since 2026-01-14T08:00:00.000Z"). */
  active: string[];
  warnings: string[];
}

function describeSchedule(schedule: ScheduleSpec): string {
  return `"${schedule.cron}" (${formatDuration(schedule.duration)}, ${schedule.timezone})`;
}

/** When the schedule last fired within its duration before `now`, or undefined if it is not active. */
export function scheduleActiveSince(schedule: ScheduleSpec, now: number): number | undefined {
  return lastFiringWithin(schedule.cron, schedule.timezone, now, schedule.duration * 1000);
}

export function scheduledMins(spec: PolicySpec, now: number): ScheduledMins {
  const mins = spec.pools.map((p) => p.minReplicas);
  const raisedBy: (string | undefined)[] = spec.pools.map(() => undefined);
  const result: ScheduledMins = { mins, raisedBy, active: [], warnings: [] };
  if (spec.schedules.length === 0) return result;
  spec.schedules.forEach((schedule, s) => {
    let since: number | undefined;
    try {
      since = scheduleActiveSince(schedule, now);
    } catch (error) {
      result.warnings.push(`spec.schedules[${s}]: ${messageOf(error)}; schedule ignored`);
      return;
    }
    if (since === undefined) return;
    const label = describeSchedule(schedule);
    result.active.push(`${label} since ${new Date(since).toISOString()}`);
    for (const [name, min] of Object.entries(schedule.minReplicas)) {
      const i = spec.pools.findIndex((p) => p.name === name);
      const pool = spec.pools[i];
      if (pool === undefined) {
        result.warnings.push(`spec.schedules[${s}].minReplicas.${name}: no pool of that name; ignored`);
        continue;
      }
      const raised = Math.min(min, pool.maxReplicas);
      if (min > pool.maxReplicas) {
        result.warnings.push(`spec.schedules[${s}] asks ${name} for at least ${min} replicas, above its maxReplicas ${pool.maxReplicas}; using ${pool.maxReplicas}`);
      }
      if (raised > (mins[i] as number)) {
        mins[i] = raised;
        raisedBy[i] = label;
      }
    }
  });
  return result;
}
