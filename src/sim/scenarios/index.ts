/**
 * Scenario families generated from seeds, for judging the planner on many instances of a kind of load rather than
 * on hand-picked traces. Usable wherever a trace path goes, as a spec:
 *
 *   scenario:ramp?seed=3      scenario:flash?seed=1001      scenario:mix      (seed: the run's --seed)
 *
 * Families (families.ts): ramp, flash, step, diurnal, mix (prompt-length mix shift), idle (gaps with no traffic).
 * The same family and seed always give the same trace; the plan's `description` (scenarioPlan) says what was drawn.
 *
 * Seeds are split so that a constant tuned on some instances is judged on others:
 * - TUNING_SEEDS (1-20): look at these while choosing a constant or a rule.
 * - REPORT_SEEDS (1001-1003): the held-out instances the quality matrix (bench/matrix.ts) reports. Do not tune on
 *   them; when a change is judged on them, move on to fresh seeds (1004, ...) rather than re-tuning.
 */
import { InputError } from '../../errors.js';
import { createRng, exponential, MAX_SEED } from '../random.js';
import { TraceBuilder } from '../traces/builder.js';
import type { Trace } from '../types.js';
import { FAMILIES, FAMILY_PLANS, type Family, type LoadPlan } from './families.js';

export { FAMILIES, type Family, type LoadPlan } from './families.js';

const SCENARIO_PREFIX = 'scenario:';
export const TUNING_SEEDS: readonly number[] = Array.from({ length: 20 }, (_, i) => i + 1);
export const REPORT_SEEDS: readonly number[] = [1001, 1002, 1003];

export interface ScenarioSpec {
  text: string;
  family: Family;
  seed?: number;
}

export function isScenarioSpec(text: string): boolean {
  return text.startsWith(SCENARIO_PREFIX);
}

/** Parse `scenario:FAMILY[?seed=N]`; a problem names the spec and what is allowed. */
export function parseScenarioSpec(text: string): ScenarioSpec {
  const where = `scenario spec ${JSON.stringify(text)}`;
  const body = text.slice(SCENARIO_PREFIX.length);
  const question = body.indexOf('?');
  const family = (question === -1 ? body : body.slice(0, question)).trim();
  const problems: string[] = [];
  if (!(FAMILIES as readonly string[]).includes(family)) problems.push(`${where}: unknown family ${JSON.stringify(family)}; expected one of ${FAMILIES.join(', ')}`);
  const params = new URLSearchParams(question === -1 ? '' : body.slice(question + 1));
  let seed: number | undefined;
  for (const key of new Set(params.keys())) {
    if (key !== 'seed') problems.push(`${where}: unknown parameter "${key}"; allowed: seed`);
    else if (params.getAll(key).length > 1) problems.push(`${where}: parameter "seed" is given more than once`);
  }
  const seedText = params.get('seed');
  if (seedText !== null) {
    seed = /^-?\d+$/.test(seedText.trim()) ? Number(seedText) : NaN;
    if (Number.isNaN(seed)) problems.push(`${where}: seed ${JSON.stringify(seedText)} is not an integer`);
    else if (seed < 0 || seed > MAX_SEED) {
      problems.push(`${where}: seed ${JSON.stringify(seedText)} is out of range; give an integer from 0 to ${MAX_SEED} (as --seed: the generator's state is 32 bits, so a larger seed only repeats a smaller one)`);
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return { text, family: family as Family, ...(seed === undefined ? {} : { seed }) };
}

/** The plan a family draws for a seed (what generateScenario replays). */
export function scenarioPlan(family: Family, seed: number): LoadPlan {
  // A family's parameters and its arrivals use separate streams, so the parameters of seed 3 do not depend on how
  // many arrivals another family drew.
  return FAMILY_PLANS[family](createRng(seed * 7919 + FAMILIES.indexOf(family)), seed);
}

/**
 * The requests of a plan: a non-homogeneous Poisson process by thinning (candidates at peakRate, each kept with
 * probability rate(t) / peakRate), lengths drawn from a stream of their own.
 * Example: flash at base 2 req/s with a x5 crowd: candidates at 10/s, one in five kept outside the crowd.
 */
export function generateScenario(spec: ScenarioSpec, runSeed: number): Trace {
  const seed = spec.seed ?? runSeed;
  const trace = traceOfPlan(scenarioPlan(spec.family, seed), seed, spec.seed === undefined ? `${spec.text}?seed=${seed}` : spec.text);
  return { ...trace, warnings: trace.arrival.length === 0 ? [`${spec.text}: generated no request`] : [] };
}

/** The requests of a load plan, drawn with `seed` (the thinning above), as a trace named `name`. */
export function traceOfPlan(plan: LoadPlan, seed: number, name: string): Trace {
  const arrivals = createRng(seed);
  const lengths = createRng(seed ^ 0x2545f491);
  const builder = new TraceBuilder(Math.min(1 << 24, plan.peakRate * plan.durationSeconds + 16));
  let t = 0;
  for (;;) {
    t += exponential(arrivals, plan.peakRate);
    if (t >= plan.durationSeconds) break;
    if (arrivals() * plan.peakRate >= plan.rate(t)) continue;
    const { isl, osl } = plan.lengths(t, lengths);
    builder.push(t, isl, osl);
  }
  const n = builder.length;
  return {
    name,
    format: 'scenario',
    arrival: builder.arrival.slice(0, n),
    isl: builder.isl.slice(0, n),
    osl: builder.osl.slice(0, n),
    durationSeconds: plan.durationSeconds,
    skipped: { count: 0, examples: [] },
    warnings: n === 0 ? [`${name}: generated no request`] : [],
  };
}

/** `scenario:FAMILY?seed=N` read as a trace (the hook readTrace calls). */
export function readScenario(text: string, runSeed: number): Trace {
  return generateScenario(parseScenarioSpec(text), runSeed);
}
