/**
 * The `load` policy: threshold rules with hysteresis, like Dynamo's G0 load planner.
 *
 * Prefill: queued requests per prefill replica. Above `spec.load.prefillQueuePerReplica.up` add `step` replicas,
 * below `.down` remove `step`, in between keep the count (the gap between up and down is the hysteresis band that
 * stops flapping). Decode: the same on mean KV-cache use (0..1) with `spec.load.decodeKvUsage`.
 * Example (defaults up 4, down 1, step 1): 3 prefill replicas, 15 queued -> 5 per replica > 4 -> 4 replicas;
 * 6 queued -> 2 per replica, inside [1, 4] -> stay at 3; 2 queued -> 0.67 < 1 -> 2 replicas.
 * Never below 1 (Dynamo's min endpoint); a missing metric keeps the current count and says so.
 */
import { holdNeed, isUsable, MIN_ENDPOINT, r4 } from './common.js';
import type { Policy } from './types.js';
import type { RoleNeed } from '../planner/types.js';

/** One threshold rule: value above `up` adds `step`, below `down` removes `step`. */
export function thresholdStep(current: number, value: number, up: number, down: number, step: number): { replicas: number; action: 'up' | 'down' | 'hold' } {
  if (value > up) return { replicas: Math.max(MIN_ENDPOINT, current + step), action: 'up' };
  if (value < down) return { replicas: Math.max(MIN_ENDPOINT, current - step), action: 'down' };
  return { replicas: Math.max(MIN_ENDPOINT, current), action: 'hold' };
}

export const loadPolicy: Policy = (input) => {
  const { spec, observation: obs, current } = input;
  const rules = spec.load;
  const missing: Record<string, string> = {};
  const warnings: string[] = [];

  let prefill: RoleNeed;
  if (!isUsable(obs.queueDepth) || obs.queueDepth < 0) {
    missing.queueDepth = `kept ${Math.max(current.prefill, MIN_ENDPOINT)} prefill replicas (no queue depth)`;
    prefill = holdNeed(current.prefill, 'no prefill queue depth observed');
  } else {
    // With no replica running, any queued request counts as "above up": start one.
    const perReplica = current.prefill > 0 ? obs.queueDepth / current.prefill : obs.queueDepth > 0 ? Infinity : 0;
    const r = thresholdStep(current.prefill, perReplica, rules.prefillQueuePerReplica.up, rules.prefillQueuePerReplica.down, rules.step);
    prefill = {
      replicas: r.replicas,
      detail: {
        rule: 'queue per replica > up: +step; < down: -step; else hold',
        queueDepth: obs.queueDepth,
        current: current.prefill,
        queuePerReplica: Number.isFinite(perReplica) ? r4(perReplica) : 'no replicas',
        up: rules.prefillQueuePerReplica.up,
        down: rules.prefillQueuePerReplica.down,
        step: rules.step,
        action: r.action,
        replicas: r.replicas,
      },
    };
  }

  let decode: RoleNeed;
  if (!isUsable(obs.kvUsage) || obs.kvUsage < 0) {
    missing.kvUsage = `kept ${Math.max(current.decode, MIN_ENDPOINT)} decode replicas (no KV-cache usage)`;
    decode = holdNeed(current.decode, 'no decode KV-cache usage observed');
  } else {
    const r = thresholdStep(current.decode, obs.kvUsage, rules.decodeKvUsage.up, rules.decodeKvUsage.down, rules.step);
    decode = {
      replicas: r.replicas,
      detail: {
        rule: 'mean KV use > up: +step; < down: -step; else hold',
        kvUsage: r4(obs.kvUsage),
        current: current.decode,
        up: rules.decodeKvUsage.up,
        down: rules.decodeKvUsage.down,
        step: rules.step,
        action: r.action,
        replicas: r.replicas,
      },
    };
  }
  if (rules.prefillQueuePerReplica.down > rules.prefillQueuePerReplica.up) {
    warnings.push(`spec.load.prefillQueuePerReplica: down ${rules.prefillQueuePerReplica.down} is above up ${rules.prefillQueuePerReplica.up}; the rule will flap`);
  }
  if (rules.decodeKvUsage.down > rules.decodeKvUsage.up) {
    warnings.push(`spec.load.decodeKvUsage: down ${rules.decodeKvUsage.down} is above up ${rules.decodeKvUsage.up}; the rule will flap`);
  }
  return { need: { prefill, decode }, correction: input.correction, warnings, missing };
};
