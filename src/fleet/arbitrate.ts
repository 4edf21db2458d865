/**
 * Arbitration of one shared GPU budget between the graphs of a fleet: pure arithmetic on GPU counts.
 *
 * Each graph asks in three layers (GPUs, from its own decision this tick):
 *   floor  what it cannot go below: pool minimums, active schedules, counts held while something is unknown, and the
 *          one replica per role a wake needs;
 *   hard   what its policy sizes for the load (its target), at least the floor;
 *   want   what its decision keeps (the target, plus replicas its scale-down window or step-down limit keep a while).
 * Every floor is granted first (all of them, even when they do not fit: a warning then says so). What is left goes to
 * the graphs by priority, highest first, each priority's hard layer and then its soft one: a lower priority gives way
 * before a higher one loses anything, so the shortfall lands on it first (and a higher priority keeps its scale-down
 * window: taking those replicas while its load wavers would have it start them again a minute later). Graphs of one
 * priority share what they cannot have by SLO pressure (observed latency at the SLO percentile / target), hard layers
 * before soft ones: the cut is shared in proportion to demand / pressure, so the graph further over its target keeps
 * more, as the budget split between prefill and decode does (constraints/budget.ts):
 *   cut_g = extra_g x min(1, mu / pressure_g), with mu such that the cuts add up to what is missing.
 * Example: budget 48, floors 8 + 8, hard demands 32 (chat, priority 2) and 24 (code, priority 1): 32 are left after
 * the floors; chat's layer (24 above its floor) fits and leaves 8 for code's 16, so code is cut by 8 -> chat 32,
 * code 16. Two graphs of one priority, extras 8 and 8, pressures 1 and 2, 6 missing: mu = 6 / (8/1 + 8/2) = 0.5 ->
 * cuts 4 and 2.
 * Grants are then rounded down to whole replicas (`step` GPUs, the gcd of the graph's replica sizes) and the GPUs
 * freed by rounding handed out again, a step at a time, in the same order, until no graph that still wants more has
 * a whole step of it in what is left.
 */

/** One graph's request, in GPUs. */
export interface GpuAsk {
  name: string;
  priority: number;
  /** SLO pressure (observed / target at the SLO percentile), 0.25..4; 1 when unknown. */
  pressure: number;
  floor: number;
  hard: number;
  want: number;
  /** GPUs of one replica (the gcd of its pools' gpusPerReplica): a grant is a multiple of it above the floor. */
  step: number;
}

export interface GpuGrant {
  name: string;
  granted: number;
  /** want - granted (never negative). */
  gaveUp: number;
  /** Of the layers, what it got: all, part of its soft layer, part of its hard layer, its floor only. */
  outcome: 'all' | 'soft-cut' | 'hard-cut' | 'floor';
}

export interface Arbitration {
  budget: number;
  grants: GpuGrant[];
  /** Sum of floors, hard and want layers, and what was handed out. */
  floor: number;
  hard: number;
  want: number;
  granted: number;
  /** Floors above the budget, when they do not fit (0 otherwise). */
  overBudget: number;
}

/**
 * Cuts summing to `missing` (< sum of extras), shared as extra x min(1, mu / pressure): the least pressed graph
 * is cut first and hardest. Example: extras [8, 8], pressures [1, 2], missing 6 -> [4, 2].
 */
export function pressureCuts(extras: readonly number[], pressures: readonly number[], missing: number): number[] {
  const n = extras.length;
  const total = extras.reduce((a, b) => a + b, 0);
  if (missing <= 0) return extras.map(() => 0);
  if (missing >= total) return extras.slice();
  const order = extras.map((_, i) => i).sort((a, b) => (pressures[a] as number) - (pressures[b] as number));
  let fullyCut = 0;
  for (let k = 0; k <= n; k++) {
    let weight = 0;
    for (let j = k; j < n; j++) {
      const i = order[j] as number;
      weight += (extras[i] as number) / (pressures[i] as number);
    }
    const mu = weight > 0 ? (missing - fullyCut) / weight : Infinity;
    const lo = k === 0 ? 0 : (pressures[order[k - 1] as number] as number);
    const hi = k === n ? Infinity : (pressures[order[k] as number] as number);
    if (mu >= lo - 1e-12 && mu <= hi + 1e-12) {
      return extras.map((e, i) => e * Math.min(1, mu / (pressures[i] as number)));
    }
    if (k < n) fullyCut += extras[order[k] as number] as number;
  }
  return extras.slice();
}

