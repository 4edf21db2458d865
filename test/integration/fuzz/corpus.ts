/**
 * A generated corpus of hostile command lines for the CLI fuzz suite: valid policies, observations, planner states
 * and traces mutated by a seeded generator (values swapped for extremes and junk, keys deleted, `__proto__` and
 * `constructor` keys added, text truncated or salted with bytes), plus synthetic trace specs and what-if flags drawn
 * from hostile ranges. The same seed gives the same corpus, so a failure reproduces: FUZZ_SEED=N.
 *
 * Generated inputs are kept cheap when they are valid (a few requests, minutes of trace), so the suite's time goes
 * into many cases rather than a few long simulations; the expensive shapes (years of span, 1e15 x rate) are the
 * ones the CLI must refuse before it spends anything.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { createRng, type Rng } from '../../../src/sim/random.js';

export type Command = 'validate' | 'decide' | 'simulate' | 'sweep' | 'reserve';

export interface FuzzCase {
  name: string;
  command: Command;
  args: string[];
  /** For decide: what went in, so a successful decision can be checked against it. */
  decide?: { policy: Json; observation: Json; state?: Json };
}

type Json = unknown;

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8');

/** The valid inputs mutations start from. */
const POLICIES: Record<string, Json> = {
  'valid-policy': parseYaml(read('test/fixtures/bad-input/valid-policy.yaml')),
  sla: parseYaml(read('examples/sla.yaml')),
  'spot-mixed': parseYaml(read('examples/spot-mixed.yaml')),
  static: parseYaml(read('examples/static.yaml')),
  load: parseYaml(read('examples/load.yaml')),
  hpa: parseYaml(read('examples/hpa.yaml')),
  dynamo: parseYaml(read('examples/dynamo.yaml')),
};

/** Numbers at the edges, and the junk a hand-edited file or a broken exporter holds. */
const NUMBERS = [0, -1, -0.5, 0.5, 1, 3, 1e-300, 1e300, 1e308, 2 ** 53, 1e13, 10_001, 86_401];
const STRINGS = ['', '   ', 'NaN', 'Infinity', '0x10', '1e400', `${'9'.repeat(330)}s`, '25d', '1ms', '0s', '99999999999d', '240', '240s', '-5m', '24h', '1h30m', 'constructor', '__proto__', 'é', 'a\u0000b'];
const OTHERS: Json[] = [null, true, false, [], {}, [1, 2], { a: 1 }, { constructor: 1 }];
const KEYS = ['__proto__', 'constructor', 'toString', 'extra', 'ttftMS', 'pools'];

const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;
const chance = (rng: Rng, p: number) => rng() < p;

function hostile(rng: Rng): Json {
  const r = rng();
  if (r < 0.45) return pick(rng, NUMBERS);
  if (r < 0.85) return pick(rng, STRINGS);
  return structuredClone(pick(rng, OTHERS));
}

/** Every path in a JSON value (objects and arrays), as key lists. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return out;
  const entries: [string | number, Json][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value as Record<string, Json>);
  for (const [key, child] of entries) {
    const path = [...prefix, key];
    out.push(path);
    paths(child, path, out);
  }
  return out;
}

function parentOf(root: Json, path: (string | number)[]): Record<string | number, Json> | undefined {
  let node = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node?.[key] as Record<string | number, Json>;
  return node !== null && typeof node === 'object' ? node : undefined;
}

/** Set an own property, even one named `__proto__` (plain assignment would replace the prototype instead). */
function setOwn(target: Record<string | number, Json>, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** 1-3 random edits of a copy of `value`. */
export function mutate(rng: Rng, value: Json, edits = 1 + Math.floor(rng() * 3)): Json {
  const root = structuredClone(value);
  for (let e = 0; e < edits; e++) {
    const all = paths(root);
    if (all.length === 0) break;
    const path = pick(rng, all);
    const parent = parentOf(root, path);
    const key = path.at(-1) as string | number;
    if (!parent) continue;
    const op = rng();
    if (op < 0.55) setOwn(parent, key, hostile(rng));
    else if (op < 0.7 && !Array.isArray(parent)) delete parent[key];
    else if (op < 0.85) {
      const target = parent[key];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) setOwn(target as Record<string, Json>, pick(rng, KEYS), hostile(rng));
      else setOwn(parent, key, hostile(rng));
    } else if (Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
    else setOwn(parent, key, [structuredClone(parent[key])]);
  }
  return root;
}

/** Rename the first pool to `constructor` everywhere it is named (a valid DNS label that plain objects answer for). */
function constructorPool(policy: Json): Json {
  const text = JSON.stringify(policy);
  const first = (policy as { spec: { pools: { name: string }[] } }).spec.pools[0]!.name;
  return JSON.parse(text.split(`"${first}"`).join('"constructor"')) as Json;
}

/** JSON text, sometimes cut short or salted with a stray byte (text-level damage the parsers must name). */
function damaged(rng: Rng, text: string): string | Buffer {
  const r = rng();
  if (r < 0.06) return text.slice(0, Math.floor(rng() * text.length));
  if (r < 0.09) {
    const at = Math.floor(rng() * text.length);
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([pick(rng, [0x00, 0xe9, 0xff, 0x1f])]), Buffer.from(text.slice(at))]);
  }
  if (r < 0.1) return '';
  return text;
}

