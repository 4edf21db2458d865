/**
 * `leadTime` (spec.sla.improvements.leadTime): new replicas help only after `startupSeconds`, so we also size for
 * `leadForecast` (the load expected then) and take the larger need per role.
 * Load rising from 5400 to 9000 per interval (ISL 3000, I 180 s): 5 -> 7 prefill replicas.
 */
import type { Forecast } from '../../planner/types.js';
import { checkForecast, r4 } from '../common.js';
import type { SlaContext } from './context.js';
import type { Sized } from './sizing.js';

export function leadTimeStep(ctx: SlaContext, next: Sized, size: (f: Forecast) => Sized): Sized {
  if (!ctx.improvements.leadTime) return next;
  const leadForecast = ctx.input.leadForecast;
  const lf = checkForecast(leadForecast, 'leadForecast');
  if (!lf.ok || !leadForecast) {
    ctx.missing[lf.ok ? 'leadForecast' : lf.field] = 'no usable lead-time forecast; sized for the next interval only';
    return next;
  }
  const lead = size(leadForecast);
  const chosen: Sized = { ...next, decodeFeasible: next.decodeFeasible && lead.decodeFeasible, queueInfeasible: next.queueInfeasible || lead.queueInfeasible };
  for (const role of ['prefill', 'decode'] as const) {
    const useLead = lead[role].replicas > next[role].replicas;
    const base = useLead ? lead[role] : next[role];
    Object.assign(base.detail, {
      sizedFor: useLead ? 'lead-time forecast' : 'next-interval forecast',
      nextReplicas: next[role].replicas,
      leadReplicas: lead[role].replicas,
      leadRequests: r4(leadForecast.requests.value),
    });
    chosen[role] = base;
  }
  return chosen;
}