/** Give `available` GPUs to the graphs of one priority, up to `upper` each, by pressure when short. Mutates granted. */
function fillTier(asks: readonly GpuAsk[], tier: readonly number[], granted: number[], upper: (a: GpuAsk) => number, available: number): number {
  const extras = tier.map((i) => Math.max(0, upper(asks[i] as GpuAsk) - (granted[i] as number)));
  const need = extras.reduce((x, y) => x + y, 0);
  if (need <= available) {
    tier.forEach((i, k) => (granted[i] = (granted[i] as number) + (extras[k] as number)));
    return available - need;
  }
  const cuts = pressureCuts(extras, tier.map((i) => (asks[i] as GpuAsk).pressure), need - available);
  tier.forEach((i, k) => (granted[i] = (granted[i] as number) + (extras[k] as number) - (cuts[k] as number)));
  return 0;
}

/** Split `budget` GPUs between the asks (the rules at the top of this file). */
export function arbitrate(asks: readonly GpuAsk[], budget: number): Arbitration {
  const sum = (f: (a: GpuAsk) => number) => asks.reduce((s, a) => s + f(a), 0);
  const floor = sum((a) => a.floor);
  const hard = sum((a) => Math.max(a.floor, a.hard));
  const want = sum((a) => Math.max(a.floor, a.hard, a.want));
  const granted = asks.map((a) => a.floor);
  let left = budget - floor;
  const priorities = [...new Set(asks.map((a) => a.priority))].sort((a, b) => b - a);
  for (const priority of priorities) {
    const tier = asks.map((a, i) => (a.priority === priority ? i : -1)).filter((i) => i >= 0);
    if (left > 0) left = fillTier(asks, tier, granted, (a) => Math.max(a.floor, a.hard), left);
    if (left > 0) left = fillTier(asks, tier, granted, (a) => Math.max(a.floor, a.hard, a.want), left);
  }
  // Whole replicas: round each grant down to its step above the floor, then hand the rounding back.
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i] as GpuAsk;
    const step = a.step > 0 ? a.step : 1;
    const above = (granted[i] as number) - a.floor;
    granted[i] = a.floor + Math.floor(above / step + 1e-9) * step;
  }
  let spare = budget - granted.reduce((x, y) => x + y, 0);
  const order = asks
    .map((a, i) => ({ a, i }))
    .sort((x, y) => y.a.priority - x.a.priority || y.a.pressure - x.a.pressure || x.a.name.localeCompare(y.a.name));
  // Round-robin, a step per graph per pass, until a pass gives nothing: then no graph that still wants more has a
  // whole step of it in the spare. Bounded: every pass but the last gives at least the smallest step, and what can be
  // given is below the sum of the steps (rounding took less than a step from each graph, and the budget was short
  // when a graph was cut), so there are at most sum of steps / smallest step + 1 passes.
  // Example: a (step 1), b and c (step 8), 40 wanted each, budget 45: the cut leaves 15 each, rounded to 15, 8, 8
  // (14 spare); pass 1 gives a 1 and b 8, then a takes the 5 left a GPU a pass -> 21, 16, 8 = 45.
  let gave = spare > 0;
  while (gave && spare > 0) {
    gave = false;
    for (const { a, i } of order) {
      const top = Math.max(a.floor, a.hard, a.want);
      const step = a.step > 0 ? a.step : 1;
      if ((granted[i] as number) + step <= top && step <= spare) {
        granted[i] = (granted[i] as number) + step;
        spare -= step;
        gave = true;
      }
    }
  }
  const grants: GpuGrant[] = asks.map((a, i) => {
    const g = granted[i] as number;
    const top = Math.max(a.floor, a.hard, a.want);
    const hardTop = Math.max(a.floor, a.hard);
    const outcome: GpuGrant['outcome'] = g >= top ? 'all' : g >= hardTop ? 'soft-cut' : g > a.floor ? 'hard-cut' : 'floor';
    return { name: a.name, granted: g, gaveUp: Math.max(0, top - g), outcome };
  });
  return { budget, grants, floor, hard, want, granted: granted.reduce((x, y) => x + y, 0), overBudget: Math.max(0, floor - budget) };
}

/** Greatest common divisor (replica sizes are small positive integers). */
export function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y > 0) [x, y] = [y, x % y];
  return x;
}
