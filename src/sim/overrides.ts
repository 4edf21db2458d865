/**
 * What-if knobs: the parameters `simulate` flags and `sweep` scenarios change on top of the policy file.
 * Pure: (spec, overrides) -> new spec. Each knob names the policy field it stands for.
 */
import type { PolicySpec } from '../config/schema.js';
import { formatDuration, MAX_TIMER_SECONDS, parseDuration } from '../config/duration.js';
import { MAX_BUDGET_GPUS, MAX_EVICTIONS_PER_HOUR, MAX_ITL_MS, MAX_TTFT_MS } from '../config/schema.js';
import { checkPolicy } from '../config/validate.js';
import { InputError, messageOf } from '../errors.js';

export interface WhatIf {
  /** spec.budget.maxGpus */
  gpuBudget?: number;
  /** spec.spot.maxShare */
  spotShare?: number;
  /** spec.spot.evictionRatePerHour (also drives the simulated evictions) */
  evictionRate?: number;
  /** every pool's startupSeconds (the model-cache storage what-if: NVMe ~60 s, Lustre ~120 s, Blob ~600 s) */
  startupSeconds?: number;
  /** spec.slo.ttft.ms / spec.slo.itl.ms */
  ttftMs?: number;
  itlMs?: number;
  /** arrival-rate multiplier of the trace (applied when the trace is read) */
  rateScale?: number;
}

export interface WhatIfParam {
  key: keyof WhatIf;
  parse: (text: string) => number;
  describe: string;
  /** Problems of the checked policy that this knob caused (their field), to name the knob in the message. */
  field?: RegExp;
  /** How reports name it and its unit: the sweep tables and the plot's axis ("GPU budget (GPUs)"). */
  label: string;
  unit: string;
  /** A value with its unit: 64 -> "64 GPUs", 0.6 -> "60%", 2 -> "×2". */
  show: (value: number) => string;
}

/** Speed-up and arrival-rate factors are taken within [1e-6, 1e6], as a flag or a swept value. */
export const FACTOR_RANGE = { min: 1e-6, max: 1e6 };

const plain = (n: number): string => String(Number(n.toPrecision(6)));

export const WHAT_IF_PARAMS: Record<string, WhatIfParam> = {
  'gpu-budget': { key: 'gpuBudget', parse: (t) => atMost(positiveInt(t), t, MAX_BUDGET_GPUS), describe: 'spec.budget.maxGpus (GPUs)', field: /^spec\.budget\.maxGpus\b|^spec\.schedules\[\d+\]\.minReplicas: while active/, label: 'GPU budget', unit: 'GPUs', show: (v) => `${plain(v)} GPUs` },
  'spot-share': { key: 'spotShare', parse: share, describe: 'spec.spot.maxShare (0..1)', field: /^spec\.spot\.maxShare\b/, label: 'most Spot share of a role', unit: '% of replicas', show: (v) => `${plain(v * 100)}%` },
  'eviction-rate': { key: 'evictionRate', parse: (t) => atMost(nonNegative(t), t, MAX_EVICTIONS_PER_HOUR), describe: 'Spot evictions per replica per hour', field: /^spec\.spot\.evictionRatePerHour\b/, label: 'Spot eviction rate', unit: 'evictions per replica-hour', show: (v) => `${plain(v)}/h` },
  'startup-seconds': { key: 'startupSeconds', parse: durationOrSeconds, describe: 'every pool startupSeconds (240, "90s", "4m")', field: /^spec\.pools\[\d+\]\.startupSeconds\b/, label: 'replica startup time', unit: 's', show: (v) => `${plain(v)} s` },
  'ttft-ms': { key: 'ttftMs', parse: (t) => atMost(positive(t), t, MAX_TTFT_MS, ' ms (an hour)'), describe: 'TTFT SLO (ms)', field: /^spec\.slo\.ttft\.ms\b/, label: 'TTFT SLO', unit: 'ms', show: (v) => `${plain(v)} ms` },
  'itl-ms': { key: 'itlMs', parse: (t) => atMost(positive(t), t, MAX_ITL_MS, ' ms (a minute per token)'), describe: 'ITL SLO (ms)', field: /^spec\.slo\.itl\.ms\b/, label: 'ITL SLO', unit: 'ms', show: (v) => `${plain(v)} ms` },
  'rate-scale': { key: 'rateScale', parse: (t) => atLeast(atMost(positive(t), t, FACTOR_RANGE.max), t, FACTOR_RANGE.min), describe: 'arrival-rate multiplier', label: 'arrival rate', unit: '× the trace', show: (v) => `×${plain(v)}` },
};

/**
 * The policy with the what-if knobs applied, checked by the same cross-field rules as the policy file: a knob that
 * makes it invalid is an InputError naming the knob (`--gpu-budget: 4 GPUs is below the 8 the pools' minReplicas
 * need (...)`), never a run labelled with a setting it could not honour. `label` names how the knobs were given
 * (`--param gpu-budget=4` in a sweep); by default each knob's own flag (`--gpu-budget`).
 */
