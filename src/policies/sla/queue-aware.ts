/**
 * `queueAware` (spec.sla.improvements.queueAware): a backlog beyond what the queue model expects at the current
 * replicas (Little's law, L_q = lambda x W_q) gets the capacity to drain it by the time that capacity can serve:
 * extra = ceil(excess x serviceSeconds / drain), drain = max(TTFT target, startupSeconds of the prefill pools), at
 * most the base need. Replicas ordered now serve only after startupSeconds, and the requests already queued have
 * missed by then: sizing extra capacity to clear the backlog within the TTFT target would ask for many replicas that
 * arrive after it is gone (on a step of 3x, a 1000-request backlog x 0.18 s / 2 s is 90 replicas; capped at the
 * base need that still doubles prefill for the 5 minutes of the scale-down window).
 * 20 queued at 5 replicas, lambda 30/s, L_q = 2.5, startup 0: excess 17.5 x 0.1354 s / 0.5 s = 4.74 -> 5 extra;
 * with startup 180 s: 17.5 x 0.1354 / 180 = 0.013 -> 1 extra.
 */
import type { RoleNeed } from '../../planner/types.js';
import { isUsable, r4, windowSeconds } from '../common.js';
import { expectedQueue } from '../queue-model.js';
import type { SlaContext } from './context.js';

/** The prefill need with the backlog's extra replicas (the same need when off or the queue depth is unknown). */
export function queueAwareStep(ctx: SlaContext, prefill: RoleNeed, factor: number): RoleNeed {
  if (!ctx.improvements.queueAware) return prefill;
  const { obs, input, profile, gpus, interval } = ctx;
  if (!isUsable(obs.queueDepth) || obs.queueDepth < 0) {
    ctx.missing.queueDepth = 'no queue depth; queue-aware prefill skipped';
    return prefill;
  }
  const f = input.forecast;
  const isl = f.isl.value;
  const mu = isl > 0 ? (profile.prefillThptPerGpu(isl).value * gpus.prefill) / (isl * factor) : Infinity;
  const lambda = isUsable(obs.requests) ? obs.requests / windowSeconds(obs.windowSeconds, interval) : f.requests.value / interval;
  const c0 = input.current.prefill;
  const lq = c0 > 0 ? expectedQueue(c0, lambda, mu) : 0;
  const expected = Number.isFinite(lq) ? lq : 0;
  const excess = Math.max(0, obs.queueDepth - expected);
  const serviceS = Number.isFinite(mu) && mu > 0 ? 1 / mu : 0;
  const base = prefill.replicas;
  let startup = 0;
  for (const pool of ctx.spec.pools) if (pool.role === 'prefill') startup = Math.max(startup, pool.startupSeconds);
  const drainS = Math.max(ctx.ttftTargetS, startup);
  const extra = Math.min(base, Math.ceil((excess * serviceS) / drainS));
  return {
    replicas: base + extra,
    detail: Object.assign(prefill.detail, {
      queueDepth: obs.queueDepth,
      expectedQueue: r4(expected),
      backlogExcess: r4(excess),
      backlogServiceSeconds: r4(serviceS),
      backlogDrainSeconds: r4(drainS),
      backlogExtraReplicas: extra,
      replicas: base + extra,
    }),
  };
}