const OBSERVATION = {
  time: '2026-11-25T10:00:00Z',
  windowSeconds: 60,
  requests: 720,
  isl: 3000,
  osl: 150,
  islPercentiles: { p95: 7100 },
  ttftMs: { mean: 420, p95: 610 },
  itlMs: { mean: 31, p95: 44 },
  requestDurationSeconds: 5.1,
  queueDepth: 3,
  kvUsage: 0.42,
};

function observationFor(rng: Rng, policy: Json): Json {
  const pools: Record<string, Json> = {};
  for (const pool of (policy as { spec: { pools: { name: string }[] } }).spec.pools) {
    if (chance(rng, 0.85)) pools[pool.name] = { desired: Math.floor(rng() * 6), ready: Math.floor(rng() * 6), pending: Math.floor(rng() * 2) };
  }
  return { ...OBSERVATION, pools };
}

function stateFor(rng: Rng, policy: Json): Json {
  const names = (policy as { spec: { pools: { name: string }[] } }).spec.pools.map((p) => p.name);
  const last = Object.fromEntries(names.map((n) => [n, Math.floor(rng() * 8)]));
  const t = Date.parse(OBSERVATION.time);
  return {
    history: [1, 2, 3].map((k) => ({ time: t - k * 60_000, requests: 600 + 40 * k, isl: 3000, osl: 150 })),
    correction: { pCf: 1, dCf: 1 },
    recommendations: [{ time: t - 60_000, desired: last }],
    last,
    lastEviction: {},
  };
}

/** A small Azure-format trace (a few requests over a few minutes), mutated at the line level. */
function traceText(rng: Rng): string | Buffer {
  const lines = ['TIMESTAMP,ContextTokens,GeneratedTokens'];
  const n = 2 + Math.floor(rng() * 12);
  for (let i = 0; i < n; i++) {
    const s = Math.floor((i * 240) / n);
    lines.push(`2023-11-16 18:${String(15 + Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.0000000,${100 + Math.floor(rng() * 4000)},${1 + Math.floor(rng() * 400)}`);
  }
  const edits = Math.floor(rng() * 3);
  for (let e = 0; e < edits; e++) {
    const i = 1 + Math.floor(rng() * (lines.length - 1));
    const r = rng();
    if (r < 0.2) lines[i] = lines[i]!.replace('2023', pick(rng, ['2000', '2010', '9999', '1970']));
    else if (r < 0.35) lines[i] = lines[i]!.replace(/,\d+,/, `,${pick(rng, ['4294967296', '-5', '1e9', '', 'x'])},`);
    else if (r < 0.5) lines.splice(i, 0, pick(rng, ['garbage', '', ',,', '2023-11-16,1', '{"timestamp":1}']));
    else if (r < 0.6) lines.shift();
    else if (r < 0.7) lines.splice(1, lines.length - 1, ...lines.slice(1).reverse());
    else lines.push(lines[i]!);
  }
  return damaged(rng, `${lines.join('\n')}\n`);
}

