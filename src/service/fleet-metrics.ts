/**
 * The fleet's series on the planner's /metrics (same registry): its budget and use, and per graph what it could not go
 * below, asked for and was granted. Replaced whole each round, so a graph removed from the fleet disappears.
 *
 *   pd_planner_fleet_gpus{fleet, kind="budget"|"used"|"asked"}
 *   pd_planner_fleet_graph_gpus{fleet, policy, kind="floor"|"asked"|"granted"|"gave_up"}
 *   pd_planner_fleet_graph_priority{fleet, policy}, pd_planner_fleet_graph_pressure{fleet, policy}
 */
import { Gauge, type Registry } from 'prom-client';
import type { FleetArbitration } from '../fleet/decide.js';

export interface FleetMetrics {
  record(arbitration: FleetArbitration): void;
}

export function createFleetMetrics(registry: Registry, fleet: () => string): FleetMetrics {
  const registers = [registry];
  const totals = new Gauge({ name: 'pd_planner_fleet_gpus', help: 'The fleet\'s GPU budget, the GPUs its decisions use, and the GPUs its graphs asked for', labelNames: ['fleet', 'kind'], registers });
  const graphs = new Gauge({ name: 'pd_planner_fleet_graph_gpus', help: 'Per graph: GPUs it must keep (floor), asked for, was granted, and gave up', labelNames: ['fleet', 'policy', 'kind'], registers });
  const priority = new Gauge({ name: 'pd_planner_fleet_graph_priority', help: 'Per graph: its priority in the fleet', labelNames: ['fleet', 'policy'], registers });
  const pressure = new Gauge({ name: 'pd_planner_fleet_graph_pressure', help: 'Per graph: the SLO pressure the arbitration weighed (observed / target at the SLO percentile)', labelNames: ['fleet', 'policy'], registers });
  return {
    record(arbitration) {
      const name = fleet();
      for (const g of [totals, graphs, priority, pressure]) g.reset();
      const shares = Object.entries(arbitration.shares);
      totals.set({ fleet: name, kind: 'budget' }, arbitration.budget.maxGpus);
      totals.set({ fleet: name, kind: 'used' }, arbitration.usedGpus);
      totals.set({ fleet: name, kind: 'asked' }, shares.reduce((s, [, x]) => s + x.demandGpus, 0));
      for (const [policy, share] of shares) {
        graphs.set({ fleet: name, policy, kind: 'floor' }, share.floorGpus);
        graphs.set({ fleet: name, policy, kind: 'asked' }, share.demandGpus);
        graphs.set({ fleet: name, policy, kind: 'granted' }, share.grantedGpus);
        graphs.set({ fleet: name, policy, kind: 'gave_up' }, share.gaveUpGpus);
        priority.set({ fleet: name, policy }, share.priority);
        pressure.set({ fleet: name, policy }, share.pressure);
      }
    },
  };
}
