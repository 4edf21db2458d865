/**
 * Fault: decide() never returns (an algorithm bug, or an input the bounds miss), in the real `pd-planner run`
 * process. The decide worker is the test-only misbehaving one (test/fixtures/decide-worker), whose decide spins for a
 * policy whose first pool is named "spin..."; everything else is the shipped command.
 * Must hold: decide runs off the event loop, so /healthz keeps answering (each probe within 1 s) while it spins; the
 * tick ends at its deadline (the per-policy timeout, else the decide bound of max(interval, 10 s)), counted as
 * `pd_planner_errors_total{reason="timeout"}` with nothing written; SIGTERM during the spinning tick ends the process
 * (exit 0) within the grace period; a policy next to the spinning one keeps deciding.
 * The same for `run --fleet`: the fleet's decision (every graph's, together) runs in a decide thread with the same
 * deadline, so a graph whose decide spins holds the fleet's round (nothing written), not the process.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLines } from '../../fixtures/cli.js';
import { freePort, sleep, waitFor } from '../../fixtures/servers.js';

const RUN = fileURLToPath(new URL('../../fixtures/decide-worker/run.ts', import.meta.url));

let child: ChildProcessWithoutNullStreams | undefined;
let dir: string | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = dir = undefined;
});

const policy = (name: string, first: string, interval: string) => `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: ${name} }
spec:
  interval: ${interval}
  failureThreshold: 1
  slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } }
  policy: static
  static: { replicas: { ${first}: 2 } }
  pools:
    - { name: ${first}, role: prefill, minReplicas: 1, maxReplicas: 4 }
`;

function start(args: string[]) {
  const planner = spawn(process.execPath, ['--import', 'tsx', RUN, 'run', ...args, '--dry-run', '--connector', 'virtual'], {
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' },
  });
  child = planner;
  const output = { stdout: '', stderr: '' };
  planner.stdout.on('data', (d: Buffer) => (output.stdout += d.toString()));
  planner.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => planner.on('exit', (code) => resolve(code)));
  const events = () => jsonLines<{ event?: string; policy?: string; msg?: string }>(output.stdout);
  return { planner, output, exited, events };
}

/** GET with a 1 s limit: the status, or 0 when it did not answer in time. */
async function probe(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
}

