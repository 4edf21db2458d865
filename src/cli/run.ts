/**
 * `pd-planner run --policy FILE [--once] [--dry-run] [--kubeconfig FILE] [--metrics-port 9090] [--connector kubernetes|virtual]`
 *
 * Wires the service together: policy file -> metric sources (Prometheus, NATS, Kubernetes) -> planner/tick ->
 * connector (Kubernetes or NATS KV), with Lease leader election (skipped for --once and --dry-run), the
 * /metrics server, policy hot reload and graceful SIGTERM/SIGINT. Exit codes: 0 ok (also after a signal),
 * 2 invalid policy or options, 1 a --once tick that failed to apply or a start-up failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadPolicyFile } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { createKubernetesConnector, type KubernetesConnector } from '../connectors/kubernetes/index.js';
import { createVirtualConnector } from '../connectors/virtual.js';
import { InputError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createPlannerMetrics } from '../metrics/exporter.js';
import { createKubeState } from '../metrics/kube-state.js';
import { createNatsQueueSource } from '../metrics/nats-queue.js';
import { createPrometheusSource } from '../metrics/prometheus.js';
import { createClusterMetricSource, type PoolReader } from '../metrics/source.js';
import { createLeaderElector, defaultIdentity, type LeaderElector } from '../planner/leader.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import { createPlannerService, toLoadedPlan, type LoadedPlan, type PlannerService } from '../planner/service.js';
import { loadProfile } from '../profiles/load.js';

export interface RunOptions {
  policy: string;
  once?: boolean;
  dryRun?: boolean;
  kubeconfig?: string;
  metricsPort: number;
  connector: 'kubernetes' | 'virtual';
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel?: string;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface RunHooks {
  logger?: Logger;
  /** Called once the service is started (tests). */
  onStarted?: (service: PlannerService) => void;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
}

/** --kubeconfig FILE, else in-cluster, else $KUBECONFIG; undefined when none applies. */
export function loadKubeConfig(path: string | undefined): KubeConfig | undefined {
  const kc = new KubeConfig();
  if (path) {
    if (!existsSync(path)) throw new InputError([`--kubeconfig: ${path} not found`]);
    kc.loadFromFile(path);
    return kc;
  }
  if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    return kc;
  }
  if (process.env.KUBECONFIG) {
    kc.loadFromDefault();
    return kc;
  }
  return undefined;
}

/** metadata.namespace of the policy, else the kubeconfig context's, else the pod's, else "default". */
function plannerNamespace(policyNamespace: string | undefined, kc: KubeConfig | undefined): string {
  if (policyNamespace) return policyNamespace;
  const context = kc?.getContextObject(kc.getCurrentContext());
  if (context?.namespace) return context.namespace;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return 'default';
}

/**
 * Pending pods, evictions and eviction notices per pool (informers). Started lazily and again after a failed start,
 * so a planner started while the API server is unreachable recovers by itself.
 */
function kubeStateReader(kubeConfig: KubeConfig, namespace: string, spec: LoadedPlan['spec'], logger: Logger): { read: PoolReader; stop: () => void } {
  const state = createKubeState({ kubeConfig, namespace, spec, logger });
  let started: Promise<void> | undefined;
  return {
    read: async (current, now) => {
      started ??= state.start().catch((error: unknown) => {
        started = undefined;
        state.stop();
        throw new Error(`could not start the pod/node informers: ${error instanceof Error ? error.message : String(error)}`);
      });
      await started;
      return state.poolObservations(current, now);
    },
    stop: () => state.stop(),
  };
}

/** --dry-run without Kubernetes: logs what it would publish and writes nothing. */
export function createLoggingConnector(logger: Logger): Connector {
  return {
    async apply(decision): Promise<ApplyResult> {
      const pools: Record<string, string> = {};
      for (const [pool, d] of Object.entries(decision.pools)) {
        pools[pool] = `dry-run: would set ${d.current ?? '?'}->${d.desired}`;
      }
      logger.info({ event: 'dry-run', desired: Object.fromEntries(Object.entries(decision.pools).map(([p, d]) => [p, d.desired])) }, 'dry-run: nothing written');
      return { pools, errors: {} };
    },
  };
}

