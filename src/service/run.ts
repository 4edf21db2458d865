/**
 * Runs the planner service built by wiring.ts until it stops: one round for --once, else the loop until SIGTERM or
 * SIGINT. Exit codes: 0 ok (also after a signal), 1 a --once tick that failed to apply (2, invalid policy or
 * options, is thrown as an InputError for the CLI).
 */
import type { Logger } from '../log.js';
import type { MultiPlannerService, RoundOutcome } from './loop.js';
import { buildPlanner, type RunOptions } from './wiring.js';

export type { RunOptions } from './wiring.js';

export interface RunHooks {
  logger?: Logger;
  /** Called once the service is started (tests). */
  onStarted?: (service: MultiPlannerService) => void;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
}

/** Why a --once round did not apply, one line per policy; empty when every decision was applied. */
export function onceFailures(round: RoundOutcome, multi: boolean): string[] {
  const lines: string[] = [];
  for (const { name, outcome } of round.results) {
    const applyErrors = outcome.result ? Object.entries(outcome.result.apply.errors) : [];
    if (outcome.result && applyErrors.length === 0) continue;
    const why = outcome.result ? applyErrors.map(([pool, e]) => `${pool}: ${e}`).join('; ') : outcome.failure;
    lines.push(multi ? `${name}: ${why}` : (why ?? 'no tick ran'));
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
          ? `pd-planner run --once: ${failures.length} of ${round.results.length} policies were not applied:\n${failures.map((f) => `  ${f}`).join('\n')}\n`
          : `pd-planner run --once: the decision was not applied: ${failures.join('; ')}\n`,
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
  await service.start();
  hooks.onStarted?.(service);
  await service.stopped;
  return 0;
}
