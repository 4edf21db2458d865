/**
 * What a run paid for replicas it had ordered and that were not ready yet: GPUs billed while they start, serving
 * nothing. A planner that scales up and back down on small wobbles pays a startup each time, and this is where it
 * shows. Part of the run's GPU-hours, not on top of them.
 * Example: "policy: 3.40 of 50.10 GPU-hours (6.8%) on replicas still starting."
 */
import type { RunResult } from '../types.js';
import { fmtGpuHours, fmtPct } from './format.js';

export function startingLines(runs: readonly Pick<RunResult, 'policy' | 'gpuHours'>[]): string[] {
  const lines: string[] = [];
  for (const run of runs) {
    const starting = run.gpuHours.starting;
    const total = run.gpuHours.total;
    if (typeof starting !== 'number' || !(starting > 0) || !(total > 0)) continue;
    lines.push(`${run.policy}: ${fmtGpuHours(starting)} of ${fmtGpuHours(total)} GPU-hours (${fmtPct(starting / total)}) on replicas still starting.`);
  }
  return lines;
}

/**
 * The same for the terminal, every run on one line.
 * Example: "Starting: policy 3.44 of 50.14 GPU-hours (6.9%), hpa-tuned 0.80 of 45.39 (1.8%) on replicas still starting."
 */
export function startingSummary(runs: readonly Pick<RunResult, 'policy' | 'gpuHours'>[]): string | undefined {
  const parts: string[] = [];
  for (const run of runs) {
    const starting = run.gpuHours.starting;
    const total = run.gpuHours.total;
    if (typeof starting !== 'number' || !(starting >= 0) || !(total > 0)) continue;
    parts.push(`${run.policy} ${fmtGpuHours(starting)} of ${fmtGpuHours(total)}${parts.length === 0 ? ' GPU-hours' : ''} (${fmtPct(starting / total)})`);
  }
  return parts.length > 0 && runs.some((r) => (r.gpuHours.starting ?? 0) > 0) ? `Starting: ${parts.join(', ')} on replicas still starting.` : undefined;
}
