/** A small valid policy as data, and helpers to break it one field at a time. */
import { stringify } from 'yaml';
import { InputError } from '../../../src/errors.js';
import { parsePolicyText, type LoadedPolicy } from '../../../src/config/load.js';

/** Loosely typed policy data: tests break fields on purpose, so the schema's types would get in the way. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Data = Record<string, any>;

export function basePolicy(): Data {
  return {
    apiVersion: 'pd-planner/v1',
    kind: 'PlannerPolicy',
    metadata: { name: 'test' },
    spec: {
      interval: '60s',
      slo: { ttft: { percentile: 95, ms: 800 }, itl: { percentile: 95, ms: 60 } },
      budget: { maxGpus: 64 },
      pools: [
        { name: 'prefill-od', role: 'prefill', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 8 },
        { name: 'decode-spot', role: 'decode', capacity: 'spot', gpusPerReplica: 4, minReplicas: 0, maxReplicas: 12 },
        { name: 'decode-od', role: 'decode', gpusPerReplica: 4, minReplicas: 1, maxReplicas: 4 },
      ],
    },
  };
}

/** Parse a policy given as data (or YAML text); `checkProfile` off unless asked, so tests stay fast. */
export function load(policy: Data | string, checkProfile = false): LoadedPolicy {
  const text = typeof policy === 'string' ? policy : stringify(policy);
  return parsePolicyText(text, 'policy.yaml', '/nonexistent', { checkProfile });
}

/** The problem lines a policy produces ([] when it is valid). */
export function problems(policy: Data | string, checkProfile = false): string[] {
  try {
    load(policy, checkProfile);
    return [];
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
}

/** basePolicy() with `edit` applied to a copy of its spec. */
export function withSpec(edit: (spec: Data) => void): Data {
  const policy = basePolicy();
  edit(policy.spec);
  return policy;
}
