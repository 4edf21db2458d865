/**
 * docs/policy.md is the one place defaults are written down; these tests keep it honest against the schema:
 * every field is documented, every documented field exists, and every documented default is the real one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/config/duration.js';
import { fieldPaths } from '../../../src/config/fields.js';
import { policyFile } from '../../../src/config/schema.js';
import { load } from './policy-helpers.js';

interface Row {
  path: string;
  type: string;
  default: string;
}

function documentedRows(): Row[] {
  const text = readFileSync(new URL('../../../docs/policy.md', import.meta.url), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    // Cells are split on unescaped pipes (`sla` \| `dynamo` is one cell).
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    const path = /^`((?:apiVersion|kind|metadata\.|spec\.)[^`]*)`$/.exec(cells[1] ?? '')?.[1];
    if (path && cells.length >= 5) rows.push({ path, type: cells[2] as string, default: cells[3] as string });
  }
  return rows;
}

/** The smallest policy that opens every optional block, so that every default shows up once parsed. */
const fullest = {
  apiVersion: 'pd-planner/v1',
  kind: 'PlannerPolicy',
  metadata: { name: 'defaults' },
  spec: {
    slo: { ttft: { ms: 800 }, itl: { ms: 60 } },
    pools: [
      { name: 'p', role: 'prefill', target: { kind: 'DynamoGraphDeployment', name: 'g' } },
      { name: 'd', role: 'decode' },
    ],
    schedules: [{ cron: '0 8 * * 1-5', duration: '10h' }],
    sources: {
      prometheus: { url: 'http://prometheus:9090' },
      queue: { nats: 'nats://nats:4222', stream: 'prefill' },
      virtual: { nats: 'nats://nats:4222' },
    },
  },
};

/** The parsed value at a documented path ([] takes the first item). */
function valueAt(root: unknown, path: string): unknown {
  let node: unknown = root;
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    node = (node as Record<string, unknown> | undefined)?.[list ? part.slice(0, -2) : part];
    if (list) node = (node as unknown[] | undefined)?.[0];
  }
  return node;
}

describe('docs/policy.md', () => {
  const rows = documentedRows();
  const documented = rows.map((r) => r.path);

  it('documents every field of the schema', () => {
    const missing = fieldPaths(policyFile).filter((p) => !documented.includes(p));
    expect(missing).toEqual([]);
  });

  it('documents no field the schema does not have, and each only once', () => {
    const schemaPaths = fieldPaths(policyFile);
    // A block may have a row of its own (spec.pools[].target) when its children are documented too.
    const known = (p: string) => schemaPaths.includes(p) || schemaPaths.some((s) => s.startsWith(`${p}.`));
    expect(documented.filter((p) => !known(p))).toEqual([]);
    expect(documented.filter((p, i) => documented.indexOf(p) !== i)).toEqual([]);
  });

  it('gives the real default for every field', () => {
    const parsed = load(fullest, false).file;
    const wrong: string[] = [];
    for (const row of rows) {
      const actual = valueAt(parsed, row.path);
      if (row.default === 'required') continue;
      if (row.default === '—') {
        // A block row (spec.pools[].target) is opened in `fullest` so that its children are checked.
        const isBlock = fieldPaths(policyFile).some((p) => p.startsWith(`${row.path}.`));
        if (actual !== undefined && !isBlock) wrong.push(`${row.path}: documented as unset, is ${JSON.stringify(actual)}`);
        continue;
      }
      const cell = /^`(.*)`$/.exec(row.default)?.[1];
      if (cell === undefined) {
        wrong.push(`${row.path}: default cell "${row.default}" is not \`value\`, required or —`);
        continue;
      }
      const expected: unknown = row.type.startsWith('duration')
        ? parseDuration(cell)
        : typeof actual === 'string'
          ? cell
          : JSON.parse(cell);
      if (JSON.stringify(expected) !== JSON.stringify(actual)) {
        wrong.push(`${row.path}: documented ${cell}, schema default ${JSON.stringify(actual)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
