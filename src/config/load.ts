/**
 * Loading a policy file: YAML -> zod schema (shapes, units, defaults) -> cross-field checks -> profile.
 * Every stage reports all its problems at once, one `path.to.field: message` line each, as an InputError
 * (exit 2). A later stage runs only when the earlier one passed, because it needs well-typed input.
 */
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { loadProfile } from '../profiles/load.js';
import type { PerformanceProfile } from '../profiles/types.js';
import { errorMap, formatIssues, formatPath } from './issues.js';
import { protoKeyPath, protoKeyProblem } from './records.js';
import { policyFile, type PolicyFile, type PolicySpec } from './schema.js';
import { checkAgainstProfile, checkPolicy } from './validate.js';
import { MAX_POLICY_BYTES, parseYaml, readInputFile } from './read.js';

export interface LoadedPolicy {
  file: PolicyFile;
  spec: PolicySpec;
  /** The file it came from, as given. */
  path: string;
  /** Directory relative paths in the file (the profile) are resolved against. */
  baseDir: string;
  /** Things that are allowed but probably not what the user meant; printed by `validate`, logged by `run`. */
  warnings: string[];
  /** The loaded performance profile (set when the profile was checked, which is the default). */
  profile?: PerformanceProfile;
}

export interface ParseOptions {
  /** Load `spec.profile` and report it if missing or malformed (default true). */
  checkProfile?: boolean;
}

export function loadPolicyFile(path: string, opts: ParseOptions = {}): LoadedPolicy {
  const text = readInputFile(path, { maxBytes: { bytes: MAX_POLICY_BYTES, what: 'a policy file is a few KB' } });
  return parsePolicyText(text, path, dirname(resolve(path)), opts);
}

export function parsePolicyText(text: string, path: string, baseDir: string, opts: ParseOptions = {}): LoadedPolicy {
  if (text.trim() === '') throw new InputError([`${path}: the file is empty; expected a PlannerPolicy (see examples/)`]);
  const data = parseYaml(text, path);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InputError([`${path}: expected a mapping with apiVersion, kind, metadata and spec at the top level`]);
  }

  const proto = protoKeyPath(data);
  if (proto) throw new InputError([protoKeyProblem(formatPath(proto))]);
  if ((data as { kind?: unknown }).kind === 'PlannerFleet') {
    throw new InputError([`${path}: kind: PlannerFleet is a fleet file; give it to validate, run --fleet or simulate --fleet (this takes a PlannerPolicy)`]);
  }
  const parsed = policyFile.safeParse(data, { error: errorMap });
  if (!parsed.success) throw new InputError(formatIssues(parsed.error.issues), `${path}: invalid policy`);
  const file = parsed.data;
  const spec = file.spec;

  const checked = checkPolicy(spec);
  const problems = [...checked.problems];
  const warnings = [...checked.warnings];

  let profile: PerformanceProfile | undefined;
  if (opts.checkProfile !== false) {
    try {
      profile = loadProfile(spec.profile, baseDir);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      // The profile loader already names the field; older messages may not.
      for (const problem of error.problems) problems.push(problem.startsWith('spec.profile') ? problem : `spec.profile: ${problem}`);
    }
    if (profile) {
      const vsProfile = checkAgainstProfile(spec, profile);
      problems.push(...vsProfile.problems);
      warnings.push(...vsProfile.warnings);
    }
  }

  if (problems.length > 0) throw new InputError(problems, `${path}: invalid policy`);
  return { file, spec, path, baseDir, warnings, ...(profile ? { profile } : {}) };
}
