/**
 * `pd-planner run --policy FILE|DIR [--policy ...] | --fleet FLEET.yaml [--once] [--dry-run] [--kubeconfig FILE]
 *  [--metrics-port 9090] [--connector kubernetes|virtual] [--concurrency 8] [--policy-timeout DURATION]
 *  [--lease-name NAME] [--log-level debug|info|warn|error] [--log-format json|text]`
 *
 * The command: parses and checks the flags, then runs the service (service/run.ts; service/wiring.ts builds it:
 * policy files -> metric sources -> loop -> connector, with leader election, the /metrics server, policy hot reload
 * and graceful SIGTERM/SIGINT). Exit codes: 0 ok (also after a signal), 2 invalid policy or options, 1 a --once tick
 * that failed to apply or a start-up failure. docs/service.md tells the whole story.
 */
import { Option, type Command } from 'commander';
import { formatDuration, MAX_TIMER_SECONDS, parseDuration } from '../config/duration.js';
import { InputError } from '../errors.js';
import { DEFAULT_CONCURRENCY } from '../service/loop.js';
import { collect } from './flag-rules.js';
import { numberOption } from './options.js';
import { runPlanner, type RunHooks, type RunOptions } from '../service/run.js';
import { LOG_FORMATS, type LogFormat } from '../log.js';

/** pino's levels, the only values --log-level takes. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Most policies ticking at once: each holds a few connections to Prometheus and the API server while it ticks. */
const MAX_CONCURRENCY = 256;

/** A duration flag ("15s", "500ms", "1h"): positive and at most a day (what timers hold), else exit 2 naming the flag. */
function seconds(flag: string) {
  return (value: string): number => {
    const parsed = parseDuration(value);
    if (parsed === undefined || !(parsed > 0)) throw new InputError([`${flag}: expected a duration such as "15s" or "500ms", got "${value}"`]);
    if (parsed > MAX_TIMER_SECONDS) throw new InputError([`${flag}: ${value} is longer than a day (${formatDuration(MAX_TIMER_SECONDS)}), the longest the planner's timers hold`]);
    return parsed;
  };
}

/** Like `seconds`, but 0 (written "0", or with a unit: "0s") is allowed and means "none". */
function secondsOrZero(flag: string) {
  const positive = seconds(flag);
  return (value: string): number => {
    if (value.trim() === '0' || parseDuration(value) === 0) return 0;
    try {
      return positive(value);
    } catch (error) {
      if (!(error instanceof InputError) || !/expected a duration/.test(error.message)) throw error;
      throw new InputError([`${flag}: expected a duration such as "30s", or 0 for none, got "${value}"`]);
    }
  };
}

function logLevel(value: string): string {
  if (!(LOG_LEVELS as readonly string[]).includes(value)) throw new InputError([`--log-level: "${value}" is not a level; use one of ${LOG_LEVELS.join(', ')}`]);
  return value;
}

/** A Lease name is a DNS subdomain: lowercase letters, digits, '-' and '.', at most 253 characters. */
function leaseName(value: string): string {
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(value)) {
    throw new InputError([`--lease-name: "${value}" is not a valid Lease name (lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters)`]);
  }
  return value;
}

/** `hooks`: what tests may change that no flag reaches (the decide worker's entry); the CLI passes none. */
export function registerRun(program: Command, hooks: Pick<RunHooks, 'decideWorker'> = {}): void {
  program
    .command('run')
    .description('run the planner service: tick every spec.interval, scale the targets, export /metrics')
    .option('--policy <path>', 'policy file (YAML), or a directory: every *.yaml and *.yml in it; repeat for several policies (one per model/graph)', collect)
    .option('--fleet <file>', 'a PlannerFleet file: plan its graphs together on its one GPU budget (instead of --policy)')
    .option('--once', 'run one tick from the current metric window, apply it, and exit')
    .option('--dry-run', 'decide and log the patches that would be sent; write nothing (no leader election)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster config, then $KUBECONFIG)')
    .option('--metrics-port <port>', 'port for /metrics, /healthz, /readyz', (v: string) => numberOption('--metrics-port', v, { integer: true, min: 0, max: 65535 }), 9090)
    .option('--connector <kind>', 'kubernetes | virtual (NATS KV bucket from spec.sources.virtual)', 'kubernetes')
    .addOption(new Option('--lease-duration <duration>', 'leader Lease duration').argParser(seconds('--lease-duration')).default(15, '15s'))
    .addOption(
      new Option('--renew-deadline <duration>', 'the leader stops acting when it could not renew for this long').argParser(seconds('--renew-deadline')).default(10, '10s'),
    )
    .addOption(new Option('--retry-period <duration>', 'how often to try to acquire or renew the Lease').argParser(seconds('--retry-period')).default(2, '2s'))
    .option('--concurrency <n>', `policies ticking at once within a tick (default ${DEFAULT_CONCURRENCY})`, (v: string) =>
      numberOption('--concurrency', v, { integer: true, min: 1, max: MAX_CONCURRENCY }),
    )
    .addOption(
      new Option('--policy-timeout <duration>', 'per-policy tick timeout, 0 = none (default: none with one policy file, else half the shortest interval)').argParser(
        secondsOrZero('--policy-timeout'),
      ),
    )
    .option('--lease-name <name>', 'leader Lease name (default pd-planner-<metadata.name> with one policy file, pd-planner-fleet-<name> with --fleet, else pd-planner)', leaseName)
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')} (debug adds each tick's observation and explanation)`, logLevel, 'info')
    .option('--log-format <format>', 'json (one object a line) | text (time, level, message); default: text on a terminal, else json')
    .action(async (opts: RunOptions & { connector: string; logFormat?: string }) => {
      const format = opts.logFormat ?? (process.stdout.isTTY ? 'text' : 'json');
      if (!(LOG_FORMATS as readonly string[]).includes(format)) throw new InputError([`--log-format: expected json or text, got "${format}"`]);
      opts.logFormat = format as LogFormat;
      if (opts.policy === undefined && opts.fleet === undefined) throw new InputError(['--policy: required (a policy file or directory), or --fleet FILE']);
      if (opts.policy !== undefined && opts.fleet !== undefined) throw new InputError(['--fleet: not with --policy (the fleet file names its graphs\' policies)']);
      if (opts.connector !== 'kubernetes' && opts.connector !== 'virtual') {
        throw new InputError([`--connector: expected kubernetes or virtual, got "${opts.connector}"`]);
      }
      if (opts.renewDeadline >= opts.leaseDuration) {
        throw new InputError([`--renew-deadline (${opts.renewDeadline}s) must be shorter than --lease-duration (${opts.leaseDuration}s)`]);
      }
      if (opts.retryPeriod >= opts.renewDeadline) {
        throw new InputError([`--retry-period (${opts.retryPeriod}s) must be shorter than --renew-deadline (${opts.renewDeadline}s): the leader must be able to retry a renew before its deadline`]);
      }
      const code = await runPlanner(opts as RunOptions, hooks);
      process.exitCode = code;
    });
}