function seconds(what: string) {
  return (value: string): number => {
    const parsed = parseDuration(value);
    if (parsed === undefined || parsed <= 0) throw new InputError([`${what}: expected a duration such as "15s", got "${value}"`]);
    return parsed;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InputError([`--metrics-port: expected a port 0..65535, got "${value}"`]);
  return n;
}

/** Starts the planner; resolves with the process exit code when it has stopped (--once: after the one tick). */
export async function runPlanner(options: RunOptions, hooks: RunHooks = {}): Promise<number> {
  const logger = hooks.logger ?? createLogger({ level: options.logLevel });
  const loadPlan = (path: string): LoadedPlan => toLoadedPlan(loadPolicyFile(path), loadProfile);
  const initial = loadPlan(options.policy);
  for (const warning of initial.warnings) logger.warn({ event: 'policy-warning' }, warning);
  const policyNamespace = initial.namespace;

  const needsKube = options.connector === 'kubernetes';
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  if (needsKube && !kubeConfig) {
    throw new InputError([
      '--connector kubernetes: no Kubernetes credentials; pass --kubeconfig FILE, run in a pod (in-cluster config), set KUBECONFIG, or use --connector virtual',
    ]);
  }
  const namespace = plannerNamespace(policyNamespace, kubeConfig);

  // The connector is built before the service whose canAct() it asks, so it reads it late.
  const late: { service?: PlannerService } = {};
  const canAct = () => late.service?.canAct() ?? false;

  let kubernetes: KubernetesConnector | undefined;
  if (kubeConfig) {
    kubernetes = createKubernetesConnector({ kubeConfig, namespace, dryRun: options.dryRun, logger, canAct });
  }
  const connector: Connector & { close?: () => Promise<void> } =
    options.connector === 'kubernetes'
      ? kubernetes!
      : options.dryRun
        ? createLoggingConnector(logger)
        : createVirtualConnector({ canAct });

  const source = (() => {
    const queue = createNatsQueueSource();
    const kubeState = kubeConfig ? kubeStateReader(kubeConfig, namespace, initial.spec, logger) : undefined;
    const metricSource = createClusterMetricSource({
      prometheus: createPrometheusSource(),
      queue,
      readTargets: kubernetes ? (spec, now) => kubernetes.readTargets(spec, now) : undefined,
      kubeState: kubeState?.read,
    });
    return {
      ...metricSource,
      close: async () => {
        kubeState?.stop();
        await queue.close();
      },
    };
  })();

  const metrics = createPlannerMetrics();
  let leader: LeaderElector | undefined;
  if (!options.once && !options.dryRun && kubeConfig) {
    leader = createLeaderElector({
      api: kubeConfig.makeApiClient(CoordinationV1Api),
      namespace,
      name: `pd-planner-${initial.name}`.slice(0, 253),
      identity: defaultIdentity(),
      leaseDurationSeconds: options.leaseDuration,
      renewDeadlineSeconds: options.renewDeadline,
      retryPeriodSeconds: options.retryPeriod,
      onChange: (isLeader, reason) => {
        metrics.setLeader(isLeader);
        logger.info({ event: isLeader ? 'leader-acquired' : 'leader-lost', reason }, isLeader ? `became leader: ${reason}` : `not leader: ${reason}`);
      },
      onError: (message) => {
        metrics.recordError('lease');
        logger.warn({ event: 'lease-error' }, message);
      },
    });
  }

  const service = createPlannerService(
    {
      policyPath: options.policy,
      loadPolicy: loadPlan,
      source,
      connector,
      logger,
      leader,
      metrics,
      metricsPort: options.once ? undefined : options.metricsPort,
      watchPolicy: !options.once,
    },
    initial,
  );
  late.service = service;

  if (options.once) {
    const outcome = await service.runOnce();
    await service.stop('--once: done');
    const applyErrors = outcome.result ? Object.entries(outcome.result.apply.errors) : [];
    if (!outcome.result || applyErrors.length > 0) {
      const why = outcome.result ? applyErrors.map(([pool, e]) => `${pool}: ${e}`).join('; ') : outcome.failure;
      process.stderr.write(`pd-planner run --once: the decision was not applied: ${why}\n`);
      return 1;
    }
    return 0;
  }

  const started = service;
  if (hooks.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ event: 'signal', signal }, `received ${signal}; shutting down`);
      void started.stop(signal);
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  await started.start();
  hooks.onStarted?.(started);
  await started.stopped;
  return 0;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the planner service: tick every spec.interval, scale the targets, export /metrics')
    .requiredOption('--policy <file>', 'policy file (YAML)')
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
    .option('--log-level <level>', 'pino level: debug, info, warn, error', 'info')
    .action(async (opts: RunOptions & { connector: string }) => {
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
