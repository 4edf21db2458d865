/**
 * The README works as written. Every command of its ```sh blocks is
 *   - checked against the command line's own definition (commander: the command, its flags, their values where the
 *     flag parses them) and the files it names exist in the repo; and
 *   - run, in the README's order, in a fresh clone (a folder holding the repo's tracked files and its installed
 *     node_modules, nothing else), except `npm test` (this suite) and the commands marked "needs a Kubernetes
 *     cluster". Each must exit 0; the what-ifs must show an effect (a sweep whose rows are all the same would not).
 * The ```sh blocks of docs/ and deploy/README.md are checked against the command line's definition too, and so are the
 * commands written inline in their prose (`simulate --policy POLICY [--out DIR]`): every flag they name is the
 * command's, and one with no placeholder parses as a whole.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/program.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLUSTER = /needs a Kubernetes cluster/;

interface ShellCommand {
  /** The line as written. */
  line: string;
  /** Shell words before the comment and any redirection. */
  words: string[];
  /** `> FILE`, when the line redirects its output. */
  redirect?: string;
  comment: string;
}

/**
 * Shell words of one line: single and double quotes, `#` comments, `>` redirection; a pipe ends the words (what it
 * pipes into, e.g. kubectl, is not pd-planner's). No line continuations.
 */
function shellWords(line: string): ShellCommand {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  let i = 0;
  for (; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else word = (word ?? '') + c;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if ((c === '#' && word === undefined) || c === '|') {
      break;
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in: ${line}`);
  if (word !== undefined) words.push(word);
  const comment = line[i] === '#' ? line.slice(i + 1).trim() : (/#(.*)$/.exec(line.slice(i))?.[1] ?? '').trim();
  const at = words.indexOf('>');
  return at >= 0 ? { line, words: words.slice(0, at), redirect: words[at + 1], comment } : { line, words, comment };
}

/** The commands of the ```sh blocks of a Markdown file, in order. */
function shCommands(file: string): ShellCommand[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: ShellCommand[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      expect(line.endsWith('\\'), `${file}: one command a line: ${line}`).toBe(false);
      out.push(shellWords(line));
    }
  }
  return out;
}

/** pd-planner's arguments when the command runs it (`npx pd-planner ...`, `node bin/pd-planner.js ...`, `pd-planner ...`). */
function plannerArgs(words: string[]): string[] | undefined {
  if (words[0] === 'npx' && words[1] === 'pd-planner') return words.slice(2);
  if (words[0] === 'node' && words[1] === 'bin/pd-planner.js') return words.slice(2);
  if (words[0] === 'pd-planner') return words.slice(1);
  return undefined;
}

/** Parse `args` with the real command definitions, every action replaced by nothing: the flags' own checks run. */
async function parses(args: string[]): Promise<string | undefined> {
  const program = new Command().name('pd-planner').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  for (const load of Object.values(COMMANDS)) (await load())(program);
  for (const command of program.commands) command.action(() => {});
  try {
    await program.parseAsync(['node', 'pd-planner', ...args]);
    return undefined;
  } catch (error) {
    return error instanceof CommanderError ? error.message : String(error);
  }
}

/** The commands of the Markdown documents a user reads: README.md, docs/, deploy/README.md. */
const DOCUMENTS = ['README.md', 'deploy/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface InlineCommand {
  /** The code span as written, its line breaks as spaces. */
  text: string;
  /** The pd-planner command it names (`simulate`). */
  command: string;
  /** The flags it names, each once (`--out`). */
  flags: string[];
  /** Its pd-planner arguments when it has no placeholder (POLICY, FILE, `...`, `[--opt]`, `a|b`), so it can be parsed whole. */
  args?: string[];
}

/**
 * The pd-planner commands written inline in a document's prose: a code span that starts with `npx pd-planner CMD`,
 * `pd-planner CMD`, `node bin/pd-planner.js CMD`, or `CMD --flag` for a command name CMD. Fenced blocks are left to
 * shCommands.
 */
function inlineCommands(text: string, commands: readonly string[]): InlineCommand[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, '');
  const out: InlineCommand[] = [];
  for (const m of prose.matchAll(/`([^`]+)`/g)) {
    const span = m[1]!.replace(/\s+/g, ' ').trim();
    const head = /^(?:npx pd-planner |pd-planner |node bin\/pd-planner\.js )?([a-z]+)(?= |$)/.exec(span);
    if (!head || !commands.includes(head[1]!)) continue;
    const rest = span.slice(head[0].length);
    const prefixed = head[0] !== head[1];
    if (!prefixed && !/^ --/.test(rest)) continue; // "run" alone is a word, "run --once" a command
    if (/: /.test(rest)) continue; // a message quoted from the program ("pd-planner run --once: the tick failed: ...")
    const flags = [...new Set([...rest.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)].map((f) => f[0]))];
    const placeholder = /\.\.\.|…|\[|\||\b[A-Z][A-Z0-9_.]*\b/.test(rest);
    // Only a command written out with its arguments (`npx pd-planner ...`) is meant to run as it stands: `run --once`
    // names a flag, `pd-planner validate` a command.
    const runnable = prefixed && rest !== '' && !placeholder;
    out.push({ text: span, command: head[1]!, flags, ...(runnable ? { args: [head[1]!, ...shellWords(rest).words] } : {}) });
  }
  return out;
}

/** Each command's long flags, from its definition (and --help, which commander adds). */
async function commandFlags(): Promise<Map<string, Set<string>>> {
  const program = new Command();
  for (const load of Object.values(COMMANDS)) (await load())(program);
  return new Map(program.commands.map((c) => [c.name(), new Set(['--help', ...c.options.map((o) => o.long!).filter(Boolean)])]));
}

/** Problems of a document's inline commands: flags the command does not have, and runnable ones that do not parse. */
async function inlineProblems(text: string): Promise<string[]> {
  const flags = await commandFlags();
  const problems: string[] = [];
  for (const c of inlineCommands(text, [...flags.keys()])) {
    for (const f of c.flags) if (!flags.get(c.command)!.has(f)) problems.push(`\`${c.text}\`: ${c.command} has no ${f}`);
    if (c.args) {
      const error = await parses(c.args);
      if (error) problems.push(`\`${c.text}\`: ${error}`);
    }
  }
  return problems;
}

