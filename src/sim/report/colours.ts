/**
 * One colour per run, the same in every plot and in the HTML table, so "the blue line" means the
 * policy everywhere. Known run names get fixed colours (Tableau 10); others take the next free one.
 */
const FIXED: Record<string, string> = {
  policy: '#1f77b4', // blue: the policy file's own policy, the one the report is about
  dynamo: '#ff7f0e', // orange
  hpa: '#2ca02c', // green
  static: '#9467bd', // purple
  hindsight: '#4d4d4d', // dark grey: the reference floor
  'hpa-tuned': '#98df8a', // pale green: HPA at its best setting
  'perfect-forecast': '#7f7f7f', // grey: our policy with a perfect forecast
  current: '#8c564b', // brown: the replicas run today (--current)
};
const SPARE = ['#d62728', '#e377c2', '#17becf', '#bcbd22', '#aec7e8'];

/** Colour per run name, in the given order. Example: ["policy","static","x"] -> ["#1f77b4","#9467bd","#d62728"]. */
export function runColours(runs: readonly string[]): string[] {
  let spare = 0;
  return runs.map((name) => FIXED[name] ?? SPARE[spare++ % SPARE.length]!);
}

/** The SLO line in latency plots. */
export const SLO_COLOUR = '#d62728';
