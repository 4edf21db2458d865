/**
 * One what-if scenario, self-contained so a worker thread can run it from plain data:
 * load the policy (file or embedded default), apply the what-if knobs, load profile and trace, simulate, report.
 */
import path from 'node:path';
import { loadPolicyFile, parsePolicyText } from '../config/load.js';
import { loadProfile } from '../profiles/load.js';
import { readTrace, defaultTracePath, isSyntheticSpec } from './traces/index.js';
import { isScenarioSpec } from './scenarios/index.js';
import { buildReport, simulate } from './run.js';
import { applyWhatIfChecked, type WhatIf } from './overrides.js';
import { DEFAULT_POLICY_YAML } from './default-policy.js';
import type { Baseline } from './baselines.js';
import type { SimReport } from './types.js';

export interface Scenario {
  policyPath?: string;
  tracePath?: string;
  traceFormat: 'azure' | 'burstgpt' | 'mooncake' | 'auto';
  whatIf: WhatIf;
  rateScale: number;
  speedup: number;
  seed: number;
  baselines: Baseline[];
}

export async function runScenario(scenario: Scenario): Promise<SimReport> {
  const loaded = scenario.policyPath
    ? loadPolicyFile(scenario.policyPath)
    : parsePolicyText(DEFAULT_POLICY_YAML, '<embedded default policy>', process.cwd());
  const spec = applyWhatIfChecked(loaded.spec, scenario.whatIf);
  const profile = loadProfile(spec.profile, loaded.baseDir);
  const rateScale = scenario.whatIf.rateScale ?? scenario.rateScale;
  // A generated trace (synthetic:..., scenario:...) is a spec, not a path.
  const given = scenario.tracePath;
  const tracePath = given === undefined ? defaultTracePath() : isSyntheticSpec(given) || isScenarioSpec(given) ? given : path.resolve(given);
  const trace = await readTrace(tracePath, { format: scenario.traceFormat, rateScale, speedup: scenario.speedup, seed: scenario.seed });
  const result = await simulate({ spec, profile, trace, baselines: scenario.baselines, seed: scenario.seed });
  return buildReport({ policyName: loaded.file.metadata.name, spec, trace, rateScale, seed: scenario.seed, result, generatedAt: new Date().toISOString() });
}
