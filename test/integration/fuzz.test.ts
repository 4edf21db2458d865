/**
 * The CLI fuzz suite: a GENERATED corpus (test/integration/fuzz/corpus.ts: valid policies, observations, states and
 * traces mutated by a seeded generator, hostile synthetic specs and what-if flags) through `validate`, `decide`,
 * `simulate`, `sweep` and `reserve`. Every case must:
 *  - exit 0 or 2 (never 1, never a signal), with no stack trace and no uncaught JS error on stderr;
 *  - on exit 2, print nothing on stdout and say `where: what` on each stderr line;
 *  - finish in bounded time (each case well under CASE_MS) in a process whose peak RSS stays under MAX_RSS_MB
 *    (measured: process.resourceUsage().maxRSS in the runner after each case);
 *  - for `decide` that succeeds: every pool within its bounds, and while the request count is unknown, no on-demand
 *    pool below the highest count known for it.
 * Cases run in-process, many per child (bad-input-runner.mjs calls the CLI's entry per case), two children in
 * parallel. The corpus is fixed by FUZZ_SEED (default below); a failing case names its seed and index.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode } from '../fixtures/node-process.js';
import { generateCorpus, type FuzzCase } from './fuzz/corpus.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20_260_107);
/** A case taking this long means unbounded work (the slowest generated case takes well under a second). */
const CASE_MS = 30_000;
/** Peak resident memory of a child running many cases (node + tsx + the CLI take ~200 MB; /dev/zero once took 1.5 GB). */
const MAX_RSS_MB = 700;
const GROUPS = 2;

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  maxRssKb: number;
}

const TMP = mkdtempSync(join(tmpdir(), 'pd-fuzz-'));
const corpus = generateCorpus(TMP, SEED);
let results = new Map<string, Outcome>();
let peakRssKb = 0;

async function runGroup(cases: readonly FuzzCase[], index: number): Promise<[string, Outcome][]> {
  const casesFile = join(TMP, `group-${index}.json`);
  const resultsFile = join(TMP, `group-${index}-results.json`);
  writeFileSync(casesFile, JSON.stringify(cases.map((c) => c.args)));
  const runner = await runNode(['test/integration/bad-input-runner.mjs', casesFile, resultsFile], 170_000);
  if (runner.status !== 0 || !existsSync(resultsFile)) {
    const failed: Outcome = { status: null, stdout: runner.stdout, stderr: `runner exited ${runner.status}:\n${runner.stderr}`, ms: 0, maxRssKb: 0 };
    return cases.map((c) => [c.name, failed]);
  }
  const outcomes = JSON.parse(readFileSync(resultsFile, 'utf8')) as Outcome[];
  return cases.map((c, i) => [c.name, outcomes[i] as Outcome]);
}

beforeAll(async () => {
  // Round-robin, so the slow kinds (simulate, sweep) spread over both children.
  const groups = Array.from({ length: GROUPS }, (_, g) => corpus.cases.filter((_c, i) => i % GROUPS === g));
  const grouped = await Promise.all(groups.map(runGroup));
  results = new Map(grouped.flat());
  peakRssKb = Math.max(...[...results.values()].map((r) => r.maxRssKb));
}, 180_000);

afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
  const byCommand = new Map<string, { n: number; ok: number; ms: number }>();
  for (const c of corpus.cases) {
    const r = results.get(c.name);
    const entry = byCommand.get(c.command) ?? { n: 0, ok: 0, ms: 0 };
    entry.n++;
    if (r?.status === 0) entry.ok++;
    entry.ms = Math.max(entry.ms, r?.ms ?? 0);
    byCommand.set(c.command, entry);
  }
  const summary = [...byCommand].map(([cmd, e]) => `${cmd} ${e.n} (${e.ok} exit 0, slowest ${e.ms} ms)`).join(', ');
  // Not an assertion: the figures for the report (`npx vitest run test/integration/fuzz.test.ts`).
  process.stdout.write(`fuzz corpus (seed ${SEED}): ${summary}; peak RSS ${Math.round(peakRssKb / 1024)} MB\n`);
});

const STACK_FRAME = /\n\s+at .*\(|^\s+at .*:\d+:\d+\)?$/m;
const CRASH_WORDS = /\b(TypeError|ReferenceError|RangeError|SyntaxError|Unhandled|node:internal|Uncaught)\b/;
/** `where: what`: a field path, file[:line[:col]], flag or spec, then ": " and the message. */
const PROBLEM_LINE = /^\S.*?: \S/;

