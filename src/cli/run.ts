/**
 * `pd-planner run --policy FILE|DIR [--policy ...] [--once] [--dry-run] [--kubeconfig FILE] [--metrics-port 9090]
 *  [--connector kubernetes|virtual] [--concurrency 8] [--policy-timeout DURATION] [--lease-name NAME]`
 *
 * Wires the service together: policy files -> metric sources (Prometheus, NATS, Kubernetes) -> planner/tick ->
 * connector (Kubernetes or NATS KV), with Lease leader election (skipped for --once and --dry-run), the
 * /metrics server, policy hot reload and graceful SIGTERM/SIGINT. Exit codes: 0 ok (also after a signal),
 * 2 invalid policy or options, 1 a --once tick that failed to apply or a start-up failure.
 *
 * Several policies (several --policy, or a directory): one process, one Lease, one metrics server (series labelled
 * `policy`), one Kubernetes connector and one set of informers (one watch per resource type and namespace) shared
 * by every policy; see service/loop.ts for the loop and docs/service.md for the whole story.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadPolicyFile } from '../config/load.js';
import { parseDuration } from '../config/duration.js';
import { createKubernetesConnector, type KubernetesConnector } from '../kubernetes/index.js';
import { createVirtualConnector } from '../connectors/virtual.js';
import { InputError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { createPlannerMetrics, type PlannerMetrics } from '../service/exporter.js';
import { createKubeState, type KubeState } from '../kubernetes/kube-state.js';
import { createNatsQueueSource } from '../sources/nats-queue.js';
import { createPrometheusSource } from '../sources/prometheus.js';
import { createClusterMetricSource, type PoolReader } from '../sources/cluster-source.js';
import { createLeaderElector, defaultIdentity, type LeaderElector } from '../service/leader.js';
import { createMultiPlannerService, DEFAULT_CONCURRENCY, type MultiPlannerService, type RoundOutcome } from '../service/loop.js';
import { expandPolicyPaths, policySetProblems, targetKey, withTargetNamespace } from '../service/policy-set.js';
import type { ApplyResult, Connector } from '../planner/ports.js';
import { toLoadedPlan, type LoadedPlan } from '../service/plan.js';
import { loadProfile } from '../profiles/load.js';

export interface RunOptions {
  /** Policy files and/or directories (every *.yaml / *.yml in a directory). */
  policy: string | string[];
  once?: boolean;
  dryRun?: boolean;
  kubeconfig?: string;
  metricsPort: number;
  connector: 'kubernetes' | 'virtual';
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel?: string;
  /** Policies ticking at once (default 8). */
  concurrency?: number;
  /** Per-policy tick timeout (s); 0 = none. Default: none with one policy file, else half the loop interval. */
  policyTimeout?: number;
  /** Lease name; default pd-planner-<metadata.name> with one policy file, else "pd-planner". */
  leaseName?: string;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface RunHooks {
  logger?: Logger;
  /** Called once the service is started (tests). */
  onStarted?: (service: MultiPlannerService) => void;
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

/** metadata.namespace of the policies (when they all name the same one), else the kubeconfig context's, else the pod's, else "default". */
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
 *
 * One instance serves every policy: one watch per resource type and namespace, not one per graph. Its answers are
 * keyed by pool name, and pool names repeat across policies ("prefill-od" in each), so each call renames the pools
 * to their target key (unique across policies: policy-set.ts refuses two policies scaling one target) and back.
 */
function kubeStateReader(kubeConfig: KubeConfig, namespace: string, spec: LoadedPlan['spec'], logger: Logger): { read: PoolReader; targets: KubeState['targets']; stop: () => void } {
  const state = createKubeState({ kubeConfig, namespace, spec, logger });
  let started: Promise<void> | undefined;
  const start = () =>
    (started ??= state.start().catch((error: unknown) => {
      started = undefined;
      state.stop();
      throw new Error(`could not start the pod/node informers: ${error instanceof Error ? error.message : String(error)}`);
    }));
  return {
    targets: (current) => state.targets(current),
    read: async (current, now) => {
      await start();
      const byKey = new Map<string, string>();
      const keyed = {
        ...current,
        pools: current.pools.map((pool) => {
          const key = targetKey(pool, namespace);
          if (!key) return pool;
          byKey.set(key, pool.name);
          return { ...pool, name: key };
        }),
      };
      const observed = state.poolObservations(keyed, now);
      return Object.fromEntries(Object.entries(observed).map(([key, obs]) => [byKey.get(key) ?? key, obs]));
    },
    stop: () => state.stop(),
  };
}

/**
 * Replicas of each pool's target: from the informers' caches (no API call; the watches are open anyway for the
 * pod and eviction signals), and from the API server only for what the caches cannot answer yet (before the first
 * list, or an object that is not there, whose 404 then gives the error message). With 50 graphs this saves 150 GETs
 * per tick. Like the connector's own reader it throws only when no pool could be read.
 */
function cachedTargets(kubernetes: KubernetesConnector, kubeState: ReturnType<typeof kubeStateReader> | undefined, logger: Logger): PoolReader {
  return async (spec, now) => {
    const cached = kubeState?.targets(spec) ?? { pools: {}, missing: spec.pools.filter((p) => p.target).map((p) => p.name) };
    if (cached.missing.length === 0) return cached.pools;
    const rest = { ...spec, pools: spec.pools.filter((p) => cached.missing.includes(p.name)) };
    try {
      return { ...cached.pools, ...(await kubernetes.readTargets(rest, now)) };
    } catch (error) {
      if (Object.keys(cached.pools).length === 0) throw error;
      logger.warn({ event: 'targets-read-failed', pools: cached.missing, err: error instanceof Error ? error.message : String(error) }, 'could not read some pool targets');
      return cached.pools;
    }
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

export interface BuiltPlanner {
  service: MultiPlannerService;
  logger: Logger;
  metrics: PlannerMetrics;
  /** More than one policy file, or a policy directory. */
  multi: boolean;
  /** The namespace of the Lease and the default for targets without one. */
  namespace: string;
}

/** Reads every policy, each problem prefixed with its file when there are several. */
function loadInitialPlans(files: string[], multi: boolean): { path: string; plan: LoadedPlan }[] {
  const plans: { path: string; plan: LoadedPlan }[] = [];
  const problems: string[] = [];
  for (const path of files) {
    try {
      plans.push({ path, plan: toLoadedPlan(loadPolicyFile(path), loadProfile) });
    } catch (error) {
      if (!multi || !(error instanceof InputError)) throw error;
      problems.push(...error.problems.map((p) => (p.startsWith(path) ? p : `${path}: ${p}`)));
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  return plans;
}

/** With --connector virtual, decisions are keyed by pool name inside a bucket: two policies must not share one. */
function virtualKeyProblems(plans: { path: string; plan: LoadedPlan }[]): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const { path, plan } of plans) {
    const v = plan.spec.sources.virtual;
    for (const pool of plan.spec.pools) {
      const key = `${v?.nats ?? ''} bucket ${v?.bucket ?? 'pd-planner'} key ${pool.name}`;
      const owner = owners.get(key);
      if (owner) problems.push(`${path}: pool ${pool.name} would publish to ${key}, as ${owner} does; give the policies distinct pool names or spec.sources.virtual.bucket`);
      else owners.set(key, `${plan.name} (${path})`);
    }
  }
  return problems;
}

/** Builds the whole planner (sources, connector, election, metrics, loop) without starting it. */
export async function buildPlanner(options: RunOptions, hooks: Pick<RunHooks, 'logger'> = {}): Promise<BuiltPlanner> {
  const logger = hooks.logger ?? createLogger({ level: options.logLevel });
  const args = Array.isArray(options.policy) ? options.policy : [options.policy];
  if (args.length === 0) throw new InputError(['--policy: give at least one policy file or directory']);
  const { files, named, dirs } = expandPolicyPaths(args);
  const multi = files.length > 1 || dirs.length > 0;
  const raw = loadInitialPlans(files, multi);

  const needsKube = options.connector === 'kubernetes';
  const kubeConfig = loadKubeConfig(options.kubeconfig);
  if (needsKube && !kubeConfig) {
    throw new InputError([
      '--connector kubernetes: no Kubernetes credentials; pass --kubeconfig FILE, run in a pod (in-cluster config), set KUBECONFIG, or use --connector virtual',
    ]);
  }
  const policyNamespaces = [...new Set(raw.map((p) => p.plan.namespace))];
  const namespace = plannerNamespace(policyNamespaces.length === 1 ? policyNamespaces[0] : undefined, kubeConfig);
  // Several policies share one connector and one set of informers: each policy's targets default to its own namespace.
  const prepare = (plan: LoadedPlan): LoadedPlan => (multi ? { ...plan, spec: withTargetNamespace(plan.spec, plan.namespace ?? namespace) } : plan);
  const loadPlan = (path: string): LoadedPlan => prepare(toLoadedPlan(loadPolicyFile(path), loadProfile));
  const initial = raw.map(({ path, plan }) => ({ path, plan: prepare(plan) }));
  const setProblems = [...policySetProblems(initial), ...(multi && options.connector === 'virtual' && !options.dryRun ? virtualKeyProblems(initial) : [])];
  if (setProblems.length > 0) throw new InputError(setProblems);
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new InputError([`--concurrency: expected a whole number of policies >= 1, got ${options.concurrency}`]);
  }

  // The connector is built before the service whose canAct() it asks, so it reads it late.
  const late: { service?: MultiPlannerService } = {};
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
    // One set of informers for every policy: started with the namespaces of all of them.
    const allPools = { ...(initial[0] as { plan: LoadedPlan }).plan.spec, pools: initial.flatMap((p) => p.plan.spec.pools) };
    const kubeState = kubeConfig ? kubeStateReader(kubeConfig, namespace, allPools, logger) : undefined;
    const metricSource = createClusterMetricSource({
      prometheus: createPrometheusSource(),
      queue,
      readTargets: kubernetes ? cachedTargets(kubernetes, kubeState, logger) : undefined,
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

  const metrics = createPlannerMetrics({ policyLabel: multi });
  let leader: LeaderElector | undefined;
  if (!options.once && !options.dryRun && kubeConfig) {
    const first = (initial[0] as { plan: LoadedPlan }).plan;
    leader = createLeaderElector({
      api: kubeConfig.makeApiClient(CoordinationV1Api),
      namespace,
      // One Lease for the process. With several policies the default must not depend on them: adding a policy
      // during a rolling update would otherwise give the old and new pods different Leases (two leaders).
      name: (options.leaseName ?? (multi ? 'pd-planner' : `pd-planner-${first.name}`)).slice(0, 253),
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

  const service = createMultiPlannerService(
    {
      policyFiles: named,
      policyDirs: dirs,
      loadPolicy: loadPlan,
      source,
      connector,
      logger,
      leader,
      metrics,
      metricsPort: options.once ? undefined : options.metricsPort,
      watchPolicy: !options.once,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.policyTimeout !== undefined ? { policyTimeoutSeconds: options.policyTimeout } : {}),
    },
    initial,
  );
  late.service = service;
  return { service, logger, metrics, multi, namespace };
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

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the planner service: tick every spec.interval, scale the targets, export /metrics')
    .requiredOption('--policy <path>', 'policy file (YAML), or a directory: every *.yaml in it; repeat for several policies (one per model/graph)', collect)
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
