/**
 * Sweeps beyond one machine, as a Kubernetes Indexed Job:
 * - `sweep ... --emit-job` prints the Job (and a ConfigMap with the policy file, when --policy is given): one index per
 *   value, each pod running the same image with the same flags plus `--job-index`, writing to a mounted volume;
 * - `sweep ... --job-index` (in each pod) runs only the value at $JOB_COMPLETION_INDEX and writes its part file;
 * - `sweep --merge DIR` combines the part files into the usual sweep report.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { loadPolicyFile } from '../config/load.js';
import { MAX_POLICY_BYTES, readInputFile } from '../config/read.js';
import { InputError } from '../errors.js';
import { defaultImage, packageVersion } from '../image.js';
import { sweepJson, sweepSummaryTable, writeSweepReport } from '../sim/report/index.js';
import { checkOutDir, shownPath, SWEEP_FILES } from './out-dir.js';
import { runScenario, type Scenario } from '../sim/scenario.js';
import { isSyntheticSpec, parseSyntheticSpec } from '../sim/traces/index.js';
import { isScenarioSpec, parseScenarioSpec } from '../sim/scenarios/index.js';
import { MAX_SWEEP_INDICES, PART_FORMAT, PART_VERSION, mergeSweepParts, writeSweepPart } from '../sim/sweep-parts.js';
import { numberOption } from './options.js';

/** Where each pod mounts the reports volume; the Job's `--out` is a folder in it named after the Job. */
export const REPORTS_MOUNT = '/reports';
const POLICY_MOUNT = '/etc/pd-planner';
export const DEFAULT_REPORTS_CLAIM = 'pd-planner-sweep-reports';
/** The image's numeric user (Dockerfile USER). */
const IMAGE_UID = 65532;

/** Options that only shape the Job (never passed to its pods), with their flags for messages. */
const JOB_OPTIONS = { image: '--image', jobName: '--job-name', namespace: '--namespace', reportsClaim: '--reports-claim', parallelism: '--parallelism' } as const;
/** Options the pods get from the Job itself rather than from the command line that emitted it. */
const NOT_PASSED = new Set(['out', 'force', 'threads', 'json', 'emitJob', 'jobIndex', 'merge', 'policy', 'trace', ...Object.keys(JOB_OPTIONS)]);

const fromCli = (cmd: Command, key: string) => cmd.getOptionValueSource(key) === 'cli';

/** The flags given on the command line (not defaults) as argv, except those in `skip`. */
function passThroughArgs(cmd: Command, skip: Set<string>): string[] {
  const args: string[] = [];
  for (const option of cmd.options) {
    const key = option.attributeName();
    if (skip.has(key) || !fromCli(cmd, key)) continue;
    const value = cmd.getOptionValue(key) as unknown;
    args.push(option.long!);
    if (typeof value !== 'boolean') args.push(String(value));
  }
  return args;
}

/** Job-shaping flags without --emit-job would do nothing: say so rather than drop them. */
export function checkModes(cmd: Command): void {
  const flags = cmd.opts();
  const modes = ['emitJob', 'jobIndex', 'merge'].filter((k) => flags[k] !== undefined);
  if (modes.length > 1) {
    const names: Record<string, string> = { emitJob: '--emit-job', jobIndex: '--job-index', merge: '--merge' };
    throw new InputError([`sweep: ${modes.map((m) => names[m]).join(' and ')} do not go together: --emit-job prints the Job, --job-index runs one index of it, --merge combines their results`]);
  }
  if (flags.emitJob === undefined) {
    const stray = Object.entries(JOB_OPTIONS).filter(([key]) => fromCli(cmd, key)).map(([, flag]) => flag);
    if (stray.length > 0) throw new InputError([`sweep: ${stray.join(', ')} shape${stray.length === 1 ? 's' : ''} the Job that --emit-job prints; add --emit-job, or leave ${stray.length === 1 ? 'it' : 'them'} out`]);
  }
  if (flags.emitJob !== undefined) {
    const stray = ['out', 'force', 'threads', 'json'].filter((k) => fromCli(cmd, k)).map((k) => `--${k}`);
    if (stray.length > 0) throw new InputError([`sweep --emit-job: ${stray.join(', ')} would not reach the Job: its pods run one value each (one thread) and write to ${REPORTS_MOUNT}/<--job-name>; leave ${stray.length === 1 ? 'it' : 'them'} out`]);
  }
  if (flags.merge !== undefined) {
    const stray = passThroughArgs(cmd, new Set(['merge', 'out', 'force', 'json'])).filter((a) => a.startsWith('--'));
    if (stray.length > 0) throw new InputError([`sweep --merge: ${stray.join(', ')} would change nothing: the parts were simulated already; --merge takes only --out, --force and --json`]);
  }
}

