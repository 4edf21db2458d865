/**
 * The import graph of src/, read with a tiny parser of import statements (static `import ... from`, `export ... from`,
 * side-effect `import '...'` and `import('...')` with a literal path; type-only imports count too):
 *   - no import cycles anywhere in src/;
 *   - the pure core (planner, policies, constraints, forecast, profiles, fleet) reaches no I/O, clock, timer, client library
 *     or shell folder, not even through another module (ESLint's no-restricted-imports only sees direct imports);
 *   - imports point inward: cli -> service -> the adapters (sources, kubernetes, connectors) -> the core; an adapter
 *     does not import another adapter, the service or the CLI.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');

/** Folders of the decision core, and the one file in them that is not pure (it reads profile files). */
const CORE = ['planner', 'policies', 'constraints', 'forecast', 'profiles', 'fleet'];
const CORE_EXCEPTIONS = ['profiles/load.ts', 'profiles/index.ts'];
/** What the core may not reach: shell folders, modules that read files, and every package but the pure ones. */
const SHELL = /^(service|sources|kubernetes|connectors|cli|sim)\/|^log\.ts$|^config\/(load|read|observation|state-file)\.ts$|^profiles\/load\.ts$/;
const PURE_PACKAGES = ['zod', 'node-cron', 'yaml', 'simple-statistics'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs)$/.test(name) ? [path] : [];
  });
}

const SPECIFIER = /(?:^\s*(?:import|export)\s+(?:type\s+)?[\w*\s{},$]*?\s*from\s*|^\s*import\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/gm;

/** The specifiers a module imports, in order of appearance. */
export function importsOf(text: string): string[] {
  const withoutBlockComments = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  return [...withoutBlockComments.matchAll(SPECIFIER)].map((m) => m[1] as string);
}

/** A relative specifier as the file it names (".js" written for a ".ts" file, as NodeNext wants). */
function resolveLocal(from: string, specifier: string): string {
  const path = resolve(dirname(from), specifier);
  return path.endsWith('.js') ? `${path.slice(0, -3)}.ts` : path;
}

interface Graph {
  /** src-relative file -> the src-relative files it imports. */
  local: Map<string, string[]>;
  /** src-relative file -> packages and node built-ins it imports. */
  external: Map<string, string[]>;
}

function buildGraph(): Graph {
  const local = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const key = relative(SRC, file);
    const specs = importsOf(readFileSync(file, 'utf8'));
    local.set(key, specs.filter((s) => s.startsWith('.')).map((s) => relative(SRC, resolveLocal(file, s))));
    external.set(key, specs.filter((s) => !s.startsWith('.')));
  }
  return { local, external };
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function cycles(edges: Map<string, string[]>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    order.set(node, index);
    low.set(node, index);
    index += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!order.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, order.get(next)!));
    }
    if (low.get(node) === order.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!order.has(node)) visit(node);
  return found;
}

/** Every file reachable from `start` (itself excluded), with the chain that reaches it. */
function reachable(edges: Map<string, string[]>, start: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const next of edges.get(node) ?? []) {
      if (seen.has(next)) continue;
      seen.set(next, [...seen.get(node)!, next]);
      queue.push(next);
    }
  }
  seen.delete(start);
  return seen;
}

/** The folders that talk to the outside world for the service, each on its own. */
const ADAPTERS = ['sources', 'kubernetes', 'connectors'];
const folderOf = (file: string) => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '');

describe('import graph of src/', () => {
  const graph = buildGraph();

  it('the parser finds every kind of import statement', () => {
    const text = [
      "import { a, type B } from './a.js';",
      "import type {\n  C,\n  D,\n} from '../c.js';",
      "import * as k8s from '@kubernetes/client-node';",
      "import './side-effect.js';",
      "export { e } from './e.js';",
      "export * from './f.js';",
      "const g = await import('./g.js');",
      "/* import { h } from './h.js'; */",
      "const url = 'http://example/from';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../c.js', '@kubernetes/client-node', './side-effect.js', './e.js', './f.js', './g.js']);
  });

  it('finds the modules it should (a parser that reads nothing would pass the checks below)', () => {
    expect(graph.local.get('planner/tick.ts')).toContain('planner/decide.ts');
    expect(graph.local.get('cli/program.ts')).toContain('cli/run.ts');
    expect(graph.external.get('service/leader.ts')).toContain('@kubernetes/client-node');
    expect(graph.local.size).toBeGreaterThan(100);
  });

  it('has no import cycles', () => {
    expect(cycles(graph.local)).toEqual([]);
  });

  it('the cycle finder reports a cycle', () => {
    const edges = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cycles(edges)).toEqual([['a', 'b', 'c'], ['e']]);
  });

  it('the core reaches no shell folder, file reader, client library or node built-in, directly or not', () => {
    const core = [...graph.local.keys()].filter((f) => CORE.some((d) => f.startsWith(`${d}/`)) && !CORE_EXCEPTIONS.includes(f));
    expect(core.length).toBeGreaterThan(30);
    const leaks: string[] = [];
    for (const file of core) {
      const reached = reachable(graph.local, file);
      for (const [module, chain] of [[file, [file]] as const, ...reached]) {
        if (SHELL.test(module)) leaks.push(chain.join(' -> '));
        for (const pkg of graph.external.get(module) ?? []) {
          if (!PURE_PACKAGES.includes(pkg)) leaks.push(`${chain.join(' -> ')} -> ${pkg}`);
        }
      }
    }
    expect([...new Set(leaks)]).toEqual([]);
  });

  it('imports point inward: nothing imports the CLI or the service but the layers above them; adapters stay apart', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph.local) {
      const from = folderOf(file);
      for (const target of targets) {
        const to = folderOf(target);
        if (to === from) continue;
        if (to === 'cli') wrong.push(`${file} -> ${target}`);
        if (to === 'service' && from !== 'cli') wrong.push(`${file} -> ${target}`);
        if (ADAPTERS.includes(from) && ADAPTERS.includes(to)) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