/** A synthetic spec with parameters from hostile ranges; the plausible ones stay at most an hour at a few req/s. */
function syntheticSpec(rng: Rng): string {
  const kind = pick(rng, ['poisson', 'burst', 'diurnal', 'step', 'constructor', '']);
  const rate = pick(rng, ['0.5', '2', '1e9', '1e300', '-1', 'x', '0']);
  const big = ['1e9', '1e300'].includes(rate);
  const duration = big ? pick(rng, ['1d', '60', '99999999999d']) : pick(rng, ['60', '10m', '1h', '0', 'forever']);
  const params = [`rate=${rate}`, `duration=${duration}`];
  if (kind === 'burst') params.push(`height=${pick(rng, ['4', '1e300', '-1', '0'])}`, `every=${pick(rng, ['10m', '0', '1e9'])}`);
  if (kind === 'diurnal') params.push(`period=${pick(rng, ['24h', '0', '1s'])}`, `amplitude=${pick(rng, ['0.5', '2'])}`);
  if (kind === 'step') params.splice(0, params.length, `steps=${pick(rng, ['0:2,1m:4', '0:1e300', '5:1', '0:0'])}`, `duration=${pick(rng, ['5m', '99999999999d'])}`);
  if (chance(rng, 0.2)) params.push(`${pick(rng, ['isl', 'osl'])}=${pick(rng, ['lognormal:3000:0.8', 'lognormal:1e300', '4294967296', 'x'])}`);
  if (chance(rng, 0.1)) params.push('__proto__=1');
  return `synthetic:${kind}?${params.join('&')}`;
}

/** What-if and replay flags with values from hostile ranges (each present with some chance). */
function hostileFlags(rng: Rng): string[] {
  const table: [string, readonly string[]][] = [
    ['--rate-scale', ['0', '1e-7', '0.5', '2', '1000', '1e15', '0x10', '', 'NaN']],
    ['--speedup', ['1e-9', '1e-6', '0.5', '10', '1e300', 'fast']],
    ['--seed', ['0', '7', '-1', '1.5', '1e300', '0x1']],
    ['--gpu-budget', ['0', '1', '4', '64', '1e300', 'x']],
    ['--spot-share', ['0', '0.5', '1', '2', '-1']],
    ['--startup-seconds', ['0', '240', '240s', '4m', '2d', '-5', 'abc']],
    ['--ttft-ms', ['0', '1e-300', '800', '1e300', '0x10']],
    ['--itl-ms', ['0', '60', '1e300']],
    ['--eviction-rate', ['0', '0.05', '60', '1e9', '-1']],
    ['--trace-format', ['auto', 'azure', 'nope']],
  ];
  const flags: string[] = [];
  for (const [flag, values] of table) if (chance(rng, 0.12)) flags.push(flag, pick(rng, values));
  return flags;
}

/** Special files a path argument may point at instead of a generated one. */
const SPECIAL_FILES = ['/dev/zero', '/dev/null', 'test/fixtures/bad-input', 'test/fixtures/no-such-file.json'];

export interface Corpus {
  cases: FuzzCase[];
  seed: number;
}

/**
 * Write the corpus's files into `dir` and return its cases. Counts: `validate` mutated policies, `decide` mutated
 * observations / states (with valid and mutated policies), `simulate` mutated traces, synthetic specs and flags,
 * `sweep` hostile parameters, `reserve` mutated policies, traces and flags with a small --max-runs.
 */