describe('fault: decide() never returns, in the running process', () => {
  it('with --policy-timeout: /healthz answers throughout, each tick times out (counted), a healthy policy next to it decides, SIGTERM exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-hang-'));
    writeFileSync(join(dir, 'spin.yaml'), policy('spinner', 'spin-prefill', '2s'));
    writeFileSync(join(dir, 'fine.yaml'), policy('fine', 'prefill-od', '2s'));
    const port = await freePort();
    const { planner, output, exited, events } = start(['--policy', dir, '--policy-timeout', '1s', '--metrics-port', String(port)]);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => events().some((l) => l.event === 'tick-timeout' && l.policy === 'spinner'), 60_000, `a timed-out tick (stderr: ${output.stderr})`, 100);

    // The event loop is free while the decide threads spin: every probe is answered, each within 1 s.
    const statuses: number[] = [];
    for (let i = 0; i < 15; i += 1) {
      statuses.push(await probe(`${base}/healthz`));
      await sleep(200);
    }
    expect(statuses.every((s) => s === 200), `healthz statuses ${statuses.join(',')}`).toBe(true);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(Number(/^pd_planner_errors_total\{policy="spinner",reason="timeout"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    // The healthy policy kept deciding next to the spinning one, on the second decide thread (in every round, or all
    // but the one where a replacement thread was still starting on a loaded machine).
    const fineTicks = events().filter((l) => l.event === 'tick' && l.policy === 'fine').length;
    const fineTimeouts = Number(/^pd_planner_errors_total\{policy="fine",reason="timeout"\} (\d+)$/m.exec(metrics)?.[1]);
    expect(fineTicks).toBeGreaterThanOrEqual(2);
    expect(fineTimeouts).toBeLessThan(fineTicks);
    expect(events().filter((l) => l.event === 'tick' && l.policy === 'spinner')).toEqual([]);
    // The spinning policy is reported by /readyz (failureThreshold 1), the process stays ready for the other.
    expect(await (await fetch(`${base}/readyz`)).text()).toMatch(/^ok: 1 of 2 policies ready; failing: spinner/);

    const signalled = Date.now();
    planner.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000);
    expect(events().at(-1)?.event).toBe('stopped');
  }, 120_000);

  it('without a per-policy timeout: the decide bound (10 s) ends the tick as a timeout; SIGTERM during the spin exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-hang-'));
    const path = join(dir, 'spin.yaml');
    writeFileSync(path, policy('spinner', 'spin-prefill', '1s'));
    const port = await freePort();
    const { planner, output, exited, events } = start(['--policy', path, '--metrics-port', String(port)]);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => events().some((l) => l.event === 'started'), 60_000, `the planner to start (stderr: ${output.stderr})`, 100);
    // The first tick spins; until its 10 s bound the process answers its probes.
    await sleep(1500);
    expect(await probe(`${base}/healthz`)).toBe(200);
    await waitFor(() => events().some((l) => l.event === 'tick-timeout'), 60_000, 'the decide bound to end the first tick', 100);
    const timeout = events().find((l) => l.event === 'tick-timeout')!;
    expect(timeout.msg).toBe('tick timed out: decide() did not return within 10s (a computation that does not end); its thread was restarted and nothing was written');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^pd_planner_errors_total\{reason="timeout"\} [1-9]/m);
    expect(await (await fetch(`${base}/readyz`)).text()).toMatch(/^not ok: 1 failed ticks in a row \(threshold 1\); last: tick timed out: decide\(\) did not return/);

    // The next tick spins again: SIGTERM in the middle of it.
    await sleep(1500);
    const signalled = Date.now();
    planner.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000);
    expect(events().at(-1)?.event).toBe('stopped');
  }, 120_000);

  it('run --fleet: the fleet\'s decision runs off the event loop; /healthz answers, the round times out (counted, nothing written), SIGTERM exits 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pd-hang-'));
    writeFileSync(join(dir, 'spin.yaml'), policy('spinner', 'spin-prefill', '2s'));
    writeFileSync(join(dir, 'fine.yaml'), policy('fine', 'prefill-od', '2s'));
    writeFileSync(
      join(dir, 'fleet.yaml'),
      'apiVersion: pd-planner/v1\nkind: PlannerFleet\nmetadata: { name: hang }\nspec:\n  budget: { maxGpus: 16 }\n  graphs:\n    - { policy: spin.yaml, priority: 2 }\n    - { policy: fine.yaml }\n',
    );
    const port = await freePort();
    const { planner, output, exited, events } = start(['--fleet', join(dir, 'fleet.yaml'), '--policy-timeout', '1s', '--metrics-port', String(port)]);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => events().some((l) => l.event === 'tick-timeout'), 60_000, `a timed-out fleet round (stderr: ${output.stderr})`, 100);
    const timeout = events().find((l) => l.event === 'tick-timeout')!;
    expect(timeout.msg).toMatch(/^tick timed out: the fleet's decision: decide\(\) did not return within 1s/);

    const statuses: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      statuses.push(await probe(`${base}/healthz`));
      await sleep(200);
    }
    expect(statuses.every((s) => s === 200), `healthz statuses ${statuses.join(',')}`).toBe(true);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    // Both graphs' ticks failed as timeouts (the fleet decides them together), and nothing was decided or written.
    expect(Number(/^pd_planner_errors_total\{policy="spinner",reason="timeout"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^pd_planner_errors_total\{policy="fine",reason="timeout"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(events().filter((l) => l.event === 'tick' || l.event === 'fleet' || l.event === 'dry-run')).toEqual([]);

    const signalled = Date.now();
    planner.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(20_000);
    expect(events().at(-1)?.event).toBe('stopped');
  }, 120_000);
});
