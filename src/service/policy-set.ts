/**
 * Several policies in one planner process: which files `--policy` names, and which sets of policies may run together.
 *
 *   - `--policy FILE` names one policy; `--policy DIR` every `*.yaml` / `*.yml` in DIR (not recursive, hidden
 *     files and the `..data` entries of a ConfigMap volume skipped), sorted by name, re-read on every reload;
 *   - each policy is one model/graph: its metadata.name must be unique (it is the `policy` label of the metrics
 *     and the key of its planner state), and no scaling target may be claimed by two policies (they would undo
 *     each other's patches every tick).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { PolicySpec, PoolSpec } from '../config/schema.js';
import { InputError, messageOf } from '../errors.js';
import type { LoadedPlan } from './plan.js';

export interface PolicyPaths {
  /** Policy files, in the order given (directories expanded in place). */
  files: string[];
  /** The files named directly (not found in a directory). */
  named: string[];
  /** The directories among the arguments: re-scanned on reload (new files added, deleted ones removed). */
  dirs: string[];
}

const POLICY_FILE = /^[^.].*\.ya?ml$/;

/** The policy files of one directory, sorted. */
export function policyFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => POLICY_FILE.test(name))
    .sort()
    .map((name) => join(dir, name))
    .filter((path) => {
      try {
        return statSync(path).isFile();
      } catch {
        return false;
      }
    });
}

/** Expands `--policy` arguments; a missing path or a directory without policy files is an InputError. */
export function expandPolicyPaths(args: string[]): PolicyPaths {
  const files: string[] = [];
  const named: string[] = [];
  const dirs: string[] = [];
  const problems: string[] = [];
  for (const arg of args) {
    let isDir: boolean;
    try {
      isDir = statSync(arg).isDirectory();
    } catch {
      problems.push(`--policy: ${arg} not found`);
      continue;
    }
    if (!isDir) {
      files.push(arg);
      named.push(arg);
      continue;
    }
    dirs.push(arg);
    let inside: string[];
    try {
      inside = policyFilesIn(arg);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(`--policy: cannot list the directory ${arg}: ${code === 'EACCES' ? 'permission denied' : messageOf(error)}`);
      continue;
    }
    if (inside.length === 0) problems.push(`--policy: the directory ${arg} holds no *.yaml or *.yml policy file`);
    files.push(...inside);
  }
  const seen = new Set<string>();
  for (const file of files) {
    if (seen.has(resolve(file))) problems.push(`--policy: ${file} is given twice (directly or through its directory)`);
    seen.add(resolve(file));
  }
  if (problems.length > 0) throw new InputError(problems);
  return { files, named, dirs };
}

/**
 * What a pool scales, as a key two pools must not share:
 * `DynamoGraphDeployment/<ns>/<graph>/<service, or "role:<role>" when the component is found by type>`,
 * `DynamoComponentDeployment/<ns>/<name>`. `ns` is the target's namespace, else `defaultNamespace`.
 * Example: { kind: DynamoGraphDeployment, name: llama, service: VllmDecodeWorker } in "dynamo"
 * -> "DynamoGraphDeployment/dynamo/llama/VllmDecodeWorker".
 */
export function targetKey(pool: PoolSpec, defaultNamespace = ''): string | undefined {
  const t = pool.target;
  if (!t) return undefined;
  const ns = t.namespace ?? defaultNamespace;
  return t.kind === 'DynamoGraphDeployment' ? `${t.kind}/${ns}/${t.name}/${t.service ?? `role:${pool.role}`}` : `${t.kind}/${ns}/${t.name}`;
}

/** Problems of running `candidate` next to `others`: the same name, or a target another policy already scales. */
export function conflicts(candidate: { path: string; plan: LoadedPlan }, others: { path: string; plan: LoadedPlan }[]): string[] {
  const problems: string[] = [];
  for (const other of others) {
    if (other.plan.name === candidate.plan.name) {
      problems.push(`${candidate.path}: metadata.name "${candidate.plan.name}" is also the name of ${other.path}; every policy of one planner needs its own name`);
    }
  }
  const claimed = new Map<string, string>();
  for (const other of others) {
    for (const pool of other.plan.spec.pools) {
      const key = targetKey(pool, other.plan.namespace);
      if (key) claimed.set(key, `pool ${pool.name} of ${other.plan.name} (${other.path})`);
    }
  }
  for (const pool of candidate.plan.spec.pools) {
    const key = targetKey(pool, candidate.plan.namespace);
    const owner = key ? claimed.get(key) : undefined;
    if (key && owner) problems.push(`${candidate.path}: pool ${pool.name} scales ${key}, which ${owner} already scales; two policies would undo each other's patches`);
  }
  return problems;
}

/** Every conflict in a set of policies, each reported once (against the policies before it). */
export function policySetProblems(plans: { path: string; plan: LoadedPlan }[]): string[] {
  return plans.flatMap((p, i) => conflicts(p, plans.slice(0, i)));
}

/**
 * A copy of the spec where every target without a namespace gets `namespace`, so one shared connector and one set
 * of informers can serve policies from different namespaces (each policy's targets default to its own).
 */
export function withTargetNamespace(spec: PolicySpec, namespace: string | undefined): PolicySpec {
  if (!namespace || spec.pools.every((p) => !p.target || p.target.namespace)) return spec;
  return { ...spec, pools: spec.pools.map((p) => (p.target && !p.target.namespace ? { ...p, target: { ...p.target, namespace } } : p)) };
}