export function generateCorpus(dir: string, seed: number, counts = { validate: 120, decide: 120, simulate: 60, sweep: 5, reserve: 12 }): Corpus {
  const rng = createRng(seed);
  const cases: FuzzCase[] = [];
  let file = 0;
  const write = (ext: string, content: string | Buffer): string => {
    const path = join(dir, `f${file++}.${ext}`);
    writeFileSync(path, content);
    return path;
  };
  const names = Object.keys(POLICIES);
  const policyText = (policy: Json) => JSON.stringify(policy, null, 1);

  for (let i = 0; i < counts.validate; i++) {
    const base = POLICIES[pick(rng, names)];
    const policy = chance(rng, 0.15) ? constructorPool(base) : mutate(rng, base);
    const path = chance(rng, 0.04) ? pick(rng, SPECIAL_FILES) : write('yaml', damaged(rng, policyText(policy)));
    cases.push({ name: `validate #${i}`, command: 'validate', args: ['validate', path] });
  }

  for (let i = 0; i < counts.decide; i++) {
    const baseName = pick(rng, names);
    const validPolicy = chance(rng, 0.5) ? constructorPool(POLICIES[baseName]) : POLICIES[baseName];
    const policy = chance(rng, 0.15) ? mutate(rng, validPolicy, 1) : validPolicy;
    const cleanObservation = observationFor(rng, validPolicy);
    const observation = chance(rng, 0.75) ? mutate(rng, cleanObservation) : cleanObservation;
    const args = ['decide', '--policy', write('yaml', policyText(policy)), '--observation', chance(rng, 0.04) ? pick(rng, SPECIAL_FILES) : write('json', damaged(rng, JSON.stringify(observation)))];
    let state: Json | undefined;
    if (chance(rng, 0.4)) {
      state = chance(rng, 0.5) ? mutate(rng, stateFor(rng, validPolicy)) : stateFor(rng, validPolicy);
      args.push('--state', chance(rng, 0.05) ? pick(rng, SPECIAL_FILES) : write('json', damaged(rng, JSON.stringify(state))));
    }
    if (chance(rng, 0.2)) args.push('--state-out', chance(rng, 0.3) ? join(dir, 'no-such-dir', 'state.json') : join(dir, `state-out-${i}.json`));
    cases.push({ name: `decide #${i}`, command: 'decide', args, decide: { policy, observation, ...(state !== undefined ? { state } : {}) } });
  }

  for (let i = 0; i < counts.simulate; i++) {
    const base = chance(rng, 0.25) ? constructorPool(POLICIES[pick(rng, names)]) : POLICIES[pick(rng, names)];
    const policy = chance(rng, 0.7) ? base : mutate(rng, base, 1);
    const trace = chance(rng, 0.3) ? syntheticSpec(rng) : chance(rng, 0.04) ? pick(rng, SPECIAL_FILES) : write('csv', traceText(rng));
    const baselines = chance(rng, 0.8) ? 'none' : pick(rng, ['static', 'hpa', 'bogus', 'constructor']);
    cases.push({
      name: `simulate #${i}`,
      command: 'simulate',
      args: ['simulate', '--policy', write('yaml', policyText(policy)), '--trace', trace, '--baselines', baselines, '--out', join(dir, `out-${i}`), ...hostileFlags(rng)],
    });
  }

  const params = ['gpu-budget=4,64', 'gpu-budget=8', 'spot-share=2', 'rate-scale=1e15', 'ttft-ms=0x10', 'startup-seconds=240,4m', 'constructor=1', 'gpu-budget=', '__proto__=1'];
  for (let i = 0; i < counts.sweep; i++) {
    const trace = write('csv', traceText(rng));
    cases.push({
      name: `sweep #${i}`,
      command: 'sweep',
      args: ['sweep', '--param', pick(rng, params), '--policy', 'test/fixtures/bad-input/valid-policy.yaml', '--trace', trace, '--baselines', 'none', '--threads', '1', '--out', join(dir, `sweep-${i}`)],
    });
  }
  // Last, so the cases above are the same for a seed whatever is added here. --max-runs keeps each search small.
  for (let i = 0; i < counts.reserve; i++) {
    const base = chance(rng, 0.25) ? constructorPool(POLICIES[pick(rng, names)]) : POLICIES[pick(rng, names)];
    const policy = chance(rng, 0.7) ? base : mutate(rng, base, 1);
    const trace = chance(rng, 0.3) ? syntheticSpec(rng) : chance(rng, 0.04) ? pick(rng, SPECIAL_FILES) : write('csv', traceText(rng));
    cases.push({
      name: `reserve #${i}`,
      command: 'reserve',
      args: ['reserve', '--policy', write('yaml', policyText(policy)), '--trace', trace, '--max-runs', pick(rng, ['1', '3', '4', '0', '201', 'x']), ...hostileFlags(rng)],
    });
  }
  return { cases, seed };
}
