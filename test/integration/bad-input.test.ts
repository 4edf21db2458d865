/**
 * The bad-input reliability suite: every file in test/fixtures/bad-input/ (malformed policies, observations,
 * planner states and traces) goes through the CLI (`validate`, `decide`, `simulate`) and must give the right exit
 * code (2 for bad input; 0 where the input is usable, e.g. a trace with bad lines among good ones), say on stderr
 * which field or file:line is wrong and why, and never crash with a stack trace.
 *
 * One table drives it. Every case runs through the CLI's entry function (src/cli/program.ts `main`, the code
 * bin/pd-planner.js runs) in a few child node processes, several cases each (bad-input-runner.mjs), because a
 * node + tsx start-up costs ~0.6 CPU-second; a sample of the cases also runs through the real binary
 * (`node bin/pd-planner.js ...`), one process each, to check the process exit codes themselves.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNode, type NodeOutcome } from '../fixtures/node-process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Fixture paths are given relative to the repository root, as a user would type them; messages echo them. */
const DIR = 'test/fixtures/bad-input';
const f = (name: string): string => `${DIR}/${name}`;

const TMP = mkdtempSync(join(tmpdir(), 'pd-bad-input-'));
/** Generated at run time rather than committed: 10 MB of YAML keys (the policy size cap must refuse it fast). */
const HUGE_POLICY = join(TMP, 'policy-10mb.yaml');
/** Generated: a policy whose profile directory holds a symlink to /dev/zero (the read cap must not trust stat). */
const ZERO_PROFILE_POLICY = join(TMP, 'policy-zero-profile.yaml');
/** Generated: a FIFO a writer opens and closes without writing (a trace that is not a regular file and empty). */
const EMPTY_FIFO = join(TMP, 'empty-trace.fifo');
/** Generated: a regular file where --out wants a folder. */
const OUT_FILE = join(TMP, 'out-is-a-file');
/** Generated: an --out folder whose report.json is a folder (--force cannot replace it). */
const OUT_JSON_DIR = join(TMP, 'out-json-is-a-dir');
/**
 * --out as the runner shows it: relative to the repository root (the runner's working directory) when under it, else
 * absolute as given: the temp folders here are "/tmp/...", not "../../../tmp/...".
 */
const shownOut = (dir: string): string => (relative(ROOT, dir).startsWith('..') ? dir : relative(ROOT, dir));

interface Case {
  /** The fixture file (or a short label for generated / flag cases). */
  name: string;
  args: string[];
  exit: 0 | 2;
  /** Each must appear in stderr: the field path or file:line, and the human part of the message. */
  stderr: string[];
  /** Each must appear in stdout (success cases). */
  stdout?: string[];
}

const POLICY = f('valid-policy.yaml');
/** A valid fleet of the two example graphs, named by a path relative to the fixture (`../../../examples/fleet/`). */
const FLEET = f('fleet-valid.yaml');
const FLEET_TRACES = ['--trace', 'chat=synthetic:poisson?rate=0.5&duration=5m&isl=2000&osl=200', '--trace', 'code=synthetic:poisson?rate=0.5&duration=5m&isl=2000&osl=200'];
const OBSERVATION = f('valid-observation.json');

function validate(file: string, exit: 0 | 2, ...stderr: string[]): Case {
  return { name: file, args: ['validate', f(file)], exit, stderr };
}
function decide(observation: string, exit: 0 | 2, ...stderr: string[]): Case {
  return { name: observation, args: ['decide', '--policy', POLICY, '--observation', f(observation)], exit, stderr };
}
function decideWithState(state: string, ...stderr: string[]): Case {
  return { name: state, args: ['decide', '--policy', POLICY, '--observation', OBSERVATION, '--state', f(state)], exit: 2, stderr };
}
function simulate(trace: string, exit: 0 | 2, ...stderr: string[]): Case {
  const out = join(TMP, `out-${trace}`);
  // --force: each case runs in-process and then as the binary, into the same --out.
  return { name: trace, args: ['simulate', '--policy', POLICY, '--trace', f(trace), '--out', out, '--force', '--baselines', 'none'], exit, stderr };
}

const UTF16_HINT = 'not UTF-8; save it as UTF-8, e.g. iconv -f';
const LATIN1_HINT = 'if it is Latin-1 or Windows-1252 text, convert it';

