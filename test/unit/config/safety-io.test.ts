/**
 * Reading and writing the files users hand us, safely: every read has a byte cap that holds for devices, FIFOs and
 * symlinks (stat's size is not trusted); `__proto__` keys are refused by name; a state file is written atomically
 * and where it goes is checked before anything is decided; a corrupt or empty state file names the file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerDecide } from '../../../src/cli/decide.js';
import { loadPolicyFile } from '../../../src/config/load.js';
import { loadObservationFile, parseObservation } from '../../../src/config/observation.js';
import { MAX_POLICY_BYTES, readCapped, readInputFile } from '../../../src/config/read.js';
import { checkStateOut, loadStateFile, writeStateFile } from '../../../src/config/state-file.js';
import { InputError } from '../../../src/errors.js';
import { initialState } from '../../../src/planner/state.js';
import { ROOT, runInProcess } from '../cli/cli-helpers.js';
import { basePolicy, problems } from './policy-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pd-safety-io-'));

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  return [];
}

describe('bounded reads', () => {
  it('a policy from /dev/zero stops at the cap instead of reading 1.5 GB', () => {
    expect(problemsOf(() => loadPolicyFile('/dev/zero'))).toEqual([
      '/dev/zero: more than 256 KB; a policy file is a few KB (limit 256 KB): is this the right file?',
    ]);
  });

  it('an observation symlinked to /dev/zero, and a state from /dev/zero, likewise', () => {
    const link = join(tmp, 'obs.json');
    symlinkSync('/dev/zero', link);
    expect(problemsOf(() => loadObservationFile(link))).toEqual([`${link}: more than 1.0 MB; an observation is a few KB (limit 1.0 MB): is this the right file?`]);
    expect(problemsOf(() => loadStateFile('/dev/zero'))).toEqual(['/dev/zero: more than 16.0 MB; a planner state is at most a few MB (limit 16.0 MB): is this the right file?']);
  });

  it('a regular file over the cap is refused from its size, before reading', () => {
    const big = join(tmp, 'big.yaml');
    writeFileSync(big, 'a'.repeat(MAX_POLICY_BYTES + 1));
    expect(problemsOf(() => loadPolicyFile(big))).toEqual([`${big}: is 257 KB; a policy file is a few KB (limit 256 KB): is this the right file?`]);
    expect(readCapped(big, { bytes: MAX_POLICY_BYTES + 1, what: 'x' }).length).toBe(MAX_POLICY_BYTES + 1);
  });

  it('a FIFO is read up to the cap (a policy piped in works)', async () => {
    const fifo = join(tmp, 'policy.fifo');
    execFileSync('mkfifo', [fifo]);
    // A separate process writes, since the read below blocks this thread until the writer is done.
    const writer = spawn('sh', ['-c', `cat "${join(ROOT, 'examples', 'sla.yaml')}" > "${fifo}"`]);
    const text = readInputFile(fifo, { maxBytes: { bytes: MAX_POLICY_BYTES, what: 'a policy' } });
    await new Promise((resolve) => writer.on('close', resolve));
    expect(text).toContain('kind: PlannerPolicy');
  });

  it('a directory and a missing file name the path', () => {
    expect(problemsOf(() => readInputFile(tmp))).toEqual([`${tmp}: cannot read: is a directory, expected a file`]);
    expect(problemsOf(() => readInputFile(join(tmp, 'nope')))).toEqual([`${join(tmp, 'nope')}: cannot read: no such file`]);
  });
});

describe('__proto__ keys are refused by name, never silently dropped', () => {
  it('in an observation\'s pools', () => {
    const data = JSON.parse('{"time":"2026-11-25T10:00:00Z","pools":{"__proto__":{"desired":5}}}');
    expect(problemsOf(() => parseObservation(data))).toEqual([
      'observation.pools.__proto__: "__proto__" is not allowed as a name (it would change how the data is read instead of adding an entry); rename it',
    ]);
  });

  it('in a policy record (static.replicas)', () => {
    const text = `${JSON.stringify(basePolicy()).slice(0, -2)},"static":{"replicas":{"__proto__":{"x":1}}}}}`;
    expect(problems(text)).toEqual([
      'spec.static.replicas.__proto__: "__proto__" is not allowed as a name (it would change how the data is read instead of adding an entry); rename it',
    ]);
  });

  it('in a state file, with the file named', () => {
    const path = join(tmp, 'proto-state.json');
    writeFileSync(path, '{"history":[],"correction":{"pCf":1,"dCf":1},"recommendations":[],"lastEviction":{},"last":{"__proto__":{"a":1}}}');
    expect(problemsOf(() => loadStateFile(path))).toEqual([
      `${path}: state.last.__proto__: "__proto__" is not allowed as a name (it would change how the data is read instead of adding an entry); rename it`,
    ]);
  });

  it('a pool named "constructor" reads as an ordinary pool from an observation', () => {
    const observation = parseObservation({ time: '2026-11-25T10:00:00Z', pools: { constructor: { desired: 2 } } });
    expect(observation.pools?.constructor).toEqual({ desired: 2 });
    expect(Object.getPrototypeOf(observation.pools)).toBeNull();
  });
});

describe('state files', () => {
  it('are written atomically: the new content, no temporary file left, and a rewrite replaces it whole', () => {
    const dir = mkdtempSync(join(tmp, 'atomic-'));
    const path = join(dir, 's.json');
    writeStateFile(path, { ...initialState(), last: { p: 3 } });
    writeStateFile(path, { ...initialState(), last: { p: 4 } });
    expect(loadStateFile(path).last).toEqual({ p: 4 });
    expect(readdirSync(dir)).toEqual(['s.json']);
  });

  it('where --state-out goes is checked first: a missing directory, a directory as the file', () => {
    expect(problemsOf(() => checkStateOut(join(tmp, 'no-such-dir', 's.json')))).toEqual([
      `--state-out: the directory ${join(tmp, 'no-such-dir')} (of ${join(tmp, 'no-such-dir', 's.json')}) does not exist; create it first (mkdir -p ${join(tmp, 'no-such-dir')})`,
    ]);
    expect(problemsOf(() => checkStateOut(tmp))).toEqual([`--state-out: ${tmp} is a directory; name a file`]);
  });

  it('--state-out naming a FIFO or a device is refused, and the node is left as it was (a rename would replace /dev/null)', async () => {
    const fifo = join(tmp, 'state.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(problemsOf(() => checkStateOut(fifo))).toEqual([
      `--state-out: ${fifo} is a FIFO, not a regular file; the state is written to a temporary file and renamed over it, which would replace it: name a regular file`,
    ]);
    expect(problemsOf(() => checkStateOut('/dev/null'))[0]).toContain('--state-out: /dev/null is a character device, not a regular file');
    const result = await runInProcess(registerDecide, ['decide', '--policy', join(ROOT, 'examples', 'sla.yaml'), '--observation', join(ROOT, 'examples', 'observation.json'), '--state-out', fifo]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('decide --state-out into a missing directory fails before the decision is printed', async () => {
    const out = join(tmp, 'missing', 'state.json');
    const result = await runInProcess(registerDecide, ['decide', '--policy', join(ROOT, 'examples', 'sla.yaml'), '--observation', join(ROOT, 'examples', 'observation.json'), '--state-out', out]);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('an empty (0-byte) or corrupt state file is a clear error naming the file', () => {
    const empty = join(tmp, 'empty.json');
    writeFileSync(empty, '');
    expect(problemsOf(() => loadStateFile(empty))).toEqual([
      `${empty}: the state file is empty (was it cut short?); write a new one with --state-out, or leave --state out to start fresh`,
    ]);
    const corrupt = join(tmp, 'corrupt.json');
    writeFileSync(corrupt, '{"history": [1, 2');
    expect(problemsOf(() => loadStateFile(corrupt))[0]).toMatch(new RegExp(`^${corrupt}:1:\\d+: invalid JSON`));
  });

  it('chained decide --state s --state-out s reads the old state and replaces it', async () => {
    const path = join(tmp, 'chain.json');
    const args = ['decide', '--policy', join(ROOT, 'examples', 'sla.yaml'), '--observation', join(ROOT, 'examples', 'observation.json'), '--state-out', path];
    expect((await runInProcess(registerDecide, args)).status).toBe(0);
    const first = JSON.parse(readFileSync(path, 'utf8')) as { history: unknown[] };
    expect((await runInProcess(registerDecide, [...args, '--state', path])).status).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8')).history.length).toBeGreaterThanOrEqual(first.history.length);
  });
});
