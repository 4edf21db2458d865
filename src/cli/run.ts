/**
 * `pd-planner run --policy FILE|DIR [--policy ...] | --fleet FLEET.yaml [--once] [--dry-run] [--kubeconfig FILE] [--metrics-port 9090]
 *  [--connector kubernetes|virtual] [--concurrency 8] [--policy-timeout DURATION] [--lease-name NAME]`
 *
 * The command: parses and checks the flags, then runs the service (service/run.ts; service/wiring.ts builds it:
 * policy files -> metric sources -> loop -> connector, with leader election, the /metrics server, policy hot reload
 * and graceful SIGTERM/SIGINT). Exit codes: 0 ok (also after a signal), 2 invalid policy or options, 1 a --once tick
 * that failed to apply or a start-up failure. docs/service.md tells the whole story.
 */
import { Option, type Command } from 'commander';
import { parseDuration } from '../config/duration.js';
import { InputError } from '../errors.js';
import { DEFAULT_CONCURRENCY } from '../service/loop.js';
import { runPlanner, type RunOptions } from '../service/run.js';

function seconds(what: string) {
  return (value: string): number => {
    const parsed = parseDuration(value);
    if (parsed === undefined || parsed <= 0) throw new InputError([`${what}: expected a duration such as "15s", got "${value}"`]);
    return parsed;
  };
}

function secondsOrZero(what: string) {
  const positive = seconds(what);
  return (value: string): number => (/^0+(\.0*)?[a-z]*$/i.test(value.trim()) ? 0 : positive(value));
}

function wholeNumber(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InputError([`${what}: expected a whole number >= 1, got "${value}"`]);
    return n;
  };
}

/** Repeatable option: every value, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError([`--metrics-port: expected a port 0..65535, got "${value}"`]);
  return n;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the planner service: tick every spec.interval, scale the targets, export /metrics')
    .option('--policy <path>', 'policy file (YAML), or a directory: every *.yaml in it; repeat for several policies (one per model/graph)', collect)
    .option('--fleet <file>', 'a PlannerFleet file: plan its graphs together on its one GPU budget (instead of --policy)')
    .option('--once', 'run one tick from the current metric window, apply it, and exit')
    .option('--dry-run', 'decide and log the patches that would be sent; write nothing (no leader election)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: in-cluster config, then $KUBECONFIG)')
    .option('--metrics-port <port>', 'port for /metrics, /healthz, /readyz', port, 9090)
    .option('--connector <kind>', 'kubernetes | virtual (NATS KV bucket from spec.sources.virtual)', 'kubernetes')
    .addOption(new Option('--lease-duration <duration>', 'leader Lease duration').argParser(seconds('--lease-duration')).default(15, '15s'))
    .addOption(
      new Option('--renew-deadline <duration>', 'the leader stops acting when it could not renew for this long').argParser(seconds('--renew-deadline')).default(10, '10s'),
    )
    .addOption(new Option('--retry-period <duration>', 'how often to try to acquire or renew the Lease').argParser(seconds('--retry-period')).default(2, '2s'))
    .option('--concurrency <n>', `policies ticking at once within a tick (default ${DEFAULT_CONCURRENCY})`, wholeNumber('--concurrency'))
    .addOption(
      new Option('--policy-timeout <duration>', 'per-policy tick timeout, 0 = none (default: none with one policy file, else half the shortest interval)').argParser(
        secondsOrZero('--policy-timeout'),
      ),
    )
    .option('--lease-name <name>', 'leader Lease name (default pd-planner-<metadata.name> with one policy file, else pd-planner)')
    .option('--log-level <level>', 'pino level: debug, info, warn, error', 'info')
    .action(async (opts: RunOptions & { connector: string }) => {
      if (opts.policy === undefined && opts.fleet === undefined) throw new InputError(['--policy: required (a policy file or directory), or --fleet FILE']);
      if (opts.policy !== undefined && opts.fleet !== undefined) throw new InputError(['--fleet: not with --policy (the fleet file names its graphs\' policies)']);
      if (opts.connector !== 'kubernetes' && opts.connector !== 'virtual') {
        throw new InputError([`--connector: expected kubernetes or virtual, got "${opts.connector}"`]);
      }
      if (opts.renewDeadline >= opts.leaseDuration) {
        throw new InputError([`--renew-deadline (${opts.renewDeadline}s) must be shorter than --lease-duration (${opts.leaseDuration}s)`]);
      }
      const code = await runPlanner(opts as RunOptions);
      process.exitCode = code;
    });
}