const CASES: Case[] = [
  // ---- policies: types and numbers ------------------------------------------------------------------------
  validate('policy-wrong-type-max-replicas-string.yaml', 2, 'spec.pools[0].maxReplicas: expected a number, got "eight"'),
  validate('policy-wrong-type-pools-mapping.yaml', 2, 'spec.pools: expected a list, got a mapping'),
  validate('policy-wrong-type-slo-ms-boolean.yaml', 2, 'spec.slo.ttft.ms: expected a number, got true'),
  validate('policy-null-fields.yaml', 2, 'spec.slo: expected a mapping, got null', 'spec.pools: expected a list, got null'),
  validate('policy-negative-min-replicas.yaml', 2, 'spec.pools[0].minReplicas: expected a number ≥ 0, got -1'),
  validate('policy-negative-cost.yaml', 2, 'spec.pools[0].costPerGpuHour: expected a number ≥ 0, got -6.98'),
  validate('policy-nan-percentile.yaml', 2, 'spec.slo.ttft.percentile: expected a number, got NaN'),
  validate('policy-infinite-ttft-ms.yaml', 2, 'spec.slo.ttft.ms: expected a number, got Infinity'),
  validate('policy-huge-max-replicas-1e308.yaml', 2, 'spec.pools[0].maxReplicas: expected a number ≤ 10000, got 1e+308'),
  validate(
    'policy-huge-min-replicas-1e308.yaml',
    2,
    'spec.pools[0].minReplicas: expected a number ≤ 10000, got 1e+308',
    'spec.pools[0].maxReplicas: expected a number ≤ 10000, got 1e+308',
  ),
  validate('policy-huge-max-gpus-1e308.yaml', 2, 'spec.budget.maxGpus: expected a number ≤ 10000000, got 1e+308'),
  validate('policy-overflow-max-replicas-1e400.yaml', 2, 'spec.pools[0].maxReplicas: expected a number, got Infinity'),
  validate('policy-fractional-gpus-per-replica.yaml', 2, 'spec.pools[0].gpusPerReplica: expected a whole number, got 2.5'),
  validate('policy-policy-kind-typo.yaml', 2, 'spec.policy: expected one of sla, dynamo, load, hpa, static, got "slaa"; did you mean "sla"?'),
  validate('policy-wrong-api-version.yaml', 2, 'apiVersion: expected "pd-planner/v1", got "pd-planner/v2"'),
  validate('policy-no-pools.yaml', 2, 'spec.pools: at least one pool is needed'),
  // ---- policies: unknown fields at every level ----------------------------------------------------------------
  validate('policy-unknown-field-top-level.yaml', 2, 'status: unknown field (allowed: apiVersion, kind, metadata, spec)'),
  validate('policy-unknown-field-metadata.yaml', 2, 'metadata.annotations: unknown field (allowed: name, namespace, labels)'),
  validate('policy-unknown-field-spec.yaml', 2, 'spec.maxReplicas: unknown field (allowed: interval, slo,'),
  validate('policy-unknown-field-slo-target.yaml', 2, 'spec.slo.ttft.p: unknown field (allowed: percentile, ms)'),
  validate('policy-unknown-field-pool.yaml', 2, 'spec.pools[0].replicas: unknown field (allowed: name, role,'),
  validate('policy-unknown-field-pool-target.yaml', 2, 'spec.pools[0].target.componentName: unknown field (allowed: kind, name, service, namespace)'),
  validate('policy-unknown-field-sla-improvements.yaml', 2, 'spec.sla.improvements.leadtime: unknown field; did you mean "leadTime"?'),
  validate('policy-unknown-field-schedule.yaml', 2, 'spec.schedules[0].days: unknown field (allowed: cron, duration, timezone, minReplicas)'),
  validate('policy-unknown-field-prometheus.yaml', 2, 'spec.sources.prometheus.step: unknown field (allowed: url, timeout, labels, queries)'),
  // ---- policies: durations ------------------------------------------------------------------------------------
  validate('policy-bare-number-interval.yaml', 2, 'spec.interval: expected an interval with a unit such as "60s" or "60m", got the bare number 60'),
  // A `…Seconds` field takes a plain number of seconds, as Kubernetes' fields do: usable.
  { ...validate('policy-bare-number-startup-seconds.yaml', 0), stdout: ['valid PlannerPolicy', 'prefill-od', '4m'] },
  validate('policy-duration-words.yaml', 2, 'spec.interval: expected an interval such as "60s", "5m" or "1h30m", got "1 minute"'),
  validate('policy-negative-duration.yaml', 2, 'spec.stabilization.scaleDown: expected a window such as "60s", "5m" or "1h30m", got "-5m"'),
  validate('policy-zero-interval.yaml', 2, 'spec.interval: 0s is shorter than 100ms, the shortest interval'),
  // ---- policies: cross-field rules ----------------------------------------------------------------------------
  validate('policy-min-above-max.yaml', 2, 'spec.pools[0].maxReplicas: 8 is below minReplicas 9'),
  validate('policy-budget-below-mins.yaml', 2, "spec.budget.maxGpus: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)"),
  validate('policy-schedule-missing-pool.yaml', 2, 'spec.schedules[0].minReplicas.prefill-spot: no pool named "prefill-spot"; did you mean "prefill-od"?'),
  validate('policy-schedule-bad-cron.yaml', 2, 'spec.schedules[0].cron: invalid cron expression "0 25 * * mon-fri"'),
  validate('policy-schedule-bad-timezone.yaml', 2, 'spec.schedules[0].timezone: unknown time zone "Europe/Amsterdan"'),
  // ---- policies: the profile -----------------------------------------------------------------------------------
  validate('policy-missing-profile-builtin.yaml', 2, 'spec.profile: no bundled profile "llama3-405b"; bundled profiles: builtin:'),
  validate('policy-missing-profile-dir.yaml', 2, 'spec.profile: directory', 'no-such-profile not found'),
  validate('policy-malformed-profile-invalid-json.yaml', 2, 'spec.profile:', 'profile-invalid-json/prefill_raw_data.json is not valid JSON'),
  validate('policy-malformed-profile-wrong-shape.yaml', 2, 'spec.profile: prefill_raw_data.json: prefill_isl:'),
  // ---- policies: the file itself ------------------------------------------------------------------------------
  validate('policy-yaml-syntax-error.yaml', 2, `${f('policy-yaml-syntax-error.yaml')}:7:5: Flow map in block collection must be sufficiently indented and end with a }`),
  validate('policy-tab-indentation.yaml', 2, `${f('policy-tab-indentation.yaml')}:7:1: Tabs are not allowed as indentation`),
  validate('policy-duplicate-keys.yaml', 2, `${f('policy-duplicate-keys.yaml')}:10:3: Map keys must be unique`),
  validate('policy-two-documents.yaml', 2, `${f('policy-two-documents.yaml')}:9:1: the file holds more than one YAML document`),
  validate('policy-empty.yaml', 2, `${f('policy-empty.yaml')}: the file is empty; expected a PlannerPolicy`),
  // CR-only line endings are YAML line breaks: the policy is read as written (it was all one comment line: "expected a mapping").
  { name: 'policy-cr-line-endings.yaml', args: ['validate', f('policy-cr-line-endings.yaml')], exit: 0, stderr: [], stdout: [`${f('policy-cr-line-endings.yaml')}: valid PlannerPolicy "bad-input"`] },
  validate('policy-whitespace-only.yaml', 2, `${f('policy-whitespace-only.yaml')}: the file is empty; expected a PlannerPolicy`),
  validate('policy-binary-gzip.yaml', 2, `${f('policy-binary-gzip.yaml')}: looks like a binary file (NUL byte at offset 3), gzip-compressed: decompress it first`),
  validate('policy-latin1.yaml', 2, `${f('policy-latin1.yaml')}:3: has bytes that are not valid UTF-8 (first: byte 0xE9 at column 50); ${LATIN1_HINT}`),
  validate('policy-utf16le-bom.yaml', 2, `${f('policy-utf16le-bom.yaml')}: is UTF-16 little-endian text (byte-order mark FF FE), ${UTF16_HINT} UTF-16LE`),
  validate('policy-utf16be-no-bom.yaml', 2, `${f('policy-utf16be-no-bom.yaml')}: is UTF-16 big-endian text (no byte-order mark; every other byte is NUL), ${UTF16_HINT} UTF-16BE`),
  validate('policy-json-array.json', 2, `${f('policy-json-array.json')}: expected a mapping with apiVersion, kind, metadata and spec at the top level`),
  validate('policy-bare-scalar.yaml', 2, `${f('policy-bare-scalar.yaml')}: expected a mapping with apiVersion, kind, metadata and spec`),
  validate('policy-deeply-nested-flow.yaml', 2, `${f('policy-deeply-nested-flow.yaml')}:1:`, 'nested too deeply for the parser'),
  validate('policy-deeply-nested-mappings.yaml', 2, `${f('policy-deeply-nested-mappings.yaml')}:1:`, 'nested too deeply for the parser'),
  validate('policy-alias-bomb.yaml', 2, `${f('policy-alias-bomb.yaml')}: too many alias references (*name) expand to the same nodes`),
  { name: 'policy-10mb.yaml (generated)', args: ['validate', HUGE_POLICY], exit: 2, stderr: [`${HUGE_POLICY}: is 10.0 MB; a policy file is a few KB (limit 256 KB)`] },
  // ---- policies: bounds on durations and physical numbers -----------------------------------------------------
  validate('policy-interval-25d.yaml', 2, 'spec.interval: "25d" is longer than 1d, the most allowed for an interval (timers hold at most a day here)'),
  validate('policy-interval-1ms.yaml', 2, 'spec.interval: 1ms is shorter than 100ms, the shortest interval; use e.g. "60s"'),
  validate('policy-interval-320-nines.yaml', 2, 'spec.interval: "999999999999999999999999999999999999999999999999999999999..." is longer than 1d'),
  validate('policy-prometheus-timeout-25d.yaml', 2, 'spec.sources.prometheus.timeout: "25d" is longer than 1d, the most allowed for a timeout'),
  validate('policy-schedule-huge-duration.yaml', 2, 'spec.schedules[0].duration: "99999999999d" is longer than 366d, the most allowed for a schedule duration'),
  validate('policy-profile-thpt-1e-300.yaml', 2, 'spec.profile: prefill_raw_data.json: prefill_thpt_per_gpu[0] is 1e-300, outside the physical range 0.01..1000000000 tokens/s per GPU'),
  { ...validate('policy-static-constructor-pool.yaml', 0), stdout: ['valid PlannerPolicy', 'constructor=3'] },
  { ...validate('policy-min-replicas-zero.yaml', 0), stdout: ['valid PlannerPolicy'] },
  { name: 'validate /dev/zero', args: ['validate', '/dev/zero'], exit: 2, stderr: ['/dev/zero: more than 256 KB; a policy file is a few KB (limit 256 KB): is this the right file?'] },
  { name: 'validate: profile symlinked to /dev/zero (generated)', args: ['validate', ZERO_PROFILE_POLICY], exit: 2, stderr: ['prefill_raw_data.json: more than 16.0 MB; a profile file is a few hundred KB (limit 16.0 MB)'] },
  // A bad policy is reported the same way by decide and simulate.
  { name: 'decide with a bad policy', args: ['decide', '--policy', f('policy-min-above-max.yaml'), '--observation', OBSERVATION], exit: 2, stderr: ['spec.pools[0].maxReplicas: 8 is below minReplicas 9'] },
  { name: 'simulate with a bad policy', args: ['simulate', '--policy', f('policy-empty.yaml'), '--trace', f('valid-trace.csv'), '--out', join(TMP, 'out-bad-policy'), '--baselines', 'none'], exit: 2, stderr: [`${f('policy-empty.yaml')}: the file is empty`] },

  // ---- observations ---------------------------------------------------------------------------------------------
  decide('obs-wrong-type-requests-string.json', 2, 'observation.requests: expected a number, got "720"'),
  decide('obs-wrong-type-pools-list.json', 2, 'observation.pools: expected a mapping, got a list (1 item)'),
  decide('obs-wrong-type-ttft-number.json', 2, 'observation.ttftMs: expected a mapping, got 610'),
  decide('obs-negative-queue-depth.json', 2, 'observation.queueDepth: expected a number ≥ 0, got -3'),
  decide('obs-negative-pool-ready.json', 2, 'observation.pools.prefill-od.ready: expected a number ≥ 0, got -1'),
  decide('obs-fractional-pool-desired.json', 2, 'observation.pools.decode-od.desired: expected a whole number, got 1.5'),
  decide('obs-nan-as-string.json', 2, 'observation.requests: expected a number, got "NaN"'),
  decide('obs-infinity-as-string.json', 2, 'observation.isl: expected a number, got "Infinity"'),
  decide('obs-nan-bare-literal.json', 2, `${f('obs-nan-bare-literal.json')}:1:47: invalid JSON: NaN is not a JSON value; leave the field out or write null`),
  decide('obs-huge-number-1e400.json', 2, 'observation.requests: expected a number, got Infinity'),
  decide('obs-kv-usage-percent.json', 2, 'observation.kvUsage: expected a fraction between 0 and 1 (0.75 for 75%), got 42'),
  decide('obs-unknown-field.json', 2, 'observation.ttftMS: unknown field; did you mean "ttftMs"?'),
  decide('obs-unknown-field-pool.json', 2, 'observation.pools.prefill-od.starting: unknown field (allowed: desired, ready,'),
  decide('obs-unknown-pool-name.json', 2, 'observation.pools.prefill: no pool named "prefill" in the policy (pools: prefill-od, decode-od)'),
  decide('obs-bad-percentile-key.json', 2, 'observation.ttftMs.p100: unknown key (expected "mean" or a percentile', 'observation.ttftMs.max: unknown key'),
  decide('obs-missing-time.json', 2, 'observation.time: required field is missing'),
  decide('obs-bad-time.json', 2, 'observation.time: expected an ISO 8601 time such as "2026-11-25T10:00:00Z", got "yesterday at noon"'),
  decide('obs-json-array.json', 2, 'observation: expected a JSON object with at least "time"'),
  decide('obs-deeply-nested.json', 2, 'observation.errors: expected a mapping, got a list (1 item)'),
  decide('obs-truncated.json', 2, `${f('obs-truncated.json')}:1:82: invalid JSON: Unterminated string`),
  decide('obs-trailing-garbage.json', 2, `${f('obs-trailing-garbage.json')}:1:36: invalid JSON: Unexpected non-whitespace character after JSON`),
  // JSON.parse keeps the last of two equal keys: the first value was silently dropped.
  decide(
    'obs-duplicate-key.json',
    2,
    `${f('obs-duplicate-key.json')}:6:3: duplicate key "requests" (also at line 3); only one value can be used: keep one`,
    `${f('obs-duplicate-key.json')}:7:42: duplicate key "ready" (also at line 7); only one value can be used: keep one`,
  ),
  decide('obs-empty.json', 2, `${f('obs-empty.json')}: the file is empty; expected a JSON observation`),
  decide('obs-utf16le-bom.json', 2, `${f('obs-utf16le-bom.json')}: is UTF-16 little-endian text (byte-order mark FF FE), ${UTF16_HINT} UTF-16LE`),
  decide('obs-latin1.json', 2, `${f('obs-latin1.json')}:1: has bytes that are not valid UTF-8 (first: byte 0xE9 at column 60); ${LATIN1_HINT}`),
  // Usable: a UTF-8 byte-order mark (Notepad) is dropped; absurd but finite numbers hold the replicas and say why.
  { ...decide('obs-utf8-bom.json', 0), stdout: ['"prefill-od"'] },
  { ...decide('obs-huge-numbers-1e308.json', 0), stdout: ['"held": true', 'policy gave no usable prefill need (Infinity)'] },
  decide('obs-proto-pools.json', 2, 'observation.pools.__proto__: "__proto__" is not allowed as a name (it would change how the data is read instead of adding an entry); rename it'),
  // 1e13 requests: the queue model's search is bounded, so the decision comes back (at the pools' maxReplicas).
  { ...decide('obs-requests-1e13.json', 0), stdout: ['"desired": 8'] },
  // Cold start, requests missing, minReplicas 0 and 5 ready: 5, held, not 0.
  {
    name: 'obs-cold-start-requests-missing.json',
    args: ['decide', '--policy', f('policy-min-replicas-zero.yaml'), '--observation', f('obs-cold-start-requests-missing.json')],
    exit: 0,
    stderr: [],
    stdout: ['"desired": 5', '"hold": true', '"held": true', 'requests missing (prometheus: connection refused)'],
  },
  { name: 'obs-constructor-pool.json', args: ['decide', '--policy', f('policy-static-constructor-pool.yaml'), '--observation', f('obs-constructor-pool.json')], exit: 0, stderr: [], stdout: ['"constructor": {\n      "desired": 3'] },
  { name: 'decide --observation /dev/zero', args: ['decide', '--policy', POLICY, '--observation', '/dev/zero'], exit: 2, stderr: ['/dev/zero: more than 1.0 MB; an observation is a few KB (limit 1.0 MB)'] },
  { name: 'decide --state /dev/zero', args: ['decide', '--policy', POLICY, '--observation', OBSERVATION, '--state', '/dev/zero'], exit: 2, stderr: ['/dev/zero: more than 16.0 MB; a planner state is at most a few MB (limit 16.0 MB)'] },
  decideWithState('state-empty.json', `${f('state-empty.json')}: the state file is empty (was it cut short?)`),
  { name: 'decide --state-out into a missing directory', args: ['decide', '--policy', POLICY, '--observation', OBSERVATION, '--state-out', join(TMP, 'no-such-dir', 's.json')], exit: 2, stderr: [`--state-out: the directory ${join(TMP, 'no-such-dir')}`, 'does not exist; create it first'] },
  decideWithState('state-wrong-types.json', 'state.history[0].time: expected a number, got "yesterday"', 'state.correction.pCf: expected a number > 0, got -1'),
  decideWithState('state-truncated.json', `${f('state-truncated.json')}:1:58: invalid JSON: Expected ',' or ']' after array element`),
  { name: 'decide: observation is a directory', args: ['decide', '--policy', POLICY, '--observation', DIR], exit: 2, stderr: [`${DIR}: cannot read: is a directory, expected a file`] },
  // A flag given twice with different values is refused (the last one silently won); an empty value too.
  { name: 'decide: --policy given twice', args: ['decide', '--policy', POLICY, '--policy', 'examples/static.yaml', '--observation', OBSERVATION], exit: 2, stderr: [`--policy: given twice ("${POLICY}", then "examples/static.yaml"); give it once`] },
  { name: 'decide: --observation given twice, the same file', args: ['decide', '--policy', POLICY, '--observation', OBSERVATION, '--observation', OBSERVATION], exit: 0, stderr: [], stdout: ['"prefill-od"'] },
  // An empty argument (an unset shell variable) is named, not read as a file called "".
  { name: 'validate: the file argument empty', args: ['validate', ''], exit: 2, stderr: ['<policy>: the argument is empty; give one (see pd-planner validate --help)'] },
  { name: 'decide: --policy empty', args: ['decide', '--policy', '', '--observation', OBSERVATION], exit: 2, stderr: ['--policy: the value is empty; give one (see pd-planner decide --help)'] },
  { name: 'decide: --observation missing', args: ['decide', '--policy', POLICY], exit: 2, stderr: ["error: required option '--observation <file>' not specified"] },

  // ---- traces ---------------------------------------------------------------------------------------------------
  // A cut-off last line is skipped (and said so); the good lines before it still run.
  {
    ...simulate('trace-truncated-last-line.csv', 0, `${f('trace-truncated-last-line.csv')}:5: expected 3 comma-separated fields, found 1 (the last line has no newline: was the file cut short?)`),
    stdout: ['3 requests', '1 line skipped'],
  },
  simulate('trace-wrong-column-count.csv', 2, `${f('trace-wrong-column-count.csv')}:2: expected 3 comma-separated fields, found 2`, `${f('trace-wrong-column-count.csv')}:4: expected 3 comma-separated fields, found 1`),
  simulate('trace-negative-tokens.csv', 2, `${f('trace-negative-tokens.csv')}:2: ContextTokens "-374" is not a non-negative integer`, `${f('trace-negative-tokens.csv')}:3: GeneratedTokens "-109" is not a non-negative integer`),
  simulate('trace-non-numeric-timestamp.csv', 2, `${f('trace-non-numeric-timestamp.csv')}:2: TIMESTAMP "yesterday" is not a date-time like 2023-11-16 18:17:03.9799600`),
  simulate('trace-huge-tokens-over-2-32.csv', 2, `${f('trace-huge-tokens-over-2-32.csv')}:2: ContextTokens "4294967296" is more than 4294967295 tokens, the most one request may have`, `${f('trace-huge-tokens-over-2-32.csv')}:3: GeneratedTokens "99999999999999999999" is more than 4294967295 tokens, the most one request may have`),
  simulate('trace-burstgpt-negative-timestamp.csv', 2, `${f('trace-burstgpt-negative-timestamp.csv')}:2: Timestamp "-5" is not a non-negative number of seconds`),
  simulate('trace-header-only.csv', 2, `${f('trace-header-only.csv')}: azure header but no request lines`),
  simulate('trace-header-missing-column.csv', 2, `${f('trace-header-missing-column.csv')}:1: cannot tell the trace format from "TIMESTAMP,ContextTokens"`),
  simulate('trace-unknown-format.txt', 2, `${f('trace-unknown-format.txt')}:1: cannot tell the trace format from "hello, this is not a trace"`),
  // CR-only line endings (Excel's "CSV (Macintosh)"): the whole file is one line; the message says so and how to convert.
  simulate('trace-cr-line-endings.csv', 2, `${f('trace-cr-line-endings.csv')}:1: cannot tell the trace format from "TIMESTAMP,ContextTokens,GeneratedTokens\\r…"; its lines end in a carriage return alone (old Mac line endings), so the file reads as one line; convert them to newlines, e.g. tr '\\r' '\\n' <`),
  {
    name: 'simulate --trace-format azure: CR-only line endings',
    args: ['simulate', '--policy', POLICY, '--trace', f('trace-cr-line-endings.csv'), '--trace-format', 'azure', '--out', join(TMP, 'out-cr-azure'), '--baselines', 'none'],
    exit: 2,
    stderr: [`${f('trace-cr-line-endings.csv')}:1: header "TIMESTAMP,ContextTokens,GeneratedTokens\\r…" lacks Azure column(s) generatedtokens; expected TIMESTAMP,ContextTokens,GeneratedTokens; its lines end in a carriage return alone (old Mac line endings), so the file reads as one line; convert them to newlines, e.g. tr '\\r' '\\n' <`],
  },
  simulate('trace-empty.csv', 2, `${f('trace-empty.csv')}: trace file is empty`),
  simulate('trace-blank-lines.csv', 2, `${f('trace-blank-lines.csv')}: trace file has only blank lines`),
  simulate('trace-binary-gzip.csv', 2, `${f('trace-binary-gzip.csv')}: looks like a binary file (NUL byte at offset 3), gzip-compressed: decompress it first`),
  simulate('trace-utf16le-bom.csv', 2, `${f('trace-utf16le-bom.csv')}: is UTF-16 little-endian text (byte-order mark FF FE), ${UTF16_HINT} UTF-16LE`),
  simulate('trace-latin1-header.csv', 2, `${f('trace-latin1-header.csv')}:1: has bytes that are not valid UTF-8 in the first 1 KB (first: byte 0xE8 at column 44); ${LATIN1_HINT}`),
  simulate('trace-mooncake-all-junk.jsonl', 2, `${f('trace-mooncake-all-junk.jsonl')}:1: input_length -1 is not a non-negative integer`, `${f('trace-mooncake-all-junk.jsonl')}:3: output_length missing is not a non-negative integer`),
  // One good request among junk: the run succeeds and every skipped line is counted, the first named file:line.
  {
    ...simulate('trace-mooncake-one-good-among-junk.jsonl', 0, `${f('trace-mooncake-one-good-among-junk.jsonl')}: 6 bad line(s) skipped; first ${f('trace-mooncake-one-good-among-junk.jsonl')}:2: input_length -1 is not a non-negative integer`),
    stdout: ['1 requests', '6 lines skipped (line 2: input_length -1', 'line 4: not valid JSON', 'line 7: input_length 100000000000000000000 is more than 4294967295 tokens'],
  },
  // A key given twice on one line: JSON.parse would keep the last value; the run stops even among good lines.
  simulate('trace-mooncake-duplicate-key.jsonl', 2, `${f('trace-mooncake-duplicate-key.jsonl')}:2: duplicate key "input_length" at column 63 (also at column 21); only one value can be used: keep one`),
  simulate('trace-two-lines-2000-2010.csv', 2, 'trace-two-lines-2000-2010.csv: spans 3653d, 5,260,320 intervals of 1m; a simulation covers at most 100,000 intervals'),
  { name: 'simulate: an empty FIFO as the trace (generated)', args: ['simulate', '--policy', POLICY, '--trace', EMPTY_FIFO, '--out', join(TMP, 'out-fifo'), '--baselines', 'none'], exit: 2, stderr: [`${EMPTY_FIFO}: not a regular file, and reading it gave no trace lines`] },
  { name: 'simulate: synthetic burst of height 1e300', args: ['simulate', '--policy', POLICY, '--trace', 'synthetic:burst?rate=2&height=1e300&duration=1h', '--out', join(TMP, 'out-burst'), '--baselines', 'none'], exit: 2, stderr: ['would make 7.200e+302 requests, more than the 20,000,000 one simulation replays'] },
  { name: 'simulate: synthetic poisson 1e9/s for a day', args: ['simulate', '--policy', POLICY, '--trace', 'synthetic:poisson?rate=1e9&duration=1d', '--out', join(TMP, 'out-poisson'), '--baselines', 'none'], exit: 2, stderr: ['would make 86,400,000,000,000 requests, more than the 20,000,000 one simulation replays'] },
  { name: 'simulate: --rate-scale 100000 on the bundled trace', args: ['simulate', '--rate-scale', '100000', '--out', join(TMP, 'out-scale'), '--baselines', 'none'], exit: 2, stderr: ['--rate-scale: 8,819 requests x 100000 would make 881,900,000 requests, more than the 20,000,000 one simulation replays'] },
  { name: 'simulate: --rate-scale 1e15', args: ['simulate', '--rate-scale', '1e15', '--out', join(TMP, 'out-scale15'), '--baselines', 'none'], exit: 2, stderr: ['--rate-scale: "1e15" is not a number from 0.000001 to 1000000'] },
  { name: 'simulate: --gpu-budget 4 below the minimums', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--gpu-budget', '4', '--out', join(TMP, 'out-budget'), '--baselines', 'none'], exit: 2, stderr: ["--gpu-budget: 4 GPUs is below the 8 the pools' minReplicas need (prefill-od 1x4, decode-od 1x4)"] },
  // A pool named "constructor" through the simulator and every report (a Vega sort list of pool names fails on it).
  { name: 'simulate: a pool named constructor', args: ['simulate', '--policy', f('policy-static-constructor-pool.yaml'), '--trace', f('valid-trace.csv'), '--out', join(TMP, 'out-constructor'), '--force', '--baselines', 'static,hpa'], exit: 0, stderr: [], stdout: ['static', 'hpa'] },
  // --out is checked before anything runs: a file, a folder below a file, a report file that is a folder.
  { name: 'simulate --out names a file (generated)', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', OUT_FILE, '--baselines', 'none'], exit: 2, stderr: [`--out: ${shownOut(OUT_FILE)} is a file, not a folder; name a folder (it is created when missing)`] },
  {
    name: 'simulate --out below a file (generated)',
    args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', join(OUT_FILE, 'sub'), '--baselines', 'none'],
    exit: 2,
    stderr: [`--out: ${shownOut(join(OUT_FILE, 'sub'))} cannot be created: ${OUT_FILE} is a file, not a folder; name a folder (it is created when missing)`],
  },
  {
    name: 'simulate --out with report.json a folder, --force (generated)',
    args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', OUT_JSON_DIR, '--force', '--baselines', 'none'],
    exit: 2,
    stderr: [`--out: ${shownOut(join(OUT_JSON_DIR, 'report.json'))} is a folder, not a report file; remove it or choose another --out folder`],
  },
  { name: 'sweep --out names a file (generated)', args: ['sweep', '--param', 'gpu-budget=16', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', OUT_FILE, '--baselines', 'none', '--threads', '1'], exit: 2, stderr: [`--out: ${shownOut(OUT_FILE)} is a file, not a folder`] },
  // procfs answers ENOENT to mkdir, and Node's recursive mkdir then retries for ever: an error, not a hang.
  { name: 'simulate --out under /proc', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', '/proc/pd-planner-no-such-folder', '--baselines', 'none'], exit: 2, stderr: ['--out: cannot create the report folder /proc/pd-planner-no-such-folder (ENOENT: no such file or directory'] },
  // An empty --out was the working directory: the report files landed wherever the command ran.
  { name: 'simulate: --out empty', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', '', '--baselines', 'none'], exit: 2, stderr: ['--out: the value is empty; give one (see pd-planner simulate --help)'] },
  { name: 'simulate: --seed given twice', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--seed', '1', '--seed=2', '--out', join(TMP, 'out-seed-twice'), '--baselines', 'none'], exit: 2, stderr: ['--seed: given twice ("1", then "2"); give it once'] },
  // The scenarios' warnings reach the terminal as simulate's do, once for the sweep (worker threads dropped them).
  {
    name: 'sweep: a trace with a skipped line says so, once',
    args: ['sweep', '--param', 'gpu-budget=16,32', '--policy', POLICY, '--trace', f('trace-truncated-last-line.csv'), '--out', join(TMP, 'out-sweep-warning'), '--force', '--baselines', 'none', '--threads', '1'],
    exit: 0,
    stderr: [`warning: ${f('trace-truncated-last-line.csv')}: 1 bad line(s) skipped; first ${f('trace-truncated-last-line.csv')}:5: expected 3 comma-separated fields, found 1`],
    stdout: ['sweep over GPU budget (gpu-budget): 16 GPUs, 32 GPUs'],
  },
  { name: 'sweep: --param given twice', args: ['sweep', '--param', 'gpu-budget=16', '--param', 'ttft-ms=500', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--out', join(TMP, 'out-param-twice'), '--baselines', 'none'], exit: 2, stderr: ['--param: given twice ("gpu-budget=16", then "ttft-ms=500"); give it once'] },
  { name: 'simulate: trace file missing', args: ['simulate', '--policy', POLICY, '--trace', f('no-such-trace.csv'), '--out', join(TMP, 'out-missing'), '--baselines', 'none'], exit: 2, stderr: [`${f('no-such-trace.csv')}: trace file not found`] },
  { name: 'simulate: --speedup not a number', args: ['simulate', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--speedup', 'fast', '--out', join(TMP, 'out-speedup'), '--baselines', 'none'], exit: 2, stderr: ['--speedup: "fast" is not a number from 0.000001 to 1000000'] },
  { name: 'reserve: --max-runs 0', args: ['reserve', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--max-runs', '0'], exit: 2, stderr: ['--max-runs: "0" is not a whole number from 1 to 200'] },
  { name: 'reserve: trace file missing', args: ['reserve', '--policy', POLICY, '--trace', f('no-such-trace.csv')], exit: 2, stderr: [`${f('no-such-trace.csv')}: trace file not found`] },
  { name: 'reserve: the second of two traces missing', args: ['reserve', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--trace', f('no-such-trace.csv')], exit: 2, stderr: [`${f('no-such-trace.csv')}: trace file not found`] },
  { name: 'reserve: --max-runs given twice', args: ['reserve', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--max-runs', '3', '--max-runs', '4'], exit: 2, stderr: ['--max-runs: given twice ("3", then "4"); give it once'] },
  { name: 'reserve: a static policy', args: ['reserve', '--policy', 'examples/static.yaml', '--trace', f('valid-trace.csv')], exit: 2, stderr: ['spec.policy: static runs spec.static.replicas at every tick, so a reserve (minReplicas) changes nothing; compare replica counts with `pd-planner simulate` instead'] },
  { name: 'reserve (valid)', args: ['reserve', '--policy', POLICY, '--trace', f('valid-trace.csv'), '--max-runs', '3'], exit: 0, stderr: [], stdout: ['(as written)'] },
  // ---- fleets (validate FLEET.yaml, simulate --fleet, run --fleet) ------------------------------------------------
  // Each graph's policy is read with the policy cap; its problems are prefixed with the fleet field that names it.
  validate('fleet-policy-dev-zero.yaml', 2, 'spec.graphs[1].policy: /dev/zero: more than 256 KB; a policy file is a few KB (limit 256 KB): is this the right file?'),
  validate('fleet-missing-policy.yaml', 2, 'spec.graphs[1].policy: no-such-policy.yaml: cannot read: no such file (looked for ', 'no-such-policy.yaml; paths are relative to the fleet file)'),
  validate('fleet-policy-directory.yaml', 2, 'spec.graphs[0].policy: /: cannot read: is a directory, expected a file'),
  validate('fleet-policy-is-fleet.yaml', 2, 'spec.graphs[0].policy: fleet-policy-is-fleet.yaml: kind: PlannerFleet is a fleet file; give it to validate, run --fleet or simulate --fleet (this takes a PlannerPolicy)'),
  validate('fleet-same-policy-twice.yaml', 2, 'spec.graphs[1].policy: ../../../examples/fleet/../fleet/chat.yaml is listed twice (also spec.graphs[0]); list each graph once'),
  validate('fleet-budget-below-mins.yaml', 2, "spec.budget.maxGpus: 4 GPUs is below the 8 the graphs' minReplicas need (chat 8, code 0); raise it or lower some minReplicas"),
  validate('fleet-unknown-field.yaml', 2, 'spec.graph: unknown field; did you mean "graphs"? (allowed: budget, graphs)', 'spec.graphs: required field is missing (expected a list)'),
  validate('fleet-proto-key.yaml', 2, 'spec.budget.__proto__: "__proto__" is not allowed as a name'),
  validate('fleet-empty-graphs.yaml', 2, 'spec.graphs: at least one graph is needed'),
  validate('fleet-priority-out-of-range.yaml', 2, 'spec.graphs[0].priority: expected a number > 0, got 0', 'spec.graphs[1].priority: expected a number ≤ 1000, got 1e+300'),
  { name: 'validate FLEET.yaml (valid)', args: ['validate', FLEET], exit: 0, stderr: [], stdout: [`${FLEET}: valid PlannerFleet "bad-fleet"`, 'chat   ../../../examples/fleet/chat.yaml  2'] },
  { name: 'simulate --fleet /dev/zero', args: ['simulate', '--fleet', '/dev/zero', ...FLEET_TRACES, '--out', join(TMP, 'out-fleet-zero')], exit: 2, stderr: ['/dev/zero: more than 256 KB; a fleet file is a few KB (limit 256 KB)'] },
  { name: 'simulate --fleet: --trace given twice', args: ['simulate', '--fleet', FLEET, ...FLEET_TRACES, '--trace', FLEET_TRACES[1]!, '--out', join(TMP, 'out-fleet-twice')], exit: 2, stderr: ['--trace: chat is given twice'] },
  {
    name: 'simulate --fleet: --trace for a graph not in the fleet, none for one that is',
    args: ['simulate', '--fleet', FLEET, '--trace', 'chat=x.csv', '--trace', 'chta=y.csv', '--out', join(TMP, 'out-fleet-names')],
    exit: 2,
    stderr: ['--trace: "chta" is not a graph of the fleet (graphs: chat, code; NAME is a policy\'s metadata.name)', '--trace: no trace for graph code; add --trace code=FILE'],
  },
  { name: 'simulate --fleet: --current', args: ['simulate', '--fleet', FLEET, ...FLEET_TRACES, '--current', 'prefill=3', '--out', join(TMP, 'out-fleet-current')], exit: 2, stderr: ["--current: not with --fleet (it gives one graph's replica counts)"] },
  { name: 'simulate --fleet: --gpu-budget below the graphs\' minimums', args: ['simulate', '--fleet', FLEET, ...FLEET_TRACES, '--gpu-budget', '4', '--out', join(TMP, 'out-fleet-budget')], exit: 2, stderr: ["--gpu-budget: 4 GPUs is below the 8 the graphs' minReplicas need (chat 8, code 0)"] },
  { name: 'simulate --fleet: --rate-scale 1e9', args: ['simulate', '--fleet', FLEET, ...FLEET_TRACES, '--rate-scale', '1e9', '--out', join(TMP, 'out-fleet-scale')], exit: 2, stderr: ['--rate-scale: "1e9" is not a number from 0.000001 to 1000000'] },
  { name: 'simulate --fleet: two graphs on one budget', args: ['simulate', '--fleet', FLEET, ...FLEET_TRACES, '--baselines', 'split', '--out', join(TMP, 'out-fleet'), '--force'], exit: 0, stderr: [], stdout: ['all SLOs met', 'chat: SLO met', 'code: GPU-h', 'split'] },
  { name: 'run --fleet /dev/zero', args: ['run', '--fleet', '/dev/zero', '--once', '--dry-run', '--connector', 'virtual'], exit: 2, stderr: ['/dev/zero: more than 256 KB; a fleet file is a few KB (limit 256 KB)'] },
  // A policy file where a fleet file goes: one line saying which flag takes it, not the fleet fields it lacks.
  { name: 'simulate --fleet POLICY.yaml', args: ['simulate', '--fleet', POLICY, ...FLEET_TRACES, '--out', join(TMP, 'out-fleet-policy')], exit: 2, stderr: [`${POLICY}: kind: PlannerPolicy is a policy file; give it with --policy`] },
  { name: 'run --fleet POLICY.yaml', args: ['run', '--fleet', POLICY, '--once', '--dry-run', '--connector', 'virtual'], exit: 2, stderr: [`${POLICY}: kind: PlannerPolicy is a policy file; give it with --policy`] },
  { name: 'run --fleet with --policy', args: ['run', '--fleet', FLEET, '--policy', POLICY, '--once', '--dry-run', '--connector', 'virtual'], exit: 2, stderr: ['--fleet: not with --policy'] },
];

/** Fixture files that are inputs to other cases rather than cases of their own. */
const SUPPORT = new Set(['fleet-valid.yaml', 'valid-policy.yaml', 'valid-observation.json', 'valid-trace.csv', 'README.md', 'profile-invalid-json', 'profile-wrong-shape', 'profile-thpt-1e-300']);

type Outcome = NodeOutcome;

/** Run `cases` in one child process through bad-input-runner.mjs; a runner that dies fails every case of its group. */
async function runGroup(cases: readonly Case[], index: number): Promise<[string, Outcome][]> {
  const casesFile = join(TMP, `group-${index}.json`);
  const resultsFile = join(TMP, `group-${index}-results.json`);
  writeFileSync(casesFile, JSON.stringify(cases.map((c) => c.args)));
  const runner = await runNode(['test/integration/bad-input-runner.mjs', casesFile, resultsFile], 120_000);
  if (runner.status !== 0 || !existsSync(resultsFile)) {
    const failed: Outcome = { status: null, stdout: runner.stdout, stderr: `runner exited ${runner.status}:\n${runner.stderr}` };
    return cases.map((c) => [c.name, failed]);
  }
  const outcomes = JSON.parse(readFileSync(resultsFile, 'utf8')) as Outcome[];
  return cases.map((c, i) => [c.name, outcomes[i] as Outcome]);
}

/** The cases that also run through `node bin/pd-planner.js`: each command, both exit codes, commander's own error. */
const THROUGH_BINARY = [
  'policy-alias-bomb.yaml',
  'policy-10mb.yaml (generated)',
  'obs-nan-bare-literal.json',
  'decide: --observation missing',
  'trace-utf16le-bom.csv',
  'trace-mooncake-one-good-among-junk.jsonl',
];

/** A stack frame line ("    at foo (file.ts:1:2)") or an uncaught JS error means we crashed instead of explaining. */
const STACK_FRAME = /\n\s+at .*\(/;
const CRASH_WORDS = /\b(TypeError|ReferenceError|RangeError|SyntaxError|Unhandled|node:internal)\b/;
/**
 * Every problem line names where (field path, file, file:line[:col], --flag, a synthetic spec, or "error") before a
 * colon and a message.
 */
const PROBLEM_LINE = /^(\S[^:\s]*|synthetic spec "[^"]*")(:\d+)*: \S/;

let inProcess: Map<string, Outcome>;
let fifoWriter: ChildProcess | undefined;
let binary: Map<string, Outcome>;
let elapsedMs = 0;

beforeAll(async () => {
  let text = 'apiVersion: pd-planner/v1\nkind: PlannerPolicy\nmetadata: { name: huge }\nspec:\n  junk:\n';
  const lines: string[] = [];
  let size = text.length;
  for (let i = 0; size < 10 * 1024 * 1024; i++) {
    const line = `    key${i}: [1, 2, { a: b }]\n`;
    lines.push(line);
    size += line.length;
  }
  text += lines.join('');
  writeFileSync(HUGE_POLICY, text);
  mkdirSync(join(TMP, 'zero-profile'));
  symlinkSync('/dev/zero', join(TMP, 'zero-profile', 'prefill_raw_data.json'));
  copyFileSync(join(ROOT, 'profiles/llama2-70b-h100-tp4/decode_raw_data.json'), join(TMP, 'zero-profile', 'decode_raw_data.json'));
  writeFileSync(ZERO_PROFILE_POLICY, readFileSync(join(ROOT, POLICY), 'utf8').replace('spec:\n', 'spec:\n  profile: zero-profile\n'));
  writeFileSync(OUT_FILE, 'not a folder\n');
  mkdirSync(join(OUT_JSON_DIR, 'report.json'), { recursive: true });
  execFileSync('mkfifo', [EMPTY_FIFO]);
  // Blocks until the simulate case opens the FIFO, then closes it: the reader sees an empty stream.
  fifoWriter = spawn('sh', ['-c', `: > "${EMPTY_FIFO}"`]);

  const started = Date.now();
  // Round-robin groups, one runner per core: the simulate cases (the slow ones) spread over all of them.
  const width = Math.max(2, availableParallelism());
  const groups = Array.from({ length: width }, (_, g) => CASES.filter((_c, i) => i % width === g));
  const sample = CASES.filter((c) => THROUGH_BINARY.includes(c.name));
  const [grouped, direct] = await Promise.all([
    Promise.all(groups.map(runGroup)),
    Promise.all(sample.map(async (c) => [c.name, await runNode(['bin/pd-planner.js', ...c.args], 120_000)] as [string, Outcome])),
  ]);
  inProcess = new Map(grouped.flat());
  binary = new Map(direct);
  elapsedMs = Date.now() - started;
}, 180_000);

afterAll(() => {
  if (fifoWriter && fifoWriter.exitCode === null) fifoWriter.kill();
  rmSync(TMP, { recursive: true, force: true });
  // Not an assertion (no timing assertions in tests): the figure for the report when run with --reporter verbose.
  if (elapsedMs > 0) process.stdout.write(`bad-input suite: ${CASES.length} cases in ${(elapsedMs / 1000).toFixed(1)} s\n`);
});

function check(c: Case, result: Outcome | undefined, how: string): void {
  expect(result, `${c.name}: no result`).toBeDefined();
  const r = result as Outcome;
  const shown = `${how} pd-planner ${c.args.join(' ')}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout.slice(0, 2000)}`;
  expect(r.status, shown).toBe(c.exit);
  expect(r.stderr, shown).not.toMatch(STACK_FRAME);
  expect(r.stderr, shown).not.toMatch(CRASH_WORDS);
  for (const part of c.stderr) expect(r.stderr, shown).toContain(part);
  for (const part of c.stdout ?? []) expect(r.stdout, shown).toContain(part);
  if (c.exit === 2) {
    // Bad input: nothing on stdout, and stderr is one "where: what" line per problem (commander adds its usage).
    expect(r.stdout, shown).toBe('');
    const commanderUsage = c.stderr.some((s) => s.startsWith('error:'));
    if (!commanderUsage) for (const line of r.stderr.trimEnd().split('\n')) expect(line, shown).toMatch(PROBLEM_LINE);
  } else {
    expect(r.stdout.length, shown).toBeGreaterThan(0);
  }
}

describe('bad input through the CLI', () => {
  it('has a case for every file in the corpus, and a file for every case that names one', () => {
    const files = readdirSync(join(ROOT, DIR)).filter((name) => !SUPPORT.has(name));
    const named = new Set(CASES.map((c) => c.name));
    expect(files.filter((name) => !named.has(name))).toEqual([]);
    for (const c of CASES) {
      const fixture = c.args.find((a) => a.startsWith(`${DIR}/`) && !a.includes('no-such'));
      if (fixture) expect(existsSync(join(ROOT, fixture)), fixture).toBe(true);
    }
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    check(c, inProcess.get(c.name), 'in-process');
  });

  it.each(CASES.filter((c) => THROUGH_BINARY.includes(c.name)).map((c) => [c.name, c] as const))('node bin/pd-planner.js: %s', (_name, c) => {
    check(c, binary.get(c.name), 'binary');
  });

  it('docs/bad-input.md lists every case of the table', () => {
    const doc = readFileSync(join(ROOT, 'docs/bad-input.md'), 'utf8');
    expect(CASES.filter((c) => !doc.includes(c.name)).map((c) => c.name)).toEqual([]);
  });

  it('samples through the binary are all cases of the table', () => {
    expect(THROUGH_BINARY.filter((name) => !CASES.some((c) => c.name === name))).toEqual([]);
  });

  it('the corpus files are what their names say (encodings and sizes)', () => {
    const bytes = (name: string) => readFileSync(join(ROOT, DIR, name));
    expect([...bytes('policy-utf16le-bom.yaml').subarray(0, 4)]).toEqual([0xff, 0xfe, 0x61, 0x00]); // FF FE "a"
    expect([...bytes('policy-utf16be-no-bom.yaml').subarray(0, 2)]).toEqual([0x00, 0x61]); // "a" big-endian, no BOM
    expect([...bytes('trace-binary-gzip.csv').subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(bytes('policy-latin1.yaml').includes(0xe9)).toBe(true); // Latin-1 "é"
    expect([...bytes('obs-utf8-bom.json').subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bytes('trace-truncated-last-line.csv').at(-1)).not.toBe(0x0a); // no final newline
    expect(bytes('policy-empty.yaml').length).toBe(0);
    expect(bytes('trace-cr-line-endings.csv').includes(0x0d) && !bytes('trace-cr-line-endings.csv').includes(0x0a)).toBe(true); // CR, no LF
    expect(bytes('policy-cr-line-endings.yaml').includes(0x0d) && !bytes('policy-cr-line-endings.yaml').includes(0x0a)).toBe(true);
  });
});
