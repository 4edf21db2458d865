/**
 * Where one decision's GPUs come from: the policy's need, then what each constraint added or took away, read from
 * the decision's own explanation. The simulator adds these up over a run (weighted by how long each decision stood),
 * so a report can say which rule a run's GPU-hours went to.
 *
 * Every constraint effect records the count it changed (`from` -> `to`): in role units (the role's first pool's
 * gpusPerReplica) when it acts on a role's total, in the pool's replicas when it names a pool. Its GPUs are
 * (to - from) x that size. The effects that only move replicas between a role's pools (the Spot split: `spot-cap`,
 * `on-demand-floor`, `placement`, `spot-unavailable`) change no total and count for nothing here.
 *
 * A role whose need the policy could not compute (metrics missing; its need is shown with `held: true`) kept its
 * counts: its GPUs, less what the constraints changed, are `held`. What the layers do not explain is `other`, so the
 * layers always add up to the decision's GPUs: the rounding between replica sizes where a role's pools differ in
 * gpusPerReplica (role totals, their bounds and the Spot split count whole units of the first pool's size, a pool of
 * another size whole replicas of its own). Where each role's pools share one size it is 0. A fleet's share is no
 * exception: a graph that gives GPUs up is decided again under a budget of its grant, so its cut is in `caps`.
 * `start` is for a run's caller: the warm start it ran before the first decision.
 *
 * A policy that shows its bare need (sla's `bareReplicas`: the load at the profiled throughput, at utilisation 1, without
 * corrections, burst, lead time or SLO headroom) has it as `need` and the rest of what it asked for as `margins`.
 *
 * Example: prefill of 4-GPU replicas, need 3, eviction spare +1, the scale-down window keeps 5 -> need 12 GPUs,
 * evictionSpare 4, stabilization 4; decode of 4-GPU replicas, need 2 (8 GPUs), a spare +1 (4), the readiness gate
 * keeps the pool at 2 (-4): desired 32 GPUs = 12 + 8 + 4 + 4 + 4 - 4.
 */
import { ROLES, type PolicySpec, type Role } from '../config/schema.js';
import { poolLayout } from '../constraints/layout.js';
import type { ConstraintEffect, Decision } from './types.js';

export const GPU_LAYERS = ['start', 'need', 'margins', 'held', 'evictionSpare', 'minimums', 'stabilization', 'stepLimits', 'readinessGate', 'caps', 'scaleToZero', 'other'] as const;
export type GpuLayer = (typeof GPU_LAYERS)[number];
export type GpuLayers = Record<GpuLayer, number>;

/** The layer each constraint's change counts in; undefined for those that only move replicas between pools. */
const LAYER_OF: Record<ConstraintEffect['constraint'], GpuLayer | undefined> = {
  'eviction-headroom': 'evictionSpare',
  min: 'minimums',
  schedule: 'minimums',
  hold: 'minimums',
  stabilization: 'stabilization',
  'step-up': 'stepLimits',
  'step-down': 'stepLimits',
  readiness: 'readinessGate',
  budget: 'caps',
  max: 'caps',
  'scale-to-zero': 'scaleToZero',
  'spot-cap': undefined,
  'on-demand-floor': undefined,
  placement: undefined,
  'spot-unavailable': undefined,
};

export function emptyLayers(): GpuLayers {
  return Object.fromEntries(GPU_LAYERS.map((layer) => [layer, 0])) as GpuLayers;
}

/** The GPUs of one decision, by layer (they add up to the GPUs of its pools). */
export function decisionGpuLayers(spec: PolicySpec, decision: Decision): GpuLayers {
  const layout = poolLayout(spec);
  const layers = emptyLayers();
  const gpusOf = new Map(spec.pools.map((pool) => [pool.name, pool.gpusPerReplica]));
  const changed: Record<Role, number> = { prefill: 0, decode: 0 };
  // Per pool, what its scale-down/scale-up window and step limits changed, for a hard bound that undoes it.
  const windowed = new Map<string, { layer: GpuLayer; gpus: number }[]>();
  for (const effect of decision.explanation.constraints) {
    const layer = LAYER_OF[effect.constraint];
    if (layer === undefined || effect.role === undefined) continue;
    const size = effect.pool !== undefined ? gpusOf.get(effect.pool) : layout.roles[effect.role].unitGpus;
    const delta = (effect.to - effect.from) * (size ?? 0);
    if (!Number.isFinite(delta)) continue;
    changed[effect.role] += delta;
    if (effect.pool !== undefined && (layer === 'stabilization' || layer === 'stepLimits')) {
      const list = windowed.get(effect.pool) ?? [];
      list.push({ layer, gpus: delta });
      windowed.set(effect.pool, list);
    }
    layers[layer] += effect.pool !== undefined && (layer === 'minimums' || (layer === 'caps' && effect.constraint === 'max')) ? undoWindows(layers, windowed.get(effect.pool), delta) : delta;
  }
  for (const role of ROLES) {
    let desired = 0;
    for (const pool of Object.values(decision.pools)) if (pool.role === role && Number.isFinite(pool.gpus)) desired += pool.gpus;
    if (layout.roles[role].all.length === 0) {
      layers.other += desired;
      continue;
    }
    const shown = decision.explanation.need[role];
    const asked = shown?.replicas;
    if (asked === undefined || !Number.isFinite(asked) || shown?.detail.held === true) {
      layers.held += desired - changed[role];
      continue;
    }
    const unit = layout.roles[role].unitGpus;
    const need = Math.max(0, Math.ceil(asked)) * unit;
    // A policy that shows its bare need (sla: the load at profiled throughput, before its margins) splits it off.
    const bare = shown?.detail.bareReplicas;
    const bareGpus = typeof bare === 'number' && Number.isFinite(bare) ? Math.min(need, Math.max(0, Math.ceil(bare)) * unit) : need;
    layers.need += bareGpus;
    layers.margins += need - bareGpus;
    layers.other += desired - need - changed[role];
  }
  return layers;
}

/**
 * A pool's hard bound (its minimum, schedule or hold; its maxReplicas) applied after its window and step limits first
 * takes back what they changed the other way: those GPUs were never theirs to defer or keep. Returns what is left for
 * the bound's own layer. Example: a scale-up window holds a pool at 0 (-28 GPUs, stabilization) and the count known to
 * run raises it back to 7 (+28): stabilization 0, minimums 0, not -28 and +28. A step limit that cuts 10 to 4 (-6)
 * before a schedule raises it to 8 (+4): step limits -2, minimums 0.
 */
function undoWindows(layers: GpuLayers, windows: { layer: GpuLayer; gpus: number }[] | undefined, delta: number): number {
  let rest = delta;
  for (let i = (windows?.length ?? 0) - 1; i >= 0 && rest !== 0; i--) {
    const w = windows![i]!;
    if (Math.sign(w.gpus) === Math.sign(rest) || w.gpus === 0) continue;
    const back = Math.sign(rest) * Math.min(Math.abs(rest), Math.abs(w.gpus));
    layers[w.layer] += back;
    w.gpus += back;
    rest -= back;
  }
  return rest;
}

/** a + b x weight, layer by layer (weight: hours the decision stood). */
export function addLayers(into: GpuLayers, layers: GpuLayers, weight: number): void {
  for (const layer of GPU_LAYERS) into[layer] += layers[layer] * weight;
}
