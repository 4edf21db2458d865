/**
 * The desired GPU-hours of a run by layer (planner/gpu-layers.ts): each decision's layers for as long as it stood, and
 * the warm start's GPUs (`start`) until the first decision. A decision stands from the second it was applied until the
 * next one; the last one until the run's end. Used by the single-graph replay and by each graph of a fleet replay.
 * Example: warm start 16 GPUs, a decision at 60 s of need 12 + spare 4, another at 120 s of need 8, run end 180 s ->
 * start 16 x 60 / 3600 = 0.267, need (12 + 8) x 60 / 3600 = 0.333, evictionSpare 4 x 60 / 3600 = 0.067 GPU-hours.
 */
import type { PolicySpec } from '../config/schema.js';
import { addLayers, decisionGpuLayers, emptyLayers, type GpuLayers } from '../planner/gpu-layers.js';
import type { Decision } from '../planner/types.js';

export interface LayerHours {
  /** A decision applied at virtual second t. */
  decided(t: number, decision: Decision): void;
  /** Count what stands up to virtual second t (the run's end); idempotent for the same t. */
  until(t: number): void;
  /** The layers in GPU-hours; undefined when nothing was decided (a schedule, Dynamo's own loop). */
  result(): GpuLayers | undefined;
}

/** GPUs of replica counts per pool (pools the spec does not name count for nothing). */
export function poolGpus(spec: PolicySpec, counts: Record<string, number>): number {
  let gpus = 0;
  for (const pool of spec.pools) gpus += (counts[pool.name] ?? 0) * pool.gpusPerReplica;
  return gpus;
}

export function layerHours(spec: PolicySpec, initial: Record<string, number>): LayerHours {
  const hours = emptyLayers();
  const start = { ...emptyLayers(), start: poolGpus(spec, initial) };
  let standing: GpuLayers = start;
  let since = 0;
  let decided = false;
  const until = (t: number) => {
    if (t > since) addLayers(hours, standing, (t - since) / 3600);
    since = Math.max(since, t);
  };
  return {
    decided(t, decision) {
      until(t);
      standing = decisionGpuLayers(spec, decision);
      decided = true;
    },
    until,
    result: () => (decided ? hours : undefined),
  };
}
