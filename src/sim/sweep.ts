/**
 * Parameter sweeps: one scenario per value, run in parallel worker threads (one per core, at most one per
 * scenario), collected in value order into one SweepReport.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError } from '../errors.js';
import type { Scenario } from './scenario.js';
import type { SimReport } from './types.js';

export interface SweepResult {
  reports: SimReport[];
  /** Each scenario's warnings (the trace's skipped lines and sorting, the policy's), in scenario order. */
  warnings: string[][];
  wallSeconds: number;
}

export async function runSweep(scenarios: Scenario[], options: { threads?: number; onDone?: (done: number, total: number) => void } = {}): Promise<SweepResult> {
  const started = performance.now();
  const threads = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), scenarios.length));
  const reports: SimReport[] = new Array(scenarios.length);
  const warnings: string[][] = scenarios.map(() => []);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: threads }, () => spawnWorker());
  try {
    await Promise.all(
      workers.map(async (worker) => {
        while (next < scenarios.length) {
          const id = next++;
          ({ report: reports[id], warnings: warnings[id] } = await runOn(worker, id, scenarios[id] as Scenario));
          options.onDone?.(++done, scenarios.length);
        }
      }),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { reports, warnings, wallSeconds: (performance.now() - started) / 1000 };
}

function spawnWorker(): Worker {
  // Compiled (dist/, `npm run build`), the worker body is plain JavaScript. From source under tsx it is TypeScript,
  // and worker threads do not inherit the loader: a small .mjs boot file registers tsx in the thread first.
  const compiled = import.meta.url.endsWith('.js');
  return new Worker(new URL(compiled ? './sweep-worker.js' : './sweep-worker-boot.mjs', import.meta.url));
}

function runOn(worker: Worker, id: number, scenario: Scenario): Promise<{ report: SimReport; warnings: string[] }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { id: number; report?: SimReport; warnings?: string[]; error?: string; problems?: string[] }) => {
      if (message.id !== id) return;
      worker.off('message', onMessage);
      worker.off('error', onError);
      if (message.report) resolve({ report: message.report, warnings: message.warnings ?? [] });
      else if (message.problems) reject(new InputError(message.problems));
      else reject(new Error(message.error ?? 'sweep worker failed'));
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.postMessage({ id, scenario });
  });
}