export function applyWhatIfChecked(spec: PolicySpec, whatIf: WhatIf, label?: (name: string, value: number) => string): PolicySpec {
  const out = applyWhatIf(spec, whatIf);
  if (out === spec) return out;
  const given = Object.entries(WHAT_IF_PARAMS).filter(([, p]) => whatIf[p.key] !== undefined);
  const name = (flag: string, value: number) => (label ? label(flag, value) : `--${flag}`);
  const problems = checkPolicy(out).problems.map((problem) => {
    const match = given.find(([, p]) => p.field?.test(problem));
    if (match) {
      const [flag, p] = match;
      const rest = problem.slice(problem.indexOf(': ') + 2);
      return `${name(flag, whatIf[p.key] as number)}: ${rest}`;
    }
    return `${given.map(([flag, p]) => name(flag, whatIf[p.key] as number)).join(', ')}: makes the policy invalid: ${problem}`;
  });
  if (problems.length > 0) throw new InputError(problems);
  return out;
}

export function applyWhatIf(spec: PolicySpec, whatIf: WhatIf): PolicySpec {
  let out = spec;
  if (whatIf.gpuBudget !== undefined) out = { ...out, budget: { ...out.budget, maxGpus: whatIf.gpuBudget } };
  if (whatIf.spotShare !== undefined) out = { ...out, spot: { ...out.spot, maxShare: whatIf.spotShare } };
  if (whatIf.evictionRate !== undefined) out = { ...out, spot: { ...out.spot, evictionRatePerHour: whatIf.evictionRate } };
  if (whatIf.startupSeconds !== undefined) out = { ...out, pools: out.pools.map((p) => ({ ...p, startupSeconds: whatIf.startupSeconds as number })) };
  if (whatIf.ttftMs !== undefined) out = { ...out, slo: { ...out.slo, ttft: { ...out.slo.ttft, ms: whatIf.ttftMs } } };
  if (whatIf.itlMs !== undefined) out = { ...out, slo: { ...out.slo, itl: { ...out.slo.itl, ms: whatIf.itlMs } } };
  return out;
}

/** The knobs set in `whatIf`, by flag name: { gpuBudget: 64 } -> { "gpu-budget": 64 } (report.json's `overrides`). */
export function whatIfFlags(whatIf: WhatIf): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [flag, param] of Object.entries(WHAT_IF_PARAMS)) {
    const value = whatIf[param.key];
    if (value !== undefined) out[flag] = value;
  }
  return out;
}

/** Most values one sweep runs (each is a whole simulation with its baselines). */
const MAX_SWEEP_VALUES = 256;

/** Parse "gpu-budget=16,24,32" into the knob and its values; errors name the flag and what to write. */
export function parseSweepParam(text: string): { name: string; key: keyof WhatIf; values: number[] } {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  const param = Object.hasOwn(WHAT_IF_PARAMS, name) ? WHAT_IF_PARAMS[name] : undefined;
  if (!param) {
    throw new InputError([`--param: unknown parameter "${name}" (choose from ${Object.keys(WHAT_IF_PARAMS).join(', ')})`]);
  }
  const raw = eq < 0 ? '' : text.slice(eq + 1);
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0) throw new InputError([`--param ${name}: give values, e.g. --param ${name}=1,2,3`]);
  if (parts.length > MAX_SWEEP_VALUES) {
    throw new InputError([`--param ${name}: ${parts.length} values; a sweep runs at most ${MAX_SWEEP_VALUES} scenarios (each is a full simulation): pick fewer values`]);
  }
  const values = parts.map((part) => {
    try {
      return param.parse(part);
    } catch (error) {
      throw new InputError([`--param ${name}: ${messageOf(error)}`]);
    }
  });
  // A value twice is the same scenario simulated twice and shown twice: a typo ("16,16" for "16,61"), said as one.
  const twice = values.findIndex((v, i) => values.indexOf(v) !== i);
  if (twice >= 0) {
    const first = values.indexOf(values[twice] as number);
    const what = parts[twice] === parts[first] ? `"${parts[twice]}" is given twice` : `"${parts[twice]}" is the same value as "${parts[first]}" (${param.show(values[twice] as number)})`;
    throw new InputError([`--param ${name}: ${what}; give each value once`]);
  }
  return { name, key: param.key, values };
}

/** Decimal numbers only: "0x10" is not 16 here, "" is not 0. */
function decimal(text: string): number {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
}
function positive(text: string): number {
  const value = decimal(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`"${text}" is not a positive number`);
  return value;
}
function nonNegative(text: string): number {
  const value = decimal(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`"${text}" is not a number >= 0`);
  return value;
}
function positiveInt(text: string): number {
  const value = positive(text);
  if (!Number.isInteger(value)) throw new Error(`"${text}" is not a whole number`);
  return value;
}
function share(text: string): number {
  const value = nonNegative(text);
  if (value > 1) throw new Error(`"${text}" is not a share between 0 and 1`);
  return value;
}
/** Seconds as a number ("240", "1e3", as the other knobs take numbers) or a duration ("90s", "4m"). */
function durationOrSeconds(text: string): number {
  const trimmed = text.trim();
  const number = decimal(trimmed);
  const seconds = Number.isFinite(number) && number >= 0 ? number : parseDuration(trimmed);
  if (seconds === undefined) throw new Error(`"${text}" is not a number of seconds or a duration such as "90s" or "4m"`);
  return atMost(seconds, text, MAX_TIMER_SECONDS, ` (${formatDuration(MAX_TIMER_SECONDS)})`);
}
function atLeast(value: number, text: string, min: number): number {
  if (!(value >= min)) throw new Error(`"${text}" is less than ${min}, the least allowed`);
  return value;
}
function atMost(value: number, text: string, max: number, unit = ''): number {
  if (!(value <= max)) throw new Error(`"${text}" is more than ${max}${unit}, the most allowed`);
  return value;
}
