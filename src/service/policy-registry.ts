/**
 * The policies one planner process runs, each with its planner state and its tick record, and their hot reload:
 *   - a valid new version of a file takes effect at its next tick (its planner state is kept); an invalid one, or one
 *     that clashes with another policy (same name, same target), is logged with its problems and the old one kept;
 *   - a file added to a policy directory becomes a new policy; a file removed from it stops that policy and drops
 *     its metrics;
 *   - a policy is failing after spec.failureThreshold failed (or timed-out, or skipped) ticks in a row, and ready
 *     again after one good tick.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MAX_POLICY_BYTES, readCapped } from '../config/read.js';
import { InputError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { initialState, type PlannerState } from '../planner/state.js';
import type { PlannerMetrics } from './exporter.js';
import type { LoadedPlan } from './plan.js';
import { conflicts, policyFilesIn } from './policy-set.js';
import type { TickOutcome } from './tick-outcome.js';

/** One policy and what the loop keeps for it between ticks. */
export interface PolicyEntry {
  readonly path: string;
  /** From a policy directory (removed when its file disappears) rather than named by --policy. */
  readonly fromDir: boolean;
  plan: LoadedPlan;
  /** The file's text when it was last read, so an unchanged file is not reloaded. */
  fileText: string | undefined;
  state: PlannerState;
  ticks: number;
  consecutiveFailures: number;
  lastOutcome?: TickOutcome;
  /** Start of the round of its last tick (epoch ms). */
  lastRunAt?: number;
  /** Settles when its current tick's work settles, even after a timeout. */
  running?: Promise<void>;
  /** Dropped by a reload; a tick still running for it must not write its state back. */
  removed: boolean;
}

export interface PolicyStatus {
  name: string;
  path: string;
  intervalSeconds: number;
  ticks: number;
  consecutiveFailures: number;
  /** A tick of this policy is running (possibly one that timed out and is still waiting on a call). */
  running: boolean;
  ready: boolean;
  lastOutcome?: TickOutcome;
}

export interface PolicyRegistryOptions {
  /** Policy directories, resolved: re-scanned on every reload. */
  dirs: readonly string[];
  /** Reads and validates one policy file (throws InputError with `path: message` problems). */
  loadPolicy: (path: string) => LoadedPlan;
  log: Logger;
  metrics: PlannerMetrics;
  /** One policy file and no directory: log lines need not name the policy. */
  single: boolean;
}

/** Fewer than spec.failureThreshold failed ticks in a row. */
export function isReady(e: PolicyEntry): boolean {
  return e.consecutiveFailures < e.plan.spec.failureThreshold;
}

/** What `safeRead` returns for a file past the policy size cap: its problems are reported when it is loaded. */
const OVERSIZED = '\u0000(over the policy size cap)';

/** What `safeRead` keeps for a file that cannot be read: the reason, so the same failure is reported once. */
const UNREADABLE = '\u0000(unreadable) ';

/**
 * A policy file's text, read with the same byte cap as the loader (a file swapped for a huge one, or for a link to
 * /dev/zero, is never read whole); OVERSIZED when it is too large; `{ unreadable }` with the reason when it cannot be
 * read (deleted, no permission, an I/O error).
 */
