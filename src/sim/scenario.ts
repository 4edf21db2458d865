/**
 * One what-if scenario, self-contained so a worker thread can run it from plain data:
 * load the policy (file or embedded default), apply the what-if knobs, load profile and trace, simulate, report.
 * `pd-planner simulate` runs one; a sweep runs one per value (in worker threads, or one per Job index).
 */
import path from 'node:path';
import { loadPolicyFile, parsePolicyText, type LoadedPolicy } from '../config/load.js';
import type { PolicySpec } from '../config/schema.js';
import { loadProfile } from '../profiles/load.js';
import { readTrace, defaultTracePath, isSyntheticSpec } from './traces/index.js';
import { isScenarioSpec } from './scenarios/index.js';
import { buildReport, simulate } from './run.js';
import { applyWhatIfChecked, type WhatIf } from './overrides.js';
import { DEFAULT_POLICY_YAML } from './default-policy.js';
import type { Baseline } from './baselines.js';
import { checkCurrent } from './current.js';
import type { SimReport, Trace } from './types.js';
import type { PerformanceProfile } from '../profiles/types.js';

export interface Scenario {
  policyPath?: string;
  tracePath?: string;
  traceFormat: 'azure' | 'burstgpt' | 'mooncake' | 'auto';
  whatIf: WhatIf;
  rateScale: number;
  speedup: number;
  seed: number;
  baselines: Baseline[];
  /** --current: today's replicas per pool, for the `current` baseline. */
  current?: Record<string, number>;
}

/** Progress and notices of a scenario run, for the CLI (a worker thread passes none). */
export interface ScenarioHooks {
  /** A warning the user should see (policy warnings, trace lines skipped, sorting): the run goes on. */
  onWarning?: (warning: string) => void;
  /** Share of the trace read, 0..1. */
  onTraceProgress?: (share: number) => void;
  /** Runs known once the policy is read; then (runIndex, intervalsDone, intervalsTotal) as each run goes. */
  onRuns?: (runs: number) => void;
  onRunProgress?: (run: number, done: number, total: number) => void;
}

export function loadScenarioPolicy(policyPath: string | undefined): LoadedPolicy {
  return policyPath ? loadPolicyFile(policyPath) : parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
}

/** A path as the report shows it: relative to the working directory when under it ("traces/x.csv"), else absolute. */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

/**
 * The scenario's policy with its what-if knobs, checked with --current: every mistake in them is an InputError
 * (exit 2) here, before a trace is read or a file is written.
 */
export function checkScenario(scenario: Scenario): { loaded: LoadedPolicy; spec: PolicySpec } {
  const loaded = loadScenarioPolicy(scenario.policyPath);
  const spec = applyWhatIfChecked(loaded.spec, scenario.whatIf);
  if (scenario.current) checkCurrent(spec, scenario.current);
  return { loaded, spec };
}

/** A scenario's policy (what-if knobs applied), profile and trace, read and checked: what every run of it needs. */
export interface ScenarioInputs {
  loaded: LoadedPolicy;
  spec: PolicySpec;
  profile: PerformanceProfile;
  trace: Trace;
  rateScale: number;
  /** The trace as the report names it: a generator spec as given, a file relative to the working directory. */
  traceSource: string;
}

/** Read the scenario's policy, profile and trace; the policy's and the trace's warnings go to hooks.onWarning. */
export async function loadScenarioInputs(scenario: Scenario, hooks: ScenarioHooks = {}): Promise<ScenarioInputs> {
  const { loaded, spec } = checkScenario(scenario);
  const profile = loadProfile(spec.profile, loaded.baseDir);
  for (const warning of loaded.warnings) hooks.onWarning?.(warning);
  const { trace, rateScale, traceSource } = await readScenarioTrace(scenario, scenario.tracePath, hooks);
  return { loaded, spec, profile, trace, rateScale, traceSource };
}

/**
 * One trace as the scenario reads it (its format, rate scale, speedup and seed): `given` is a file or a generator
 * spec, the bundled default when undefined. Its warnings (skipped lines, sorting) go to hooks.onWarning.
 */
export async function readScenarioTrace(scenario: Scenario, given: string | undefined, hooks: ScenarioHooks = {}): Promise<{ trace: Trace; rateScale: number; traceSource: string }> {
  const rateScale = scenario.whatIf.rateScale ?? scenario.rateScale;
  // A generated trace (synthetic:..., scenario:...) is a spec, not a path.
  const generated = given !== undefined && (isSyntheticSpec(given) || isScenarioSpec(given));
  // As given: the reader's messages then name the file as the user wrote it (the working directory is the same).
  const tracePath = given ?? defaultTracePath();
  const trace = await readTrace(tracePath, {
    format: scenario.traceFormat,
    rateScale,
    speedup: scenario.speedup,
    seed: scenario.seed,
    onProgress: hooks.onTraceProgress ? (done, total) => hooks.onTraceProgress?.(total > 0 ? done / total : 0) : undefined,
  });
  // Skipped lines, sorting and exclusions: the run goes on, but the user hears about it (file:line: reason).
  for (const warning of trace.warnings ?? []) hooks.onWarning?.(warning);
  return { trace, rateScale, traceSource: generated ? given : shownPath(path.resolve(tracePath)) };
}

export async function runScenario(scenario: Scenario, hooks: ScenarioHooks = {}): Promise<SimReport> {
  const { loaded, spec, profile, trace, rateScale, traceSource } = await loadScenarioInputs(scenario, hooks);
  hooks.onRuns?.(1 + (scenario.current ? 1 : 0) + scenario.baselines.length);
  const result = await simulate({
    spec,
    profile,
    trace,
    baselines: scenario.baselines,
    seed: scenario.seed,
    current: scenario.current,
    onProgress: hooks.onRunProgress,
  });
  return buildReport({
    policyName: loaded.file.metadata.name,
    spec: profileResolved(spec, loaded.baseDir),
    trace,
    rateScale,
    seed: scenario.seed,
    result,
    generatedAt: new Date().toISOString(),
    inputs: {
      metadata: loaded.file.metadata,
      traceSource,
      speedup: scenario.speedup,
      baselines: scenario.baselines,
      whatIf: scenario.whatIf,
      current: scenario.current,
    },
  });
}

/** A profile folder named relative to the policy file, made absolute: the report's policy then loads from anywhere. */
function profileResolved<T extends { profile: string }>(spec: T, baseDir: string): T {
  if (spec.profile.startsWith('builtin:') || path.isAbsolute(spec.profile)) return spec;
  return { ...spec, profile: path.resolve(baseDir, spec.profile) };
}
