/**
 * The README works as written. Every command of its ```sh blocks is
 *   - checked against the command line's own definition (commander: the command, its flags, their values where the
 *     flag parses them) and the files it names exist in the repo; and
 *   - run, in the README's order, in a fresh clone (a folder holding the repo's tracked files and its installed
 *     node_modules, nothing else), except `npm test` (this suite) and the commands marked "needs a Kubernetes
 *     cluster". Each must exit 0; the what-ifs must show an effect (a sweep whose rows are all the same would not).
 * The ```sh blocks of docs/ and deploy/README.md are checked against the command line's definition too.
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
  const files = ['README.md', 'deploy/README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
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
