/**
 * `pd-planner validate POLICY [--json]`: exit 0 and a one-screen summary when the policy is valid;
 * exit 2 with one `path.to.field: message` line per problem on stderr when it is not (main.ts prints
 * the InputError). With --json, stdout gets a machine-readable result in both cases.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { loadPolicyFile, type LoadedPolicy } from '../config/load.js';
import { summarizePolicy } from '../config/summary.js';
import { fileKind, loadFleetFile, type LoadedFleet } from '../config/fleet-load.js';
import { summarizeFleet } from '../config/fleet-summary.js';

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

function validateResult(loaded: LoadedPolicy): ValidateResult {
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

/** The --json result for a valid fleet: its budget, and each graph with its parsed policy. */
function fleetValidateResult(fleet: LoadedFleet) {
  return {
    valid: true,
    path: fleet.path,
    kind: 'PlannerFleet',
    name: fleet.name,
    problems: [] as string[],
    warnings: fleet.warnings,
    budget: fleet.file.spec.budget,
    graphs: fleet.graphs.map((g) => ({ name: g.name, policy: g.policy, path: g.path, priority: g.priority, spec: g.spec })),
  };
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check a policy or fleet file; print a summary (exit 0) or one "path: problem" line per problem (exit 2)')
    .argument('<policy>', 'policy file (YAML, kind: PlannerPolicy) or fleet file (kind: PlannerFleet)')
    .option('--json', 'print the result as JSON on stdout (problems still go to stderr)')
    .action((policyPath: string, opts: { json?: boolean }) => {
      if (fileKind(policyPath) === 'PlannerFleet') {
        let fleet: LoadedFleet;
        try {
          fleet = loadFleetFile(policyPath);
        } catch (error) {
          if (opts.json && error instanceof InputError) {
            process.stdout.write(`${JSON.stringify({ valid: false, path: policyPath, kind: 'PlannerFleet', problems: error.problems, warnings: [] }, null, 2)}\n`);
          }
          throw error;
        }
        process.stdout.write(opts.json ? `${JSON.stringify(fleetValidateResult(fleet), null, 2)}\n` : `${summarizeFleet(fleet)}\n`);
        return;
      }
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
