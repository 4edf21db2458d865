/**
 * The planner state `decide --state FILE` reads and `--state-out FILE` writes, so a user can chain ticks
 * by hand (forecaster history, correction factors, stabilization window, last decision).
 *
 * Unlike the policy and the observation, this file is written by pd-planner itself, so fields we do not
 * know are kept (a newer version may add some) while the fields we use are type-checked.
 */
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { PlannerState } from '../planner/state.js';
import { errorMap, formatIssues, formatPath } from './issues.js';
import { protoKeyPath, protoKeyProblem } from './records.js';
import { MAX_STATE_BYTES, parseJson, readInputFile } from './read.js';

const finite = z.number();
const replicas = z.record(z.string(), z.number().int().nonnegative());

export const plannerStateSchema = z.looseObject({
  history: z.array(
    z.looseObject({ time: finite, requests: finite.optional(), isl: finite.optional(), osl: finite.optional() }),
  ),
  correction: z.looseObject({ pCf: z.number().positive(), dCf: z.number().positive() }),
  recommendations: z.array(z.looseObject({ time: finite, desired: replicas })),
  last: replicas.optional(),
  lastEviction: z.record(z.string(), finite),
});

export function parsePlannerState(data: unknown, prefix = 'state'): PlannerState {
  const proto = protoKeyPath(data);
  if (proto) throw new InputError([protoKeyProblem(formatPath(proto, prefix))]);
  const parsed = plannerStateSchema.safeParse(data, { error: errorMap });
  if (!parsed.success) throw new InputError(formatIssues(parsed.error.issues, prefix), `${prefix}: invalid planner state`);
  return parsed.data as PlannerState;
}

/** Read and check a state file; every problem names the file (`s.json:1:58: invalid JSON: ...`, `s.json: state.history[0].time: ...`). */
export function loadStateFile(path: string): PlannerState {
  const text = readInputFile(path, { maxBytes: { bytes: MAX_STATE_BYTES, what: 'a planner state is at most a few MB' } });
  if (text.trim() === '') {
    throw new InputError([`${path}: the state file is empty (was it cut short?); write a new one with --state-out, or leave --state out to start fresh`]);
  }
  return parsePlannerState(parseJson(text, path), `${path}: state`);
}
