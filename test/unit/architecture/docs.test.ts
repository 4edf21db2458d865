/**
 * The documents stand on their own: README.md, docs/, deploy/ and examples/ name no document the repo does not
 * contain (the project's private specification and design notes, helper names, section marks), and every relative
 * link points at a file that exists, and at a heading that exists when it names one, as does every source path a
 * document names in backticks (`src/...`, `test/...`). The code's comments (src/, bench/, scripts/) name no outside
 * document either.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? filesUnder(path) : [path];
  });
}

const DOCUMENTS = ['README.md', ...filesUnder('docs'), ...filesUnder('deploy'), ...filesUnder('examples')].filter((f) => /\.(md|ya?ml|json)$/.test(f));
const CODE = [...filesUnder('src'), ...filesUnder('bench'), ...filesUnder('scripts')].filter((f) => /\.(ts|mts|mjs|js|sh|py|md)$/.test(f));

/** References to documents outside the repo. */
const OUTSIDE = [/\bSPEC\b/, /\bDESIGN\b/, /\bNOTES\b/, /§/, /\bhelper H\d+/i, /\/work\/shared/];

/** GitHub's anchor of a heading: "\"Beats\" means Pareto" -> "beats-means-pareto". */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
}

describe('self-contained documents', () => {
  it('cover what they should', () => {
    expect(DOCUMENTS).toContain('docs/report.md');
    expect(DOCUMENTS).toContain('deploy/README.md');
    expect(DOCUMENTS).toContain('examples/sla.yaml');
    expect(CODE).toContain('src/constraints/index.ts');
    expect(CODE).toContain('bench/run.ts');
  });

  it.each([...DOCUMENTS, ...CODE])('%s names no document the repo does not contain', (file) => {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    const found = lines.flatMap((line, i) => (OUTSIDE.some((re) => re.test(line)) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
    expect(found).toEqual([]);
  });

  it.each(DOCUMENTS.filter((f) => f.endsWith('.md')))('%s links only to files and headings that exist', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : relative(ROOT, join(ROOT, dirname(file), path));
      if (!existsSync(join(ROOT, resolved))) broken.push(`${target}: no ${resolved}`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });

  it.each(DOCUMENTS.filter((f) => f.endsWith('.md')))('%s names only source paths that exist', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const missing = [...text.matchAll(/`((?:src|test|bench|scripts)\/[^`\s*]+)`/g)].map((m) => m[1]!).filter((path) => !existsSync(join(ROOT, path)));
    expect(missing).toEqual([]);
  });

  it('the checks can fail', () => {
    expect(OUTSIDE.some((re) => re.test('the contract of SPEC section 8'))).toBe(true);
    expect(OUTSIDE.some((re) => re.test('see DESIGN §6'))).toBe(true);
    expect(anchorOf('"Beats" means Pareto')).toBe('beats-means-pareto');
    expect(anchors('docs/report.md').has('repeating-a-run-from-its-report')).toBe(true);
  });
});