/** The words that name a file of the repo: the values of file flags and the command's file operands. */
function namedFiles(args: string[]): string[] {
  const files: string[] = [];
  for (const [i, w] of args.entries()) {
    const flag = args[i - 1];
    if (flag === '--policy' || flag === '--observation' || flag === '--state' || flag === '--fleet') files.push(w);
    else if (flag === '--trace') {
      // With --fleet a trace is NAME=FILE (the graph's name first).
      const file = args.includes('--fleet') ? w.slice(w.indexOf('=') + 1) : w;
      if (!/^(synthetic|scenario):/.test(file)) files.push(file);
    }
    else if (i === 1 && args[0] === 'validate') files.push(w);
  }
  return files;
}

describe('the sh blocks parse against the command line and name files the repo has', async () => {
  const files = DOCUMENTS;
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const file of files) {
    const commands = shCommands(file);
    const planner = commands.filter((c) => plannerArgs(c.words));
    if (planner.length === 0) continue;
    it(file, async () => {
      for (const c of commands) {
        if (c.words[0] === 'npm') expect(c.words[1] === 'test' || c.words[1] === 'start' || (c.words[1] === 'run' && scripts[c.words[2]!] !== undefined), c.line).toBe(true);
        const args = plannerArgs(c.words);
        if (!args) continue;
        expect(await parses(args), c.line).toBeUndefined();
        // The README's files are the repo's; the other documents may name the reader's own.
        if (file === 'README.md') for (const f of namedFiles(args)) expect(existsSync(join(ROOT, f)), `${c.line}: ${f}`).toBe(true);
      }
    });
  }

  it.each(DOCUMENTS)('%s: the commands in its prose name only their own flags, and parse when they have no placeholder', async (file) => {
    expect(await inlineProblems(readFileSync(join(ROOT, file), 'utf8'))).toEqual([]);
  });

  it('README: the commands in its prose name files the repo has', async () => {
    const flags = await commandFlags();
    const runnable = inlineCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'), [...flags.keys()]).filter((c) => c.args);
    expect(runnable.length).toBeGreaterThanOrEqual(1);
    expect(runnable.flatMap((c) => namedFiles(c.args!).filter((f) => !existsSync(join(ROOT, f))).map((f) => `${c.text}: ${f}`))).toEqual([]);
  });

  it('README: a simulate names its --out (or prints --json): the default out/report holds the report npm start wrote', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const simulates = [
      ...shCommands('README.md').map((c) => plannerArgs(c.words)).filter((a) => a?.[0] === 'simulate').map((a) => a!.join(' ')),
      ...inlineCommands(text, ['simulate']).filter((c) => c.args).map((c) => c.text),
    ];
    expect(simulates.length).toBeGreaterThanOrEqual(6);
    expect(simulates.filter((c) => !/ --(out|json|force)\b/.test(c))).toEqual([]);
  });

  it('catches a mistake in prose: a flag of another command, a bad value, a synopsis naming a flag that does not exist', async () => {
    expect(await inlineProblems('run `npx pd-planner simulate --trace x.csv --rate-scale 4 --policy-timeout 5s` to see')).toEqual([
      '`npx pd-planner simulate --trace x.csv --rate-scale 4 --policy-timeout 5s`: simulate has no --policy-timeout',
      "`npx pd-planner simulate --trace x.csv --rate-scale 4 --policy-timeout 5s`: error: unknown option '--policy-timeout'",
    ]);
    expect(await inlineProblems('`npx pd-planner run --policy a.yaml --metrics-port x`')).toEqual(['`npx pd-planner run --policy a.yaml --metrics-port x`: InputError: --metrics-port: "x" is not a whole number from 0 to 65535']);
    expect(await inlineProblems('`run --policy POLICY [--once] [--dry-rn]`, `reserve --max-runs N`')).toEqual(['`run --policy POLICY [--once] [--dry-rn]`: run has no --dry-rn']);
    // Words and quoted messages are not commands.
    expect(await inlineProblems('the `run` command; `pd-planner run --once: the tick failed: --foo`; `sweep`')).toEqual([]);
    // A command split over two lines of prose is one command.
    expect(inlineCommands('`npx pd-planner simulate --trace\n  t.csv --json`', ['simulate'])).toEqual([
      { text: 'npx pd-planner simulate --trace t.csv --json', command: 'simulate', flags: ['--trace', '--json'], args: ['simulate', '--trace', 't.csv', '--json'] },
    ]);
  });

  it('catches a README mistake: an unknown flag, a missing value, a file the repo does not have', async () => {
    expect(await parses(['simulate', '--polcy', 'x'])).toMatch(/unknown option '--polcy'/);
    expect(await parses(['run', '--once', '--policy'])).toMatch(/option '--policy <path>' argument missing/);
    expect(await parses(['run', '--policy', 'a.yaml', '--metrics-port', 'x'])).toMatch(/--metrics-port: "x" is not a whole number from 0 to 65535/);
    expect(namedFiles(['run', '--policy', 'policy.yaml', '--once']).filter((f) => !existsSync(join(ROOT, f)))).toEqual(['policy.yaml']);
    expect(shellWords(`npx pd-planner simulate --trace 'synthetic:step?steps=0:2&duration=30m' --json > r.json   # a comment`)).toEqual({
      line: `npx pd-planner simulate --trace 'synthetic:step?steps=0:2&duration=30m' --json > r.json   # a comment`,
      words: ['npx', 'pd-planner', 'simulate', '--trace', 'synthetic:step?steps=0:2&duration=30m', '--json'],
      redirect: 'r.json',
      comment: 'a comment',
    });
  });
});

