/**
 * Runs the planner service built by wiring.ts until it stops: one round for --once, else the loop until SIGTERM or
 * SIGINT. Exit codes: 0 ok (also after a signal), 1 a --once tick that failed: a metric source reported an error
 * (the decision then held), the connector did, or the tick threw or timed out; the same ticks that count towards
 * not-ready in the loop (2, invalid policy or options, is thrown as an InputError for the CLI).
 */
import type { Logger } from '../log.js';
import type { MultiPlannerService, RoundOutcome } from './loop.js';
import { tickProblems } from './tick-outcome.js';
import { buildPlanner, type RunOptions } from './wiring.js';

export type { RunOptions } from './wiring.js';

export interface RunHooks {
  logger?: Logger;
  /** The decide worker's entry (tests); default service/decide's worker. */
  decideWorker?: URL;
  /** Called once the service is started (tests). */
  onStarted?: (service: MultiPlannerService) => void;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
}

/**
 * Why the ticks of a --once round failed, one line per policy (every source and connector error of it); empty when
 * every tick was clean (its sources answered and its decision was applied).
 */
function onceFailures(round: RoundOutcome, multi: boolean): string[] {
  const lines: string[] = [];
  for (const { name, outcome } of round.results) {
    if (outcome.ok) continue;
    const problems = outcome.result ? tickProblems(outcome.result) : [];
    const why = problems.length > 0 ? problems.join('; ') : (outcome.failure ?? 'no tick ran');
    lines.push(multi ? `${name}: ${why}` : why);
  }
  if (round.results.length === 0) lines.push('no tick ran');
  return lines;
}

/** Starts the planner; resolves with the process exit code when it has stopped (--once: after the one round). */
export async function runPlanner(options: RunOptions, hooks: RunHooks = {}): Promise<number> {
  const { service, logger, multi } = await buildPlanner(options, hooks);

  if (options.once) {
    const round = await service.runOnce();
    await service.stop('--once: done');
    const failures = onceFailures(round, multi);
    if (failures.length > 0) {
      process.stderr.write(
        multi
          ? `pd-planner run --once: ${failures.length} of ${round.results.length} policies failed their tick:\n${failures.map((f) => `  ${f}`).join('\n')}\n`
          : `pd-planner run --once: the tick failed: ${failures.join('; ')}\n`,
      );
      return 1;
    }
    return 0;
  }

  if (hooks.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ event: 'signal', signal }, `received ${signal}; shutting down`);
      void service.stop(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  try {
    await service.start();
  } catch (error) {
    // Nothing may be left running (informers, connections) when the process is to exit with the start error.
    await service.stop('start failed').catch(() => undefined);
    throw error;
  }
  hooks.onStarted?.(service);
  await service.stopped;
  return 0;
}
