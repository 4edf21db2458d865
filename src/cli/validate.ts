/**
 * `pd-planner validate POLICY [--json]`: exit 0 and a one-screen summary when the policy is valid;
 * exit 2 with one `path.to.field: message` line per problem on stderr when it is not (main.ts prints
 * the InputError). With --json, stdout gets a machine-readable result in both cases.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { loadPolicyFile, type LoadedPolicy } from '../config/load.js';
import { summarizePolicy } from '../config/summary.js';

export interface ValidateResult {
  valid: boolean;
  path: string;
  name?: string;
  problems: string[];
  warnings: string[];
  /** The parsed spec with every default filled in and durations in seconds. */
  spec?: LoadedPolicy['spec'];
  profile?: { name: string; source: string };
}

export function validateResult(loaded: LoadedPolicy): ValidateResult {
  return {
    valid: true,
    path: loaded.path,
    name: loaded.file.metadata.name,
    problems: [],
    warnings: loaded.warnings,
    spec: loaded.spec,
    ...(loaded.profile ? { profile: { name: loaded.profile.name, source: loaded.profile.source } } : {}),
  };
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a policy file; print a summary (exit 0) or one "path: problem" line per problem (exit 2)')
    .argument('<policy>', 'policy file (YAML, kind: PlannerPolicy)')
    .option('--json', 'print the result as JSON on stdout (problems still go to stderr)')
    .action((policyPath: string, opts: { json?: boolean }) => {
      let loaded: LoadedPolicy;
      try {
        loaded = loadPolicyFile(policyPath);
      } catch (error) {
        if (opts.json && error instanceof InputError) {
          const result: ValidateResult = { valid: false, path: policyPath, problems: error.problems, warnings: [] };
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
        }
        throw error;
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(validateResult(loaded), null, 2)}\n`);
      else process.stdout.write(`${summarizePolicy(loaded)}\n`);
    });
}
