/**
 * The fleet file (`kind: PlannerFleet`): several graphs, each its own PlannerPolicy file, planned together on one
 * GPU budget (src/fleet/ arbitrates it).
 *
 *   apiVersion: pd-planner/v1
 *   kind: PlannerFleet
 *   metadata: { name: aks-h100 }
 *   spec:
 *     budget: { maxGpus: 48 }            # shared by every graph below; optional maxSpotGpus, maxOnDemandGpus
 *     graphs:
 *       - { policy: chat.yaml, priority: 2 }   # paths relative to this file
 *       - { policy: code.yaml, priority: 1 }
 *
 * The schema is here; the cross-graph checks (`checkFleet`) take the loaded policies (fleet-load.ts reads them).
 */
import { z } from 'zod';
import { formatDuration } from './duration.js';
import type { PolicyFile, PolicySpec, PoolSpec } from './schema.js';
import { MAX_BUDGET_GPUS, metadataSchema } from './schema.js';
import { targetKey } from './validate.js';

/** Graphs per fleet: one decision per graph per tick, twice (the probe and the final one). */
export const MAX_FLEET_GRAPHS = 64;
/** Priorities are weights people write (1, 2, 10): a ceiling keeps them readable. */
export const MAX_PRIORITY = 1000;

const gpus = z.number().int().positive().max(MAX_BUDGET_GPUS);

export const fleetFile = z.strictObject({
  apiVersion: z.literal('pd-planner/v1'),
  kind: z.literal('PlannerFleet'),
  metadata: metadataSchema,
  spec: z.strictObject({
    budget: z.strictObject({
      /** GPUs every graph together may run. */
      maxGpus: gpus,
      /** GPUs every graph together may run on Spot pools (e.g. the Spot node pool's quota); omitted = no separate limit. */
      maxSpotGpus: gpus.optional(),
      /** The same for on-demand pools. */
      maxOnDemandGpus: gpus.optional(),
    }),
    graphs: z
      .array(
        z.strictObject({
          /** The graph's PlannerPolicy file, relative to the fleet file. */
          policy: z.string().min(1),
          /** Under contention a higher priority is served first (a number > 0; default 1). */
          priority: z.number().positive().max(MAX_PRIORITY).default(1),
        }),
      )
      .min(1, 'at least one graph is needed')
      .max(MAX_FLEET_GRAPHS, `at most ${MAX_FLEET_GRAPHS} graphs per fleet`),
  }),
});

export type FleetFile = z.infer<typeof fleetFile>;

/** One graph of a loaded fleet: its policy file and what it holds. */
export interface FleetGraphPolicy {
  /** Its policy's metadata.name. */
  name: string;
  priority: number;
  /** The path as written in the fleet file, and resolved against the fleet file's directory. */
  policy: string;
  path: string;
  file: PolicyFile;
  spec: PolicySpec;
}

export interface CheckResult {
  problems: string[];
  warnings: string[];
}

function minimumGpus(pools: readonly PoolSpec[], only?: 'spot' | 'on-demand'): number {
  return pools.filter((p) => only === undefined || p.capacity === only).reduce((s, p) => s + p.minReplicas * p.gpusPerReplica, 0);
}

/**
 * Checks across the graphs of a fleet (each policy is valid on its own already):
 * names unique, no file listed twice, one interval, targets not shared, the budget holding every minimum.
 */
export function checkFleet(fleet: FleetFile, graphs: readonly FleetGraphPolicy[]): CheckResult {
  const out: CheckResult = { problems: [], warnings: [] };
  const at = (i: number) => `spec.graphs[${i}].policy`;
  const byName = new Map<string, number>();
  const byPath = new Map<string, number>();
  const byTarget = new Map<string, string>();
  graphs.forEach((g, i) => {
    const path = byPath.get(g.path);
    if (path !== undefined) out.problems.push(`${at(i)}: ${g.policy} is listed twice (also spec.graphs[${path}]); list each graph once`);
    else byPath.set(g.path, i);
    const other = byName.get(g.name);
    if (other !== undefined && path === undefined) {
      out.problems.push(`${at(i)}: metadata.name "${g.name}" of ${g.policy} is also the name of spec.graphs[${other}] (${graphs[other]!.policy}); every graph of a fleet needs its own name (it keys its metrics, its state and --trace NAME=FILE)`);
    } else if (other === undefined) byName.set(g.name, i);
    if (path !== undefined) return;
    g.spec.pools.forEach((pool, p) => {
      const key = targetKey(pool, g.file.metadata.namespace);
      if (key === undefined) return;
      const owner = byTarget.get(key);
      if (owner) out.problems.push(`${at(i)}: ${g.policy} spec.pools[${p}].target scales ${key}, as ${owner} does; two graphs would overwrite each other's replica count`);
      else byTarget.set(key, `${g.name} (${g.policy}) pool ${pool.name}`);
    });
  });

  const first = graphs[0];
  if (first) {
    graphs.forEach((g, i) => {
      if (i > 0 && g.spec.interval !== first.spec.interval) {
        out.problems.push(
          `${at(i)}: ${g.name} ticks every ${formatDuration(g.spec.interval)}, ${first.name} (spec.graphs[0]) every ${formatDuration(first.spec.interval)}; a fleet decides its graphs together, so give them one spec.interval`,
        );
      }
    });
  }

  const budget = fleet.spec.budget;
  const breakdown = (only?: 'spot' | 'on-demand') =>
    graphs.map((g) => `${g.name} ${minimumGpus(g.spec.pools, only)}`).join(', ');
  const need = graphs.reduce((s, g) => s + minimumGpus(g.spec.pools), 0);
  if (need > budget.maxGpus) {
    out.problems.push(`spec.budget.maxGpus: ${budget.maxGpus} GPUs is below the ${need} the graphs' minReplicas need (${breakdown()}); raise it or lower some minReplicas`);
  }
  for (const [field, capacity] of [['maxSpotGpus', 'spot'], ['maxOnDemandGpus', 'on-demand']] as const) {
    const cap = budget[field];
    if (cap === undefined) continue;
    const must = graphs.reduce((s, g) => s + minimumGpus(g.spec.pools, capacity), 0);
    if (must > cap) out.problems.push(`spec.budget.${field}: ${cap} GPUs is below the ${must} the ${capacity} pools' minReplicas need (${breakdown(capacity)})`);
    if (cap > budget.maxGpus) out.warnings.push(`spec.budget.${field}: ${cap} is above maxGpus ${budget.maxGpus}; maxGpus is the limit that binds`);
    if (!graphs.some((g) => g.spec.pools.some((p) => p.capacity === capacity))) out.warnings.push(`spec.budget.${field}: no graph has a ${capacity} pool, so this limit changes nothing`);
  }
  graphs.forEach((g, i) => {
    const own = g.spec.budget.maxGpus;
    if (own !== undefined && own < budget.maxGpus) {
      out.warnings.push(`${at(i)}: ${g.name} keeps its own spec.budget.maxGpus ${own}: it never gets more than that, whatever the fleet has spare`);
    }
  });
  const sumPriority = fleet.spec.graphs.reduce((s, g) => s + g.priority, 0);
  graphs.forEach((g, i) => {
    const share = Math.floor((budget.maxGpus * g.priority) / sumPriority);
    const min = minimumGpus(g.spec.pools);
    if (share < min) {
      out.warnings.push(`${at(i)}: with the budget split by priority (the split baseline), ${g.name} would get ${share} GPUs, below the ${min} its minReplicas need`);
    }
  });
  return out;
}
