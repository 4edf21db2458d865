/**
 * What-if knobs: the parameters `simulate` flags and `sweep` scenarios change on top of the policy file.
 * Pure: (spec, overrides) -> new spec. Each knob names the policy field it stands for.
 */
import type { PolicySpec } from '../config/schema.js';
import { parseDuration } from '../config/duration.js';
import { InputError } from '../errors.js';

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

export const WHAT_IF_PARAMS: Record<string, { key: keyof WhatIf; parse: (text: string) => number; describe: string }> = {
  'gpu-budget': { key: 'gpuBudget', parse: positiveInt, describe: 'spec.budget.maxGpus (GPUs)' },
  'spot-share': { key: 'spotShare', parse: share, describe: 'spec.spot.maxShare (0..1)' },
  'eviction-rate': { key: 'evictionRate', parse: nonNegative, describe: 'Spot evictions per replica per hour' },
  'startup-seconds': { key: 'startupSeconds', parse: durationOrSeconds, describe: 'every pool startupSeconds ("90s", "4m")' },
  'ttft-ms': { key: 'ttftMs', parse: positive, describe: 'TTFT SLO (ms)' },
  'itl-ms': { key: 'itlMs', parse: positive, describe: 'ITL SLO (ms)' },
  'rate-scale': { key: 'rateScale', parse: positive, describe: 'arrival-rate multiplier' },
};

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
  const values = parts.map((part) => {
    try {
      return param.parse(part);
    } catch (error) {
      throw new InputError([`--param ${name}: ${(error as Error).message}`]);
    }
  });
  return { name, key: param.key, values };
}

function positive(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`"${text}" is not a positive number`);
  return value;
}
function nonNegative(text: string): number {
  const value = Number(text);
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
function durationOrSeconds(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) throw new Error(`"${text}" is not a duration such as "90s" or "4m"`);
  return seconds;
}