function safeRead(path: string): string | { unreadable: string } {
  try {
    return readCapped(path, { bytes: MAX_POLICY_BYTES, what: 'a policy file is a few KB' }).toString('utf8');
  } catch (error) {
    return error instanceof InputError && /\(limit \d/.test(error.message) ? OVERSIZED : { unreadable: messageOf(error) };
  }
}

const textOf = (read: string | { unreadable: string }): string | undefined => (typeof read === 'string' ? read : undefined);

function newEntry(path: string, fromDir: boolean, plan: LoadedPlan, fileText: string | undefined): PolicyEntry {
  return { path, fromDir, plan, fileText, state: initialState(), ticks: 0, consecutiveFailures: 0, removed: false };
}

export class PolicyRegistry {
  readonly #options: PolicyRegistryOptions;
  /** Policy file path -> its entry, in the order the policies were given. */
  readonly #entries = new Map<string, PolicyEntry>();
  /** Bad versions of files in policy directories that are not (yet) policies: logged once per content. */
  readonly #rejected = new Map<string, string | undefined>();

  constructor(initial: readonly { path: string; plan: LoadedPlan }[], options: PolicyRegistryOptions) {
    this.#options = options;
    for (const { path, plan } of initial) {
      const fromDir = options.dirs.includes(dirname(resolve(path)));
      this.#entries.set(path, newEntry(path, fromDir, plan, textOf(safeRead(path))));
      this.#warn(plan);
    }
    for (const e of this.list()) options.metrics.setPolicyReady(e.plan.name, true);
  }

  get size(): number {
    return this.#entries.size;
  }

  get dirs(): readonly string[] {
    return this.#options.dirs;
  }

  list(): PolicyEntry[] {
    return [...this.#entries.values()];
  }

  plans(): LoadedPlan[] {
    return this.list().map((e) => e.plan);
  }

  status(e: PolicyEntry): PolicyStatus {
    return {
      name: e.plan.name,
      path: e.path,
      intervalSeconds: e.plan.spec.interval,
      ticks: e.ticks,
      consecutiveFailures: e.consecutiveFailures,
      running: e.running !== undefined,
      ready: isReady(e),
      ...(e.lastOutcome ? { lastOutcome: e.lastOutcome } : {}),
    };
  }

  /** Bookkeeping after one policy's tick (or skip): failure streak, readiness transitions, the ready gauge. */
  record(e: PolicyEntry, outcome: TickOutcome): void {
    const { log, metrics, single } = this.#options;
    e.ticks += 1;
    e.lastOutcome = outcome;
    const threshold = e.plan.spec.failureThreshold;
    const name = e.plan.name;
    if (outcome.ok) {
      if (e.consecutiveFailures >= threshold) log.info({ event: 'ready', policy: name }, `${single ? '' : `${name}: `}ready again after ${e.consecutiveFailures} failed ticks`);
      e.consecutiveFailures = 0;
    } else {
      e.consecutiveFailures += 1;
      if (e.consecutiveFailures === threshold) {
        log.warn({ event: 'not-ready', policy: name, failures: e.consecutiveFailures }, `${single ? '' : `${name}: `}not ready: ${e.consecutiveFailures} failed ticks in a row: ${outcome.failure}`);
      }
    }
    metrics.setPolicyReady(name, isReady(e));
  }

  /** Re-reads every policy file and directory; true when anything changed. */
  reload(): boolean {
    const { dirs, log, metrics } = this.#options;
    let changed = false;
    const inDirs = new Set<string>();
    for (const dir of dirs) {
      try {
        for (const file of policyFilesIn(dir)) inDirs.add(file);
      } catch (error) {
        log.error({ event: 'policy-reload-failed', path: dir }, `policy reload: cannot list ${dir}: ${messageOf(error)}; keeping its policies`);
        metrics.recordError('policy-reload');
        for (const e of this.list()) if (e.fromDir && dirname(resolve(e.path)) === dir) inDirs.add(e.path);
      }
    }
    for (const e of this.list()) {
      if (e.fromDir && !inDirs.has(e.path)) {
        this.#remove(e, `${e.path} is no longer in its policy directory`);
        changed = true;
      } else if (this.#reloadEntry(e)) changed = true;
    }
    for (const path of inDirs) if (!this.#entries.has(path) && this.#addFile(path)) changed = true;
    for (const path of this.#rejected.keys()) if (!inDirs.has(path)) this.#rejected.delete(path);
    return changed;
  }

  #warn(plan: LoadedPlan): void {
    for (const warning of plan.warnings) this.#options.log.warn({ event: 'policy-warning', policy: plan.name }, warning);
  }

  /** Loads a file and checks it against the other policies; the problems when it cannot be taken. */
  #tryLoad(path: string): { plan: LoadedPlan } | { problems: string[] } {
    try {
      const plan = this.#options.loadPolicy(path);
      const clash = conflicts({ path, plan }, this.list().filter((e) => e.path !== path));
      return clash.length > 0 ? { problems: clash } : { plan };
    } catch (error) {
      return { problems: error instanceof InputError ? error.problems : [messageOf(error)] };
    }
  }

  #remove(e: PolicyEntry, why: string): void {
    e.removed = true;
    this.#entries.delete(e.path);
    this.#options.metrics.forgetPolicy(e.plan.name);
    this.#options.log.warn({ event: 'policy-removed', path: e.path, policy: e.plan.name }, `policy ${e.plan.name} removed: ${why}`);
  }

  #reloadEntry(e: PolicyEntry): boolean {
    const { log, metrics } = this.#options;
    const read = safeRead(e.path);
    if (typeof read !== 'string') {
      // Gone from its directory stops the policy; a file that is there but cannot be read (no permission, an I/O
      // error) is not a deletion: the policy goes on as it was, and the failure is reported once.
      if (e.fromDir && !existsSync(e.path)) {
        this.#remove(e, `${e.path} was deleted`);
        return true;
      }
      if (e.fileText === UNREADABLE + read.unreadable) return false;
      e.fileText = UNREADABLE + read.unreadable;
      log.error({ event: 'policy-reload-failed', path: e.path, policy: e.plan.name }, `policy reload: ${read.unreadable}; keeping the current policy`);
      metrics.recordError('policy-reload', 1, e.plan.name);
      return false;
    }
    const text = read;
    if (text === e.fileText) return false;
    // Remember the text either way, so one bad save logs once, not on every event of the burst.
    e.fileText = text;
    const loaded = this.#tryLoad(e.path);
    if ('problems' in loaded) {
      metrics.recordError('policy-reload', 1, e.plan.name);
      log.error(
        { event: 'policy-reload-failed', path: e.path, policy: e.plan.name, problems: loaded.problems },
        `policy reload: ${e.path} is invalid; keeping the current policy:\n${loaded.problems.join('\n')}`,
      );
      return false;
    }
    const before = e.plan;
    e.plan = loaded.plan;
    if (before.name !== loaded.plan.name) {
      metrics.forgetPolicy(before.name);
      metrics.setPolicyReady(loaded.plan.name, isReady(e));
    }
    this.#warn(loaded.plan);
    log.info(
      { event: 'policy-reloaded', path: e.path, policy: loaded.plan.name, intervalSeconds: loaded.plan.spec.interval, previousIntervalSeconds: before.spec.interval },
      `policy reloaded from ${e.path}`,
    );
    return true;
  }

  #addFile(path: string): boolean {
    const { log, metrics } = this.#options;
    const read = safeRead(path);
    if (typeof read !== 'string') {
      // Listed in the directory but unreadable: said once (not skipped in silence), tried again on every reload.
      const text = UNREADABLE + read.unreadable;
      if (!existsSync(path) || this.#rejected.get(path) === text) return false;
      this.#rejected.set(path, text);
      metrics.recordError('policy-reload');
      log.error({ event: 'policy-reload-failed', path, problems: [read.unreadable] }, `new policy ${path} cannot be read; not started: ${read.unreadable}`);
      return false;
    }
    const text = read;
    if (this.#rejected.get(path) === text) return false;
    const loaded = this.#tryLoad(path);
    if ('problems' in loaded) {
      this.#rejected.set(path, text);
      metrics.recordError('policy-reload');
      log.error({ event: 'policy-reload-failed', path, problems: loaded.problems }, `new policy ${path} is invalid; not started:\n${loaded.problems.join('\n')}`);
      return false;
    }
    this.#rejected.delete(path);
    this.#entries.set(path, newEntry(path, true, loaded.plan, text));
    metrics.setPolicyReady(loaded.plan.name, true);
    this.#warn(loaded.plan);
    log.info({ event: 'policy-added', path, policy: loaded.plan.name, intervalSeconds: loaded.plan.spec.interval }, `policy ${loaded.plan.name} added from ${path}`);
    return true;
  }
}