export interface JobInput {
  jobName: string;
  namespace?: string;
  image: string;
  reportsClaim: string;
  parallelism: number;
  /** The number of values, i.e. of indices. */
  completions: number;
  /** The pods' `pd-planner` arguments before --policy/--trace/--out/--job-index. */
  args: string[];
  policyText?: string;
  /** A trace the pods can read: a `synthetic:` or `scenario:` spec or a path under REPORTS_MOUNT. */
  trace?: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** "pd-planner-sweep-gpu-budget": a DNS label, short enough for `<name>-<index>` pod hostnames (63 characters). */
function defaultJobName(parameter: string): string {
  return `pd-planner-sweep-${parameter.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.replace(/-+$/, '').slice(0, 50).replace(/-+$/, '');
}

/** A Kubernetes object name (DNS subdomain, as a PersistentVolumeClaim's): lowercase, digits, '-' and '.', at most 253. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * --namespace (a DNS label, at most 63) and --reports-claim (a DNS subdomain): checked here, as --job-name is, so the
 * printed Job is not one `kubectl apply` refuses. Example: --namespace Sims_Team -> exit 2 naming the flag.
 */
function checkObjectNames(namespace: string | undefined, claim: string): void {
  const problems: string[] = [];
  if (namespace !== undefined && (!DNS_LABEL.test(namespace) || namespace.length > 63)) {
    problems.push(`--namespace: "${namespace}" is not a namespace name: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters`);
  }
  if (!DNS_SUBDOMAIN.test(claim) || claim.length > 253) {
    problems.push(`--reports-claim: "${claim}" is not a PersistentVolumeClaim name: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters`);
  }
  if (problems.length > 0) throw new InputError(problems);
}

function checkJobName(name: string, completions: number): void {
  const longest = `${name}-${completions - 1}`;
  if (!DNS_LABEL.test(name) || longest.length > 63) {
    throw new InputError([`--job-name: "${name}" must be lowercase letters, digits and "-", start and end with a letter or digit, and leave room for "-<index>" within 63 characters (its last pod is "${longest}")`]);
  }
}

/** The Job (and the ConfigMap holding the policy, when there is one) as plain objects, in apply order. */
function jobManifests(input: JobInput): Record<string, unknown>[] {
  const labels = {
    'app.kubernetes.io/name': 'pd-planner',
    'app.kubernetes.io/component': 'sweep',
    'app.kubernetes.io/part-of': 'pd-planner',
    'app.kubernetes.io/version': packageVersion(),
    'app.kubernetes.io/instance': input.jobName,
  };
  const metadata = (name: string) => ({ name, ...(input.namespace ? { namespace: input.namespace } : {}), labels });
  const out = `${REPORTS_MOUNT}/${input.jobName}`;
  const policyName = `${input.jobName}-policy`;
  const args = [
    'sweep',
    ...input.args,
    ...(input.policyText !== undefined ? ['--policy', `${POLICY_MOUNT}/policy.yaml`] : []),
    ...(input.trace !== undefined ? ['--trace', input.trace] : []),
    '--out', out,
    '--job-index',
  ];
  const volumeMounts: Record<string, unknown>[] = [
    { name: 'reports', mountPath: REPORTS_MOUNT },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  const volumes: Record<string, unknown>[] = [
    { name: 'reports', persistentVolumeClaim: { claimName: input.reportsClaim } },
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
  ];
  if (input.policyText !== undefined) {
    volumeMounts.push({ name: 'policy', mountPath: POLICY_MOUNT, readOnly: true });
    volumes.push({ name: 'policy', configMap: { name: policyName } });
  }
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(input.jobName),
    spec: {
      completionMode: 'Indexed',
      completions: input.completions,
      parallelism: input.parallelism,
      // One retry per index on average; a bad input (exit 2) fails the Job at once, an eviction is not counted.
      backoffLimit: input.completions,
      podFailurePolicy: {
        rules: [
          { action: 'FailJob', onExitCodes: { containerName: 'sweep', operator: 'In', values: [2] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
        ],
      },
      ttlSecondsAfterFinished: 7 * 24 * 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: IMAGE_UID, runAsGroup: IMAGE_UID, fsGroup: IMAGE_UID, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'sweep',
              image: input.image,
              args,
              env: [
                // Kubernetes >= 1.22 sets it too; from the annotation it works on every version with Indexed Jobs.
                { name: 'JOB_COMPLETION_INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
              ],
              // One scenario simulates on one core.
              resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, privileged: false, capabilities: { drop: ['ALL'] } },
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  };
  if (input.policyText === undefined) return [job];
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: metadata(policyName), data: { 'policy.yaml': input.policyText } };
  return [configMap, job];
}

function manifestsYaml(objects: Record<string, unknown>[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

/** `sweep ... --emit-job`: the manifests for the sweep `cmd` describes (already parsed into `scenarios`). */
export function emitJob(cmd: Command, parameter: string, scenarios: Scenario[]): string {
  const flags = cmd.opts();
  const completions = scenarios.length;
  if (completions > MAX_SWEEP_INDICES) throw new InputError([`--param: ${completions} values; an Indexed Job runs at most ${MAX_SWEEP_INDICES}`]);
  const jobName = flags.jobName !== undefined ? String(flags.jobName) : defaultJobName(parameter);
  checkJobName(jobName, completions);
  const parallelism = flags.parallelism !== undefined ? numberOption('--parallelism', String(flags.parallelism), { integer: true, min: 1 }) : completions;
  let policyText: string | undefined;
  if (flags.policy !== undefined) {
    const file = String(flags.policy);
    const loaded = loadPolicyFile(file);
    if (!loaded.spec.profile.startsWith('builtin:')) {
      throw new InputError([`--emit-job: ${file}: spec.profile "${loaded.spec.profile}" is a folder on this machine, which the Job's pods cannot read; use a builtin: profile (they are in the image)`]);
    }
    policyText = readInputFile(file, { maxBytes: { bytes: MAX_POLICY_BYTES, what: 'a policy file is a few KB' } });
  }
  let trace: string | undefined;
  if (flags.trace !== undefined) {
    trace = String(flags.trace);
    // A generated trace is generated in each pod: its mistakes now, not in every pod.
    if (isSyntheticSpec(trace)) parseSyntheticSpec(trace);
    else if (isScenarioSpec(trace)) parseScenarioSpec(trace);
    else if (!trace.startsWith(`${REPORTS_MOUNT}/`)) {
      throw new InputError([`--emit-job: --trace ${trace} is a file on this machine, which the Job's pods cannot read: copy it onto the reports volume (claim ${String(flags.reportsClaim ?? DEFAULT_REPORTS_CLAIM)}) and give --trace ${REPORTS_MOUNT}/${path.basename(trace)}, or use the bundled trace (no --trace), a synthetic: or a scenario: trace`]);
    }
  }
  const namespace = flags.namespace !== undefined ? String(flags.namespace) : undefined;
  const reportsClaim = flags.reportsClaim !== undefined ? String(flags.reportsClaim) : DEFAULT_REPORTS_CLAIM;
  checkObjectNames(namespace, reportsClaim);
  return manifestsYaml(jobManifests({
    jobName,
    namespace,
    image: flags.image !== undefined ? String(flags.image) : defaultImage(),
    reportsClaim,
    parallelism: Math.min(parallelism, completions),
    completions,
    args: passThroughArgs(cmd, NOT_PASSED),
    policyText,
    trace,
  }));
}

