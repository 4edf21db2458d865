/**
 * docs/report.md documents report.json field by field; these tests keep the two in step: every field a report has
 * is documented, every documented field is one a report has, in the order the file writes them, and the documented
 * schemaVersion is the one written. The report is a real simulation with every optional part present.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePolicyText } from '../../../src/config/load.js';
import { loadProfile } from '../../../src/profiles/load.js';
import { DEFAULT_POLICY_YAML } from '../../../src/sim/default-policy.js';
import { BASELINES } from '../../../src/sim/baselines.js';
import { applyWhatIf } from '../../../src/sim/overrides.js';
import { reportObject } from '../../../src/sim/report/json.js';
import { sweepObject } from '../../../src/sim/report/sweep.js';
import { buildReport, REPORT_SCHEMA_VERSION, simulate } from '../../../src/sim/run.js';
import { readTrace } from '../../../src/sim/traces/index.js';
import type { SimReport } from '../../../src/sim/types.js';

const DOC = readFileSync(new URL('../../../docs/report.md', import.meta.url), 'utf8');

/** The backticked paths in the first column of the table under `heading`, in order. */
function documented(heading: string): string[] {
  const start = DOC.indexOf(`\n## ${heading}`);
  expect(start, `docs/report.md has "## ${heading}"`).toBeGreaterThan(0);
  const section = DOC.slice(start + 1).split('\n## ')[0]!;
  return section.split('\n').flatMap((line) => {
    const m = /^\| `([^`]+)` \|/.exec(line);
    return m ? [m[1]!] : [];
  });
}

const POOL_KEYED = new Set(['desired', 'ready', 'start', 'current']);
const LATENCY = new Set(['ttftMs', 'itlMs']);
const REPORTED = new Set(['p50', 'p90', 'p95', 'p99']);

/**
 * Every leaf path of a report.json object, as docs/report.md writes them: `[]` for list items, `<pool>` for pool
 * names, `<flag>` for what-if flags, `<slo>` for the SLO's own percentile. The per-interval latencies are documented
 * as one object each ("same keys as runs[].ttftMs") and `policy` as the policy file (docs/policy.md).
 */
function paths(value: unknown, path: string, out: string[]): string[] {
  const leafObjects = new Set(['policy', 'runs[].intervals[].ttftMs', 'runs[].intervals[].itlMs']);
  if (leafObjects.has(path)) {
    if (!out.includes(path)) out.push(path);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || value.every((v) => v === null || typeof v !== 'object')) {
      if (!out.includes(`${path}[]`)) out.push(`${path}[]`);
      return out;
    }
    for (const item of value) paths(item, `${path}[]`, out);
    return out;
  }
  if (value && typeof value === 'object') {
    const parent = path.split('.').at(-1)!.replace('[]', '');
    for (const [key, child] of Object.entries(value)) {
      const name = POOL_KEYED.has(parent) ? '<pool>' : parent === 'overrides' ? '<flag>' : LATENCY.has(parent) && !REPORTED.has(key) ? '<slo>' : key;
      paths(child, path ? `${path}.${name}` : name, out);
    }
    return out;
  }
  if (!out.includes(path)) out.push(path);
  return out;
}

/** A report with every optional part: all baselines, --current, a what-if override, SLOs on p99.5 and p97.5, trace notes. */
async function fullReport(): Promise<SimReport> {
  const loaded = parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
  const base = { ...loaded.spec, slo: { ttft: { percentile: 99.5, ms: 4000 }, itl: { percentile: 97.5, ms: 60 } } };
  const spec = applyWhatIf(base, { gpuBudget: 96 });
  const profile = loadProfile(spec.profile, loaded.baseDir);
  const trace = await readTrace('synthetic:step?steps=0:1,4m:3&duration=8m', { seed: 3 });
  trace.skipped = { count: 1, examples: [{ line: 7, reason: 'ContextTokens is not a number ("n/a")' }] };
  trace.excluded = [{ count: 2, reason: 'failed requests (Response tokens = 0)' }];
  trace.warnings = ['the file was not sorted by arrival; sorted'];
  const current = { 'prefill-od': 2, 'prefill-spot': 1, 'decode-od': 1, 'decode-spot': 1 };
  const result = await simulate({ spec, profile, trace, baselines: [...BASELINES], seed: 3, current });
  return buildReport({
    policyName: 'docs', spec, trace, rateScale: 1, seed: 3, result, generatedAt: '2026-01-01T00:00:00.000Z',
    inputs: { metadata: loaded.file.metadata, traceSource: 'synthetic:step?steps=0:1,4m:3&duration=8m', speedup: 1, baselines: [...BASELINES], whatIf: { gpuBudget: 96 }, current },
  });
}

describe('docs/report.md and report.json', async () => {
  const report = await fullReport();
  const json = reportObject(report);
  const written = paths(json, '', []);
  const doc = documented('report.json, field by field');

  it('documents every field a report has', () => {
    expect(written.filter((p) => !doc.includes(p))).toEqual([]);
  });

  it('documents only fields a report has', () => {
    expect(doc.filter((p) => !written.includes(p))).toEqual([]);
  });

  it('lists the top-level fields in the order the file writes them', () => {
    const top = (list: string[]) => [...new Set(list.map((p) => p.split(/[.[]/)[0]!))];
    expect(top(doc)).toEqual(Object.keys(json));
  });

  it('states the schemaVersion the simulator writes', () => {
    expect(json.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
    expect(DOC).toContain(`\`report.json\`: every number, documented field by field below (\`schemaVersion\` ${REPORT_SCHEMA_VERSION})`);
    expect(DOC).toContain(`| \`schemaVersion\` | layout version of this file: ${REPORT_SCHEMA_VERSION} `);
    expect(DOC).toContain(`\n- ${REPORT_SCHEMA_VERSION}: `);
  });

  it('documents every field of sweep.json', () => {
    const sweep = sweepObject({ parameter: 'gpu-budget', values: [96, 128], scenarios: [{ value: 96, report }] });
    const sweepPaths = paths(sweep, '', []).map((p) => p.replace(/^scenarios\[\]\.report\..*$/, 'scenarios[].report'));
    const sweepDoc = documented('sweep.json');
    expect([...new Set(sweepPaths)].filter((p) => !sweepDoc.includes(p))).toEqual([]);
    expect(sweepDoc.filter((p) => !sweepPaths.includes(p))).toEqual([]);
  });
});
