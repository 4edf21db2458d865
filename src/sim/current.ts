/**
 * `--current POOL=N,...`: the replica counts the user runs today, simulated as a static baseline named `current`
 * (the same counts in every interval, from t = 0, with no policy, bound or budget applied: what runs today), so the
 * report says what the policy saves against it, in GPU-hours and in the pools' currency.
 * Every pool of the policy must be given a count (0 for a pool not run today): a forgotten pool would otherwise be
 * a silent guess.
 */
import type { PolicySpec } from '../config/schema.js';
import { MAX_POOL_REPLICAS } from '../config/schema.js';
import { InputError } from '../errors.js';

/** The run name of the baseline in report.json (`runs[].policy`). */
export const CURRENT_RUN = 'current' as const;

/** "prefill-od=2, decode-od=3" -> { "prefill-od": 2, "decode-od": 3 }; InputError naming --current otherwise. */
export function parseCurrent(text: string): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  const problems: string[] = [];
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InputError(['--current: give each pool\'s replica count today, e.g. --current prefill=2,decode=4']);
  for (const part of parts) {
    const eq = part.indexOf('=');
    const pool = eq < 0 ? part : part.slice(0, eq).trim();
    const count = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (eq < 0 || pool === '') {
      problems.push(`--current: "${part}" is not POOL=N, e.g. prefill-od=2`);
    } else if (!/^\d+$/.test(count) || Number(count) > MAX_POOL_REPLICAS) {
      problems.push(`--current ${pool}: "${count}" is not a whole number of replicas from 0 to ${MAX_POOL_REPLICAS}`);
    } else if (Object.hasOwn(out, pool)) {
      problems.push(`--current ${pool}: given twice (${out[pool]} and ${count})`);
    } else {
      out[pool] = Number(count);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

/**
 * The counts checked against the policy's pools: every name is a pool, every pool has a count. Returns the counts in
 * pool order, and warnings (not errors: today's deployment may break the policy's rules, which is worth seeing) for
 * counts outside a pool's bounds or GPUs over the budget.
 * Example: pools prefill (4 GPUs, max 8) and decode (4 GPUs), budget 32, --current prefill=10,decode=2 ->
 *   warnings "prefill: 10 replicas is above its maxReplicas 8" and "48 GPUs is above the budget of 32".
 */
export function checkCurrent(spec: PolicySpec, current: Record<string, number>): { counts: Record<string, number>; warnings: string[] } {
  const names = spec.pools.map((p) => p.name);
  const problems: string[] = [];
  for (const pool of Object.keys(current)) {
    if (!names.includes(pool)) problems.push(`--current ${pool}: no pool of that name in the policy (its pools: ${names.join(', ')})`);
  }
  const missing = names.filter((n) => !Object.hasOwn(current, n));
  if (missing.length > 0) problems.push(`--current: no count for ${missing.join(', ')}; give every pool's replicas today (0 for a pool you do not run)`);
  if (problems.length > 0) throw new InputError(problems);
  const counts: Record<string, number> = {};
  const warnings: string[] = [];
  let gpus = 0;
  for (const pool of spec.pools) {
    const n = current[pool.name]!;
    counts[pool.name] = n;
    gpus += n * pool.gpusPerReplica;
    if (n < pool.minReplicas) warnings.push(`${pool.name}: ${n} replicas today is below its minReplicas ${pool.minReplicas}`);
    if (n > pool.maxReplicas) warnings.push(`${pool.name}: ${n} replicas today is above its maxReplicas ${pool.maxReplicas}`);
  }
  if (spec.budget.maxGpus !== undefined && gpus > spec.budget.maxGpus) warnings.push(`${gpus} GPUs today is above the budget of ${spec.budget.maxGpus}`);
  return { counts, warnings };
}
