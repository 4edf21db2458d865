/**
 * Builds the whole planner service from `run`'s options without starting it: policy files -> metric sources
 * (Prometheus, NATS, Kubernetes) -> the loop (decide() in a worker thread, decide/pool.ts) -> connector
 * (Kubernetes, NATS KV or dry-run), with Lease leader election (skipped for --once and --dry-run) and the metrics
 * exporter.
 *
 * Several policies (several --policy, or a directory): one process, one Lease, one metrics server (series labelled
 * `policy`), one Kubernetes connector and one set of informers (one watch per resource type and namespace) shared
 * by every policy.
 */
import { CoordinationV1Api } from '@kubernetes/client-node';
import { loadPolicyFile } from '../config/load.js';
import { checkFleet } from '../config/fleet.js';
import { loadFleetFile, type LoadedFleet } from '../config/fleet-load.js';
import { MAX_POLICY_BYTES, readCapped } from '../config/read.js';
import { fleetSettings, type FleetSettings } from './fleet-round.js';
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import { createDryRunConnector } from '../connectors/dry-run.js';
import { createVirtualConnector } from '../connectors/virtual.js';
import { InputError } from '../errors.js';
import { createKubernetesConnector, type KubernetesConnector } from '../kubernetes/index.js';
import { createLogger, type LogFormat, type Logger } from '../log.js';
import type { Connector } from '../planner/ports.js';
import { loadProfile } from '../profiles/load.js';
import { createClusterMetricSource } from '../sources/cluster-source.js';
import { createNatsQueueSource } from '../sources/nats-queue.js';
import { createPrometheusSource } from '../sources/prometheus.js';
import { DecidePool } from './decide/pool.js';
import { createPlannerMetrics, type PlannerMetrics } from './exporter.js';
import { loadKubeConfig, plannerNamespace } from './kube-config.js';
import { cachedTargets, kubeStateReader } from './kube-readers.js';
import { createLeaderElector, defaultIdentity, type LeaderElector } from './leader.js';
import { createMultiPlannerService, type MultiPlannerService } from './loop.js';
import { toLoadedPlan, type LoadedPlan } from './plan.js';
import { expandPolicyPaths, policySetProblems, withTargetNamespace } from './policy-set.js';

