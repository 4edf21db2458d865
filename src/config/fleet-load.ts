/**
 * Loading a fleet file: YAML -> schema -> each graph's policy file (resolved against the fleet file's directory,
 * loaded with every check of its own) -> the checks across graphs. All problems at once, one
 * `path.to.field: message` line each; a graph's own problems are prefixed with the fleet field that names it:
 * `spec.graphs[1].policy: code.yaml: spec.pools[0].maxReplicas: 0 is below minReplicas 1` (`where: what`, as every problem line).
 */
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { checkFleet, fleetFile, type FleetFile, type FleetGraphPolicy } from './fleet.js';
import { errorMap, formatIssues, formatPath } from './issues.js';
import { loadPolicyFile, type LoadedPolicy } from './load.js';
import { MAX_POLICY_BYTES, parseYaml, readInputFile } from './read.js';
import { protoKeyPath, protoKeyProblem } from './records.js';

export interface LoadedFleetGraph extends FleetGraphPolicy {
  loaded: LoadedPolicy;
  profile: PerformanceProfile;
}

export interface LoadedFleet {
  file: FleetFile;
  name: string;
  /** The fleet file, as given, and the directory its policy paths are relative to. */
  path: string;
  baseDir: string;
  graphs: LoadedFleetGraph[];
  /** The fleet's own warnings, then each graph's (prefixed). */
  warnings: string[];
}

/** The `kind` of a YAML file, or undefined when it has none (or cannot be read: the real loader then says why). */
export function fileKind(path: string): string | undefined {
  try {
    const data = parseYaml(readInputFile(path, { maxBytes: { bytes: MAX_POLICY_BYTES, what: 'a policy or fleet file is a few KB' } }), path);
    return data !== null && typeof data === 'object' && !Array.isArray(data) && typeof (data as { kind?: unknown }).kind === 'string' ? (data as { kind: string }).kind : undefined;
  } catch {
    return undefined;
  }
}

export function loadFleetFile(path: string): LoadedFleet {
  const text = readInputFile(path, { maxBytes: { bytes: MAX_POLICY_BYTES, what: 'a fleet file is a few KB' } });
  if (text.trim() === '') throw new InputError([`${path}: the file is empty; expected a PlannerFleet (see examples/fleet/)`]);
  const data = parseYaml(text, path);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError([`${path}: expected a mapping with apiVersion, kind, metadata and spec at the top level`]);
  }
  const proto = protoKeyPath(data);
  if (proto) throw new InputError([protoKeyProblem(formatPath(proto))]);
  // The reverse of the policy loader's check: a policy file here would list every fleet field it lacks.
  if ((data as { kind?: unknown }).kind === 'PlannerPolicy') {
    throw new InputError([`${path}: kind: PlannerPolicy is a policy file; give it with --policy (or name it in a fleet file's spec.graphs[].policy); --fleet takes a PlannerFleet`]);
  }
  const parsed = fleetFile.safeParse(data, { error: errorMap });
  if (!parsed.success) throw new InputError(formatIssues(parsed.error.issues), `${path}: invalid fleet`);
  const file = parsed.data;
  const baseDir = dirname(resolve(path));

  const problems: string[] = [];
  const warnings: string[] = [];
  const graphs: LoadedFleetGraph[] = [];
  file.spec.graphs.forEach((entry, i) => {
    const where = `spec.graphs[${i}].policy: ${entry.policy}`;
    const policyPath = resolve(baseDir, entry.policy);
    let loaded: LoadedPolicy;
    try {
      loaded = loadPolicyFile(policyPath);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      for (const problem of error.problems) {
        // The loader names the file it read; the prefix names it already.
        let own = problem;
        if (problem.startsWith(`${policyPath}: `)) own = problem.slice(policyPath.length + 2);
        else if (problem.startsWith(`${policyPath}:`)) own = `line ${problem.slice(policyPath.length + 1)}`;
        problems.push(`${where}: ${own}${/cannot read: no such file/.test(own) ? ` (looked for ${policyPath}; paths are relative to the fleet file)` : ''}`);
      }
      return;
    }
    for (const warning of loaded.warnings) warnings.push(`${where}: ${warning}`);
    graphs.push({
      name: loaded.file.metadata.name,
      priority: entry.priority,
      policy: entry.policy,
      path: policyPath,
      file: loaded.file,
      spec: loaded.spec,
      loaded,
      profile: loaded.profile as PerformanceProfile,
    });
  });
  if (problems.length > 0) throw new InputError(problems, `${path}: invalid fleet`);
  const checked = checkFleet(file, graphs);
  if (checked.problems.length > 0) throw new InputError(checked.problems, `${path}: invalid fleet`);
  return { file, name: file.metadata.name, path, baseDir, graphs, warnings: [...checked.warnings, ...warnings] };
}
