/**
 * `pd-planner run` as a real child process (bin/pd-planner.js, the same launcher users run), with its JSON log
 * lines parsed as they arrive: every `tick` line becomes a ServiceTick.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { ServiceTick } from './compare.js';

const BIN = new URL('../../../bin/pd-planner.js', import.meta.url).pathname;

export interface PlannerProcess {
  ticks: ServiceTick[];
  /** Everything it printed to stderr, and stdout lines that were not JSON. */
  output(): string;
  /** Resolves with the first tick at or after `afterWall` (epoch ms). */
  waitForTick(afterWall: number, timeoutMs: number): Promise<ServiceTick>;
  /** SIGTERM, then the exit code (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

interface TickLine {
  event?: string;
  desired?: Record<string, number>;
  observation?: ServiceTick['observation'];
  /** The tick held the replica counts (metrics missing). */
  held?: boolean;
  durationSeconds?: number;
}

export function startPlanner(args: string[]): PlannerProcess {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', ...args], {
    env: { ...process.env, KUBERNETES_SERVICE_HOST: '', KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ticks: ServiceTick[] = [];
  const waiters: { after: number; resolve: (t: ServiceTick) => void }[] = [];
  let other = '';
  let pending = '';
  const onLine = (line: string) => {
    let parsed: TickLine;
    try {
      parsed = JSON.parse(line) as TickLine;
    } catch {
      other += `${line}\n`;
      return;
    }
    if (parsed.event !== 'tick' || !parsed.observation || !parsed.desired) return;
    const tick: ServiceTick = {
      wall: Date.parse(parsed.observation.time),
      desired: parsed.desired,
      held: parsed.held === true,
      observation: parsed.observation,
      durationSeconds: parsed.durationSeconds ?? 0,
    };
    ticks.push(tick);
    for (const w of [...waiters]) {
      if (tick.wall >= w.after) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(tick);
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  });
  child.stderr?.on('data', (chunk: Buffer) => (other += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    ticks,
    output: () => other,
    waitForTick(after, timeoutMs) {
      const seen = ticks.find((t) => t.wall >= after);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no planner tick after ${new Date(after).toISOString()} within ${timeoutMs} ms; planner said:\n${other.slice(-3000)}`)), timeoutMs);
        void exited.then((code) => reject(new Error(`the planner exited (code ${code}) before a tick; it said:\n${other.slice(-3000)}`)));
        waiters.push({
          after,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
