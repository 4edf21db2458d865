/**
 * The one-screen summary `pd-planner validate FLEET.yaml` prints for a valid fleet: the shared budget, and per graph
 * its file, priority, policy kind, the GPUs its pools span and its share under the `split` baseline.
 */
import { formatDuration } from './duration.js';
import type { LoadedFleet } from './fleet-load.js';
import type { PoolSpec } from './schema.js';

function gpus(pools: readonly PoolSpec[], pick: (p: PoolSpec) => number): number {
  return pools.reduce((s, p) => s + pick(p) * p.gpusPerReplica, 0);
}

export function summarizeFleet(fleet: LoadedFleet): string {
  const { file, graphs } = fleet;
  const b = file.spec.budget;
  const lines: string[] = [];
  const ns = file.metadata.namespace ? ` (namespace ${file.metadata.namespace})` : '';
  lines.push(`${fleet.path}: valid PlannerFleet "${fleet.name}"${ns}`);
  const limits = [`${b.maxGpus} GPUs`];
  if (b.maxSpotGpus !== undefined) limits.push(`${b.maxSpotGpus} on Spot`);
  if (b.maxOnDemandGpus !== undefined) limits.push(`${b.maxOnDemandGpus} on-demand`);
  const minSum = graphs.reduce((s, g) => s + gpus(g.spec.pools, (p) => p.minReplicas), 0);
  const maxSum = graphs.reduce((s, g) => s + gpus(g.spec.pools, (p) => p.maxReplicas), 0);
  lines.push(`  budget       ${limits.join(', ')}, shared; the graphs' pools span ${minSum}-${maxSum} GPUs`);
  lines.push(`  interval     ${formatDuration(graphs[0]?.spec.interval ?? 60)} (every graph decided together)`);
  lines.push('  arbitration  minimums first, then by priority (highest first), then by SLO pressure within a priority');
  const sumPriority = graphs.reduce((s, g) => s + g.priority, 0);
  const rows = [['graph', 'policy file', 'priority', 'policy', 'GPUs (min-max)', 'split share', 'SLO (TTFT / ITL)', 'to zero']];
  for (const g of graphs) {
    const zero = (['prefill', 'decode'] as const).filter((role) => g.spec.pools.filter((p) => p.role === role).every((p) => p.minReplicas === 0));
    rows.push([
      g.name,
      g.policy,
      String(g.priority),
      g.spec.policy,
      `${gpus(g.spec.pools, (p) => p.minReplicas)}-${gpus(g.spec.pools, (p) => p.maxReplicas)}`,
      String(Math.floor((b.maxGpus * g.priority) / sumPriority)),
      `p${g.spec.slo.ttft.percentile} ${g.spec.slo.ttft.ms} ms / p${g.spec.slo.itl.percentile} ${g.spec.slo.itl.ms} ms`,
      zero.length === 0 ? 'no' : `${zero.join('+')} after ${formatDuration(g.spec.scaleToZero.idleSeconds)}`,
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  lines.push('  graphs');
  for (const r of rows) lines.push(`    ${r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd()}`);
  if (fleet.warnings.length === 0) lines.push('  warnings     none');
  else {
    lines.push(`  warnings (${fleet.warnings.length})`);
    for (const w of fleet.warnings) lines.push(`    ${w}`);
  }
  return lines.join('\n');
}