describe('the README runs as written on a fresh clone', () => {
  const clone = mkdtempSync(join(tmpdir(), 'pd-readme-'));
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('every command exits 0, in order; the what-ifs show an effect', () => {
    // The tracked files (what a clone has) and the installed modules (what `npm ci` adds), and nothing else.
    const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const top of new Set([...tracked.map((f) => f.split('/')[0]!), 'node_modules'])) {
      if (existsSync(join(ROOT, top))) symlinkSync(join(ROOT, top), join(clone, top));
    }
    const ran: string[] = [];
    const output: Record<string, string> = {};
    for (const c of shCommands('README.md')) {
      if (CLUSTER.test(c.comment) || (c.words[0] === 'npm' && c.words[1] === 'test')) continue;
      // At a lower CPU priority: minutes of simulation should not starve the timing-sensitive suites running beside it.
      const r = spawnSync('nice', ['-n', '10', 'bash', '-c', c.line], { cwd: clone, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CI: '1', KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' } });
      // A command whose comment says "exits N" is held to that exit code; every other one to 0.
      const expected = Number(/\bexits (\d)\b/.exec(c.comment)?.[1] ?? 0);
      expect(r.status, `${c.line}\n${r.stderr.slice(-3000)}`).toBe(expected);
      expect(r.stderr, c.line).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      ran.push(c.line);
      output[c.words.slice(0, 3).join(' ')] = r.stdout;
    }
    expect(ran.length).toBeGreaterThanOrEqual(10);

    // npm start and the simulate commands wrote their reports where they said.
    for (const dir of ['out/report', 'out/default', 'out/conv-x4', 'out/step', 'out/vs-today']) expect(existsSync(join(clone, dir, 'report.html')), dir).toBe(true);
    expect(JSON.parse(readFileSync(join(clone, 'report.json'), 'utf8')).trace.format).toBe('mooncake');
    const today = JSON.parse(readFileSync(join(clone, 'out/vs-today/report.json'), 'utf8'));
    expect(today.runs[1].policy).toBe('current');
    expect(typeof today.runs[0].savedVsCurrent.gpuHours).toBe('number');

    // The dry run needs no cluster and says why it holds.
    expect(output['npx pd-planner run']).toMatch(/ WARN {2}prometheus .* unknown this tick\n/);
    expect(output['npx pd-planner run']).toMatch(/ INFO {2}tick: prefill-od=1 decode-od=1 \(held: /);

    // Each sweep moves the policy's GPU-hours with the value: no two rows alike.
    for (const dir of ['out/sweep-startup', 'out/sweep-budget']) {
      const sweep = JSON.parse(readFileSync(join(clone, dir, 'sweep.json'), 'utf8')) as { scenarios: { report: { runs: { policy: string; gpuHours: { total: number } }[] } }[] };
      const hours = sweep.scenarios.map((s) => s.report.runs.find((r) => r.policy === 'policy')!.gpuHours.total);
      expect(new Set(hours).size, `${dir}: ${hours.join(', ')}`).toBe(hours.length);
    }
  }, 900_000);
});