export interface RunOptions {
  /** Policy files and/or directories (every *.yaml / *.yml in a directory). */
  policy?: string | string[];
  /** A PlannerFleet file: its graphs are planned together on its one budget (instead of --policy). */
  fleet?: string;
  once?: boolean;
  dryRun?: boolean;
  kubeconfig?: string;
  metricsPort: number;
  connector: 'kubernetes' | 'virtual';
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel?: string;
  /** json (default) or text. */
  logFormat?: LogFormat;
  /** Policies ticking at once (default 8). */
  concurrency?: number;
  /** Per-policy tick timeout (s); 0 = none. Default: none with one policy file, else half the loop interval. */
  policyTimeout?: number;
  /** Lease name; default pd-planner-<metadata.name> with one policy file, pd-planner-fleet-<name> with a fleet, else "pd-planner". */
  leaseName?: string;
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

/**
 * A fleet file for the service: its graphs' policies as the initial plans, its settings (budget, priorities), and
 * their reload. A changed fleet file that is valid and lists the same policy files takes effect at the next round; one
 * that is invalid, or adds or removes a graph, is logged and the running fleet kept (restart the planner to change
 * the graphs). A changed policy file is refused when the fleet would no longer be valid with it (a different interval,
 * a target another graph scales, minimums over the budget).
 */
export function fleetOfFile(path: string, logger: Logger) {
  let loaded = loadFleetFile(path);
  for (const warning of loaded.warnings) logger.warn({ event: 'policy-warning', fleet: loaded.name }, warning);
  const settingsOf = (f: LoadedFleet): FleetSettings => fleetSettings(f.name, f.file.spec.budget, f.graphs.map((g) => [g.name, g.priority] as const));
  let settings = settingsOf(loaded);
  const paths = loaded.graphs.map((g) => g.path);
  let text = safeReadText(path);
  return {
    paths,
    initial: loaded.graphs.map((g) => ({ path: g.path, plan: toLoadedPlan(g.loaded, loadProfile) })),
    settings: () => settings,
    reload: (): boolean => {
      const now = safeReadText(path);
      if (now === undefined || now === text) return false;
      text = now;
      try {
        const next = loadFleetFile(path);
        const nextPaths = next.graphs.map((g) => g.path);
        if (nextPaths.length !== paths.length || nextPaths.some((p, i) => p !== paths[i])) {
          logger.error({ event: 'policy-reload-failed', path }, `fleet reload: ${path} changes the list of graphs; restart the planner for that. Keeping budget ${settings.budget.maxGpus} and the priorities`);
          return false;
        }
        loaded = next;
        settings = settingsOf(next);
        logger.info({ event: 'policy-reloaded', path, fleet: next.name, budget: next.file.spec.budget, priorities: settings.priorities }, `fleet ${next.name} reloaded from ${path}`);
        return true;
      } catch (error) {
        const problems = error instanceof InputError ? error.problems : [String(error)];
        logger.error({ event: 'policy-reload-failed', path, problems }, `fleet reload: ${path} is invalid; keeping the running fleet:\n${problems.join('\n')}`);
        return false;
      }
    },
    checkReloaded: (policyPath: string, plan: LoadedPlan) => {
      const graphs = loaded.graphs.map((g) => (g.path === policyPath ? { ...g, name: plan.name, spec: plan.spec } : g));
      const problems = checkFleet(loaded.file, graphs).problems;
      if (problems.length > 0) throw new InputError(problems.map((p) => `fleet ${loaded.name}: ${p}`));
      // A graph renamed in its policy file keeps its priority (the fleet round looks priorities up by name).
      loaded = { ...loaded, graphs };
      settings = settingsOf(loaded);
    },
  };
}

/** What `safeReadText` returns for a file past the size cap: the loader then says why (a new text, never the same). */
const OVERSIZED = '\u0000(over the fleet file size cap)';

/**
 * The fleet file's text, read with the loader's byte cap (a fleet file swapped for a huge one, or for a link to
 * /dev/zero, is never read whole); OVERSIZED when it is too large, so the reload reports it; undefined when it
 * cannot be read (deleted, or being replaced).
 */
function safeReadText(path: string): string | undefined {
  try {
    return readCapped(path, { bytes: MAX_POLICY_BYTES, what: 'a fleet file is a few KB' }).toString('utf8');
  } catch (error) {
    return error instanceof InputError && /\(limit \d/.test(error.message) ? OVERSIZED : undefined;
  }
}

/** Where the virtual connector would publish a pool's count: "nats://nats:4222 bucket pd-planner key prefill". */
function virtualKey(pool: PoolSpec, spec: PolicySpec): string {
  const v = spec.sources.virtual;
  return v ? `${v.nats} bucket ${v.bucket} key ${pool.name}` : `NATS KV key ${pool.name}; the policy sets no spec.sources.virtual to publish to`;
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

/** What a caller may change besides the options: no flag reaches these. */
export interface BuildHooks {
  logger?: Logger;
  /** The decide worker's entry (tests pass one whose decide misbehaves); default service/decide's worker. */
  decideWorker?: URL;
}

/** Builds the whole planner (sources, connector, election, metrics, loop) without starting it. */
export async function buildPlanner(options: RunOptions, hooks: BuildHooks = {}): Promise<BuiltPlanner> {
  const logger = hooks.logger ?? createLogger({ level: options.logLevel, format: options.logFormat });
  const args = options.policy === undefined ? [] : Array.isArray(options.policy) ? options.policy : [options.policy];
  if (options.fleet !== undefined && args.length > 0) throw new InputError(['--policy: not with --fleet (the fleet file names its graphs\' policies)']);
  if (options.fleet === undefined && args.length === 0) throw new InputError(['--policy: give at least one policy file or directory (or --fleet FILE)']);
  const fleet = options.fleet !== undefined ? fleetOfFile(options.fleet, logger) : undefined;
  const { files, named, dirs } = fleet ? { files: fleet.paths, named: fleet.paths, dirs: [] as string[] } : expandPolicyPaths(args);
  const multi = fleet !== undefined || files.length > 1 || dirs.length > 0;
  const raw = fleet ? fleet.initial : loadInitialPlans(files, multi);

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
  const loadPlan = (path: string): LoadedPlan => {
    const plan = prepare(toLoadedPlan(loadPolicyFile(path), loadProfile));
    fleet?.checkReloaded(path, plan);
    return plan;
  };
  const initial = raw.map(({ path, plan }) => ({ path, plan: prepare(plan) }));
  const setProblems = [...policySetProblems(initial), ...(multi && options.connector === 'virtual' && !options.dryRun ? virtualKeyProblems(initial) : [])];
  if (setProblems.length > 0) throw new InputError(setProblems);
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new InputError([`--concurrency: expected a whole number of policies >= 1, got ${options.concurrency}`]);
  }

  // The connector is built before the service whose canAct() and callBudget() it asks, so it reads them late.
  const late: { service?: MultiPlannerService } = {};
  const canAct = () => late.service?.canAct() ?? false;
  const callBudget = () => late.service?.callBudget() ?? {};

  const metrics = createPlannerMetrics({ policyLabel: multi });
  let kubernetes: KubernetesConnector | undefined;
  if (kubeConfig) {
    kubernetes = createKubernetesConnector({
      kubeConfig,
      namespace,
      dryRun: options.dryRun,
      logger,
      canAct,
      callBudget,
      onWriteAbandoned: (abandoned) => metrics.recordWriteAbandoned(abandoned.reason),
    });
  }
  const connector: Connector & { close?: () => Promise<void> } =
    options.connector === 'kubernetes'
      ? kubernetes!
      : options.dryRun
        ? createDryRunConnector({ logger, describeTarget: virtualKey })
        : createVirtualConnector({
            canAct,
            callBudget,
            logger,
            onWriteAbandoned: (abandoned) => metrics.recordWriteAbandoned(abandoned.reason),
          });

  // The metric sources' reads end when their tick is given up or the planner stops (not at their own timeouts).
  const readSignal = () => late.service?.callBudget().signal;
  const source = (() => {
    const queue = createNatsQueueSource({ signal: readSignal });
    // One set of informers for every policy: started with the namespaces of all of them.
    const allPools = { ...(initial[0] as { plan: LoadedPlan }).plan.spec, pools: initial.flatMap((p) => p.plan.spec.pools) };
    const kubeState = kubeConfig ? kubeStateReader(kubeConfig, namespace, allPools, logger) : undefined;
    const metricSource = createClusterMetricSource({
      prometheus: createPrometheusSource({ signal: readSignal }),
      queue,
      readTargets: kubernetes ? cachedTargets(kubernetes, kubeState) : undefined,
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

  let leader: LeaderElector | undefined;
  if (!options.once && !options.dryRun && kubeConfig) {
    const first = (initial[0] as { plan: LoadedPlan }).plan;
    leader = createLeaderElector({
      api: kubeConfig.makeApiClient(CoordinationV1Api),
      namespace,
      // One Lease for the process. With several policies the default must not depend on them: adding a policy
      // during a rolling update would otherwise give the old and new pods different Leases (two leaders).
      name: (options.leaseName ?? (fleet ? `pd-planner-fleet-${fleet.settings().name}` : multi ? 'pd-planner' : `pd-planner-${first.name}`)).slice(0, 253),
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
      // decide() runs in a worker thread with a deadline: a computation that does not end cannot stop the loop.
      decider: new DecidePool({ log: logger, minWorkers: multi ? 2 : 1, ...(hooks.decideWorker ? { worker: hooks.decideWorker } : {}) }),
      ...(fleet ? { fleet: { settings: fleet.settings, reload: fleet.reload, file: options.fleet } } : {}),
    },
    initial,
  );
  late.service = service;
  return { service, logger, metrics, multi, namespace };
}
