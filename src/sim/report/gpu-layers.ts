/**
 * Where a run's GPU-hours went, in words: the desired GPU-hours of its decisions by what asked for them
 * (planner/gpu-layers.ts), largest first after the policy's own need, with each one's share of the total. An operator
 * reads from it which rule to question first: a Spot eviction spare that costs a fifth of the run where evictions are
 * rare, or a scale-down window that keeps a flapping need at its top.
 * Example: "policy: desired 14.06 GPU-hours = need 7.40 + Spot eviction spare 3.21 (22.8%) + the policy's margins over the
 * bare need (...) 2.71 (19.3%) + stabilization windows 0.67 (4.8%) + ...; ran 14.10."
 */
import { GPU_LAYERS, type GpuLayer } from '../../planner/gpu-layers.js';
import type { RunResult } from '../types.js';
import { fmtGpuHours, fmtPct } from './format.js';

export const LAYER_LABELS: Record<GpuLayer, string> = {
  start: 'warm start before the first decision',
  need: 'need',
  margins: "the policy's margins over the bare need (target utilisation, corrections, burst, lead time, SLO headroom, holds)",
  held: 'counts kept while metrics were missing',
  evictionSpare: 'Spot eviction spare',
  minimums: 'minimums, schedules and holds',
  stabilization: 'stabilization windows',
  stepLimits: 'step limits',
  readinessGate: 'readiness gate',
  caps: "budget (a fleet's share included) and maxReplicas",
  scaleToZero: 'scale to zero',
  other: 'other (rounding between replica sizes)',
};

/** Layers under half a hundredth of a GPU-hour are left out of the sentence (they still add up in report.json). */
const SHOWN_FROM = 0.005;

export function gpuLayerLine(run: Pick<RunResult, 'policy' | 'gpuHours' | 'desiredGpuHours'>): string | undefined {
  const layers = run.desiredGpuHours;
  if (!layers) return undefined;
  let total = 0;
  for (const layer of GPU_LAYERS) total += layers[layer];
  if (!(total > 0)) return undefined;
  const rest = GPU_LAYERS.filter((l) => l !== 'need' && Math.abs(layers[l]) >= SHOWN_FROM).sort((a, b) => Math.abs(layers[b]) - Math.abs(layers[a]));
  const parts = rest.map((l) => `${layers[l] < 0 ? '-' : '+'} ${LAYER_LABELS[l]} ${fmtGpuHours(Math.abs(layers[l]))} (${fmtPct(Math.abs(layers[l]) / total)})`);
  return `${run.policy}: desired ${fmtGpuHours(total)} GPU-hours = ${LAYER_LABELS.need} ${fmtGpuHours(layers.need)}${parts.length > 0 ? ` ${parts.join(' ')}` : ''}; ran ${fmtGpuHours(run.gpuHours.total)}.`;
}

/** One line per run of the planner (schedules and Dynamo's own loop have no layers). */
export function gpuLayerLines(runs: readonly Pick<RunResult, 'policy' | 'gpuHours' | 'desiredGpuHours'>[]): string[] {
  return runs.flatMap((run) => {
    const line = gpuLayerLine(run);
    return line ? [line] : [];
  });
}
