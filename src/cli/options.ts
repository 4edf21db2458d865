/** Shared parsing of numeric CLI flags and the what-if flags of simulate and sweep. */
import type { Command } from 'commander';
import { InputError, messageOf } from '../errors.js';
import { parseBaselines, type Baseline } from '../sim/baselines.js';
import { WHAT_IF_PARAMS, type WhatIf } from '../sim/overrides.js';

export function numberOption(flag: string, text: string, rules: { integer?: boolean; min?: number } = {}): number {
  const value = Number(text);
  const bad = !Number.isFinite(value) || (rules.integer && !Number.isInteger(value)) || (rules.min !== undefined && value < rules.min);
  if (bad) {
    const want = rules.integer ? 'a whole number' : 'a number';
    throw new InputError([`${flag}: "${text}" is not ${want}${rules.min !== undefined ? ` >= ${rules.min}` : ''}`]);
  }
  return value;
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
