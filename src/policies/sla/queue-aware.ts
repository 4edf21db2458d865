/**
 * `queueAware` (spec.sla.improvements.queueAware): a backlog beyond what the queue model expects at the current
 * replicas (Little's law, L_q = lambda x W_q) is cleared within the TTFT target:
 * extra = ceil(excess x serviceSeconds / ttftTarget), at most the base need (a backlog is a symptom; it clears once
 * capacity arrives). 20 queued at 5 replicas, lambda 30/s, L_q = 2.5: excess 17.5 x 0.1354 s / 0.5 s = 4.74 -> 5 extra.
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
  const extra = Math.min(base, Math.ceil((excess * serviceS) / ctx.ttftTargetS));
  return {
    replicas: base + extra,
    detail: Object.assign(prefill.detail, {
      queueDepth: obs.queueDepth,
      expectedQueue: r4(expected),
      backlogExcess: r4(excess),
      backlogServiceSeconds: r4(serviceS),
      backlogExtraReplicas: extra,
      replicas: base + extra,
    }),
  };
}
