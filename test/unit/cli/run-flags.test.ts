/**
 * `pd-planner run`'s flags and start-up inputs: every bad value is exit 2 with a line naming the flag or the file
 * and what to do, before anything is started; nothing ends in a stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerRun } from '../../../src/cli/run.js';
import { runCli, runInProcess } from './cli-helpers.js';

let dir: string;
let policy: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pd-run-flags-'));
  policy = join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: flags }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { prefill-od: 2 } }
  pools:
    - { name: prefill-od, role: prefill, minReplicas: 1, maxReplicas: 4 }
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runInProcess(registerRun, ['run', '--policy', policy, '--once', '--dry-run', '--connector', 'virtual', ...args]);

describe('run: numeric and duration flags are checked like the others (exit 2 naming the flag)', () => {
  const cases: [string[], string][] = [
    [['--policy-timeout', '0banana'], '--policy-timeout: expected a duration such as "30s", or 0 for none, got "0banana"'],
    [['--policy-timeout', '-5s'], '--policy-timeout: expected a duration such as "30s", or 0 for none, got "-5s"'],
    [['--policy-timeout', '25h'], "--policy-timeout: 25h is longer than a day (1d), the longest the planner's timers hold"],
    [['--lease-duration', '1e3'], '--lease-duration: expected a duration such as "15s" or "500ms", got "1e3"'],
    [['--lease-duration', '0s'], '--lease-duration: expected a duration such as "15s" or "500ms", got "0s"'],
    [['--renew-deadline', '99999999999d'], "--renew-deadline: 99999999999d is longer than a day (1d), the longest the planner's timers hold"],
    [['--retry-period', '12s'], '--retry-period (12s) must be shorter than --renew-deadline (10s): the leader must be able to retry a renew before its deadline'],
    [['--concurrency', '0x10'], '--concurrency: "0x10" is not a whole number from 1 to 256'],
    [['--concurrency', '2.5'], '--concurrency: "2.5" is not a whole number from 1 to 256'],
    [['--concurrency', '1e9'], '--concurrency: "1e9" is not a whole number from 1 to 256'],
    [['--metrics-port', '0x50'], '--metrics-port: "0x50" is not a whole number from 0 to 65535'],
    [['--metrics-port', ''], '--metrics-port: "" is not a whole number from 0 to 65535'],
    [['--metrics-port', '70000'], '--metrics-port: "70000" is not a whole number from 0 to 65535'],
    [['--log-level', 'bogus'], '--log-level: "bogus" is not a level; use one of fatal, error, warn, info, debug, trace, silent'],
    [['--lease-name', 'Bad_Name'], `--lease-name: "Bad_Name" is not a valid Lease name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`],
  ];
  for (const [args, message] of cases) {
    it(`${args.join(' ')} -> exit 2: ${message}`, async () => {
      const result = await run(args);
      expect(result.status).toBe(2);
      expect(result.stderr).toBe(`${message}\n`);
    });
  }

  it('0 and 0s are "no per-policy timeout"', async () => {
    for (const zero of ['0', '0s']) {
      const result = await run(['--policy-timeout', zero, '--log-level', 'silent']);
      expect(result.status, result.stderr).toBe(0);
    }
  });
});

describe('run: a garbled, empty or wrong kubeconfig names the file and says what to do', () => {
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  it('empty', async () => {
    const path = file('empty.kc', '');
    const result = await run(['--kubeconfig', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`--kubeconfig: ${path} is empty, not a kubeconfig; give the file \`kubectl config view --raw --minify\` writes, or run in a pod (in-cluster credentials)\n`);
  });
  it('not YAML', async () => {
    const path = file('garbled.kc', 'clusters: [ { name: a\n');
    const result = await run(['--kubeconfig', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^--kubeconfig: ${path} is not a valid kubeconfig \\(.+\\); check it with \`kubectl --kubeconfig ${path} config view\``));
  });
  it('YAML without a cluster', async () => {
    const path = file('nocluster.kc', 'apiVersion: v1\nkind: Config\ncurrent-context: prod\n');
    const result = await run(['--kubeconfig', path]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--kubeconfig: ${path} has no cluster to talk to: its current-context "prod" names no cluster in the file; pick one with`);
  });
  it('/dev/zero, a directory, a missing file', async () => {
    expect((await run(['--kubeconfig', '/dev/zero'])).stderr).toBe('--kubeconfig: /dev/zero: more than 4.0 MB; a kubeconfig is a few KB (limit 4.0 MB): is this the right file?\n');
    expect((await run(['--kubeconfig', dir])).stderr).toBe(`--kubeconfig: ${dir}: cannot read: is a directory, expected a file\n`);
    expect((await run(['--kubeconfig', join(dir, 'nope')])).stderr).toBe(`--kubeconfig: ${join(dir, 'nope')} not found\n`);
  });
});

describe('run: --metrics-port in use', () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('says which port and what to do, exit 2, and leaves nothing running', async () => {
    const result = await runInProcess(registerRun, ['run', '--policy', policy, '--dry-run', '--connector', 'virtual', '--metrics-port', String(port), '--log-level', 'silent']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `--metrics-port ${port}: the port is already in use on 0.0.0.0 (EADDRINUSE): another process listens there; pick a free port with --metrics-port PORT, or stop the other process\n`,
    );
  });
});

describe('run: corrupt or unreadable inputs never end in a stack trace (the real binary)', () => {
  it('a policy directory with a corrupt policy, a policy whose profile is garbage, a gzip file named .yaml', () => {
    const policies = join(dir, 'policies');
    mkdirSync(policies);
    writeFileSync(join(policies, 'a.yaml'), 'spec: [\n');
    const profile = join(dir, 'profile');
    mkdirSync(profile);
    writeFileSync(join(profile, 'prefill_raw_data.json'), '{"prefill_isl": [1, 2');
    writeFileSync(join(profile, 'decode_raw_data.json'), '\u0000\u0001');
    writeFileSync(join(policies, 'b.yaml'), `${'apiVersion: pd-planner/v1\nkind: PlannerPolicy\nmetadata: { name: b }\nspec:\n  interval: 60s\n  profile: ../profile\n'}  slo: { ttft: { ms: 800 }, itl: { ms: 60 } }\n  policy: sla\n  pools:\n    - { name: p, role: prefill }\n    - { name: d, role: decode }\n`);
    writeFileSync(join(policies, 'c.yaml'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00]));
    const result = runCli(['run', '--policy', policies, '--once', '--dry-run', '--connector', 'virtual']);
    expect(result.status).toBe(2);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stderr).toContain(join(policies, 'a.yaml'));
    expect(result.stderr).toContain('spec.profile');
    expect(result.stderr).toContain(join(policies, 'c.yaml'));
  }, 60_000);
});
