/** Shared parsing of numeric CLI flags and the what-if flags of simulate and sweep. */
import type { Command } from 'commander';
import { InputError, messageOf } from '../errors.js';
import { parseBaselines, type Baseline } from '../sim/baselines.js';
import { WHAT_IF_PARAMS, type WhatIf } from '../sim/overrides.js';
import { isScenarioSpec } from '../sim/scenarios/index.js';
import { isSyntheticSpec } from '../sim/traces/index.js';
import { DECIMAL } from '../sim/traces/fields.js';

/** Most a --seed may be (the generator's state is 32 bits). */
export { MAX_SEED } from '../sim/random.js';
/** --speedup and --rate-scale factors are taken within [1e-6, 1e6] (the request and interval caps bound them further). */
export { FACTOR_RANGE } from '../sim/overrides.js';

export function numberOption(flag: string, text: string, rules: { integer?: boolean; min?: number; max?: number } = {}): number {
  const value = DECIMAL.test(text.trim()) ? Number(text) : Number.NaN;
  const bad =
    !Number.isFinite(value) ||
    (rules.integer && !Number.isInteger(value)) ||
    (rules.min !== undefined && value < rules.min) ||
    (rules.max !== undefined && value > rules.max);
  if (bad) {
    const want = rules.integer ? 'a whole number' : 'a number';
    const range =
      rules.min !== undefined && rules.max !== undefined
        ? ` from ${rules.min} to ${rules.max}`
        : rules.min !== undefined
          ? ` >= ${rules.min}`
          : rules.max !== undefined
            ? ` <= ${rules.max}`
            : '';
    throw new InputError([`${flag}: "${text}" is not ${want}${range}`]);
  }
  return value;
}

/** The trace formats `--trace-format` takes. */
export const TRACE_FORMATS = ['azure', 'burstgpt', 'mooncake', 'auto'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

/**
 * --trace-format: one of TRACE_FORMATS, else an input error naming the flag (exit 2). `traces`: the --trace values
 * (undefined: the bundled trace file); a format given when every one is generated (synthetic:, scenario:) would be
 * dropped silently, so it is refused. Example: --trace-format azure --trace synthetic:poisson?... -> exit 2.
 */
export function traceFormatOption(text: unknown, traces?: readonly (string | undefined)[]): TraceFormat {
  const format = String(text);
  if (!(TRACE_FORMATS as readonly string[]).includes(format)) throw new InputError([`--trace-format: "${format}" is not one of ${TRACE_FORMATS.join(', ')}`]);
  const generated = (trace: string | undefined) => trace !== undefined && (isSyntheticSpec(trace) || isScenarioSpec(trace));
  if (format !== 'auto' && traces !== undefined && traces.length > 0 && traces.every(generated)) {
    throw new InputError([`--trace-format: ${format} is for trace files, and ${traces.length === 1 ? `${traces[0]} is` : 'every --trace is'} generated (synthetic: or scenario:); leave --trace-format out`]);
  }
  return format as TraceFormat;
}

/** --baselines "static,hpa": the baselines named; an unknown name is an input error (exit 2) with parseBaselines' message. */
export function baselinesOption(text: string): Baseline[] {
  try {
    return parseBaselines(text);
  } catch (error) {
    throw new InputError([messageOf(error)]);
  }
}

/** Adds --gpu-budget, --spot-share, --eviction-rate, --startup-seconds, --ttft-ms, --itl-ms. */
export function addWhatIfFlags(command: Command): void {
  for (const [name, param] of Object.entries(WHAT_IF_PARAMS)) {
    if (name === 'rate-scale') continue; // simulate has its own --rate-scale
    command.option(`--${name} <value>`, `what-if: override ${param.describe}`);
  }
}

export function whatIfOptions(flags: Record<string, unknown>): WhatIf {
  const whatIf: WhatIf = {};
  for (const [name, param] of Object.entries(WHAT_IF_PARAMS)) {
    if (name === 'rate-scale') continue;
    const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const raw = flags[camel];
    if (raw === undefined) continue;
    try {
      whatIf[param.key] = param.parse(String(raw));
    } catch (error) {
      throw new InputError([`--${name}: ${messageOf(error)}`]);
    }
  }
  return whatIf;
}