type Policy = { spec: { pools: { name: string; capacity?: string; minReplicas?: number; maxReplicas?: number }[] } };
type PoolObs = { desired?: unknown; ready?: unknown; pending?: unknown };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Problems with a successful decide, given what went in. */
function decisionProblems(c: FuzzCase, stdout: string): string[] {
  const input = c.decide;
  if (!input) return [];
  const decision = JSON.parse(stdout) as { pools: Record<string, { desired: number }>; explanation: { unknown?: string[] } };
  const policy = input.policy as Policy;
  const observation = input.observation as { requests?: unknown; pools?: Record<string, PoolObs> };
  const last = ((input.state ?? {}) as { last?: Record<string, unknown> }).last ?? {};
  const out: string[] = [];
  for (const pool of policy.spec.pools) {
    const desired = decision.pools[pool.name]?.desired;
    const min = pool.minReplicas ?? 1;
    const max = pool.maxReplicas ?? 16;
    if (!Number.isInteger(desired) || (desired as number) < min || (desired as number) > max) out.push(`${pool.name}: desired ${desired} outside [${min}, ${max}]`);
    if (isCount(observation.requests) || pool.capacity === 'spot') continue;
    if (!decision.explanation.unknown?.includes('the request count')) out.push('the request count was unknown and the decision does not say so');
    const seen = Object.hasOwn(observation.pools ?? {}, pool.name) ? (observation.pools as Record<string, PoolObs>)[pool.name] : undefined;
    const known = [Object.hasOwn(last, pool.name) ? last[pool.name] : undefined, seen?.desired];
    if (isCount(seen?.ready) || isCount(seen?.pending)) known.push((isCount(seen?.ready) ? seen.ready : 0) + (isCount(seen?.pending) ? seen.pending : 0));
    const highest = Math.max(...known.filter(isCount));
    if (Number.isFinite(highest) && (desired as number) < Math.min(highest, max)) out.push(`${pool.name}: ${desired} below ${highest} known to run while the request count was unknown`);
  }
  return out;
}

describe(`CLI fuzz corpus (seed ${SEED})`, () => {
  it('is generated, not hand-written: every command, hundreds of cases, a fixed seed', () => {
    const commands = new Set(corpus.cases.map((c) => c.command));
    expect([...commands].sort()).toEqual(['decide', 'reserve', 'simulate', 'sweep', 'validate']);
    expect(corpus.cases.length).toBeGreaterThanOrEqual(250);
    const again = mkdtempSync(join(tmpdir(), 'pd-fuzz-again-'));
    const shape = (cases: FuzzCase[], dir: string) => cases.map((c) => c.args.map((a) => a.split(dir).join('<dir>')));
    expect(shape(generateCorpus(again, SEED).cases, again)).toEqual(shape(corpus.cases, TMP));
    rmSync(again, { recursive: true, force: true });
  });

  it('has both outcomes: the mutations make invalid input, and some stays valid', () => {
    const statuses = [...results.values()].map((r) => r.status);
    expect(statuses.filter((s) => s === 0).length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s === 2).length).toBeGreaterThan(100);
  });

  it(`keeps every child under ${MAX_RSS_MB} MB peak RSS`, () => {
    expect(peakRssKb).toBeGreaterThan(0);
    expect(peakRssKb / 1024).toBeLessThan(MAX_RSS_MB);
  });

  it.each(corpus.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const r = results.get(c.name);
    expect(r, `${c.name}: no result`).toBeDefined();
    const outcome = r as Outcome;
    const shown = `pd-planner ${c.args.join(' ')}\n--- stderr ---\n${outcome.stderr.slice(0, 3000)}\n--- stdout ---\n${outcome.stdout.slice(0, 1000)}`;
    expect([0, 2], shown).toContain(outcome.status);
    expect(outcome.stderr, shown).not.toMatch(STACK_FRAME);
    expect(outcome.stderr, shown).not.toMatch(CRASH_WORDS);
    expect(outcome.ms, shown).toBeLessThan(CASE_MS);
    if (outcome.status === 2) {
      expect(outcome.stdout, shown).toBe('');
      const commander = /^error: /m.test(outcome.stderr);
      if (!commander) for (const line of outcome.stderr.trimEnd().split('\n')) if (!line.startsWith('warning: ')) expect(line, shown).toMatch(PROBLEM_LINE);
    } else if (c.command === 'decide') {
      expect(decisionProblems(c, outcome.stdout), shown).toEqual([]);
    }
  });
});