/** `--job-index` alone means $JOB_COMPLETION_INDEX, which Kubernetes sets in each pod of an Indexed Job. */
function jobIndex(flag: unknown, env: NodeJS.ProcessEnv, count: number): number {
  const given = typeof flag === 'string';
  const text = given ? flag : env.JOB_COMPLETION_INDEX;
  const source = given ? '--job-index' : 'JOB_COMPLETION_INDEX';
  if (text === undefined || text === '') {
    throw new InputError(['--job-index: no index given and JOB_COMPLETION_INDEX is not set (Kubernetes sets it in the pods of an Indexed Job); give --job-index N to run one index by hand']);
  }
  const index = numberOption(source, text, { integer: true, min: 0 });
  if (index >= count) throw new InputError([`${source}: ${index} is past the last of the ${count} values of --param (indices 0-${count - 1})`]);
  return index;
}

/** `sweep ... --job-index`: run the one scenario at the index and write its part file into --out. */
export async function runJobIndex(cmd: Command, parameter: string, values: (number | string)[], scenarios: Scenario[]): Promise<void> {
  const index = jobIndex(cmd.opts().jobIndex, process.env, scenarios.length);
  // In the pod's log, as simulate prints them: the trace's skipped lines and sorting, the policy's warnings.
  const report = await runScenario(scenarios[index]!, { onWarning: (warning) => process.stderr.write(`warning: ${warning}\n`) });
  const file = await writeSweepPart({ format: PART_FORMAT, version: PART_VERSION, parameter, values, index, value: values[index]!, report }, path.resolve(String(cmd.opts().out)));
  process.stdout.write(`sweep index ${index} of ${scenarios.length} (${parameter} = ${values[index]}): ${file}\n`);
}

/** `sweep --merge DIR`: the part files in DIR as one sweep report, written to --out or, by default, DIR itself. */
export async function mergeCommand(cmd: Command): Promise<void> {
  const flags = cmd.opts();
  const dir = path.resolve(String(flags.merge));
  const merged = await mergeSweepParts(dir);
  const outDir = fromCli(cmd, 'out') ? path.resolve(String(flags.out)) : dir;
  // A merged report in the parts' own folder is derived from them: merging again (more pods done) replaces it, and
  // says so. Any other folder is guarded like every --out.
  const replacing = checkOutDir(outDir, SWEEP_FILES, flags.force === true || outDir === dir);
  if (replacing) process.stderr.write(`${replacing}\n`);
  const files = await writeSweepReport(merged.sweep, outDir);
  if (flags.json) process.stdout.write(sweepJson(merged.sweep));
  else process.stdout.write(`${sweepSummaryTable(merged.sweep)}\n\nsweep report: ${shownPath(files.html)} (merged from ${merged.files.length} part file${merged.files.length === 1 ? '' : 's'})\n`);
  if (merged.missing.length > 0) {
    const list = merged.missing.map((m) => `${m.index} (${merged.sweep.parameter} = ${m.value})`).join(', ');
    process.stderr.write(`sweep --merge: no part file for index ${list} in ${dir}: its pod failed or has not finished; the report shows it as "no result"\n`);
    process.exitCode = 1;
  }
}
