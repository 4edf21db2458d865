/**
 * The planner state `decide --state FILE` reads and `--state-out FILE` writes, so a user can chain ticks
 * by hand (forecaster history, correction factors, stabilization window, last decision and the replica sizes it was
 * decided in).
 *
 * Unlike the policy and the observation, this file is written by pd-planner itself, so fields we do not
 * know are kept (a newer version may add some) while the fields we use are type-checked.
 */
import { accessSync, closeSync, constants, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.js';
import type { PlannerState } from '../planner/state.js';
import { MAX_GPUS_PER_REPLICA } from './schema.js';
import { STARTUP_WINDOW } from '../planner/startup.js';
import { errorMap, formatIssues, formatPath } from './issues.js';
import { protoKeyPath, protoKeyProblem } from './records.js';
import { MAX_STATE_BYTES, parseJson, readInputFile } from './read.js';

const finite = z.number();
const replicas = z.record(z.string(), z.number().int().nonnegative());
/** GPUs per replica, checked as a policy's gpusPerReplica is. */
const gpusPerReplica = z.number().int().positive().max(MAX_GPUS_PER_REPLICA);

/** sla's SLO loop for one role (planner/state.ts RoleSloState): counts and seconds are never negative. */
const roleSlo = z.looseObject({ headroom: z.number().positive(), missed: z.number().nonnegative(), served: z.number().nonnegative(), seconds: z.number().nonnegative().optional() });

const plannerStateSchema = z.looseObject({
  history: z.array(
    z.looseObject({ time: finite, requests: finite.optional(), isl: finite.optional(), osl: finite.optional() }),
  ),
  correction: z.looseObject({
    pCf: z.number().positive(),
    dCf: z.number().positive(),
    burst: z.number().nonnegative().optional(),
    burstFloor: z.number().nonnegative().optional(),
    crowdHold: z.looseObject({ requests: z.number().nonnegative(), seconds: z.number().nonnegative() }).optional(),
    slo: z.looseObject({ prefill: roleSlo, decode: roleSlo }).optional(),
  }),
  recommendations: z.array(z.looseObject({ time: finite, desired: replicas, held: replicas.optional() })),
  last: replicas.optional(),
  /** GPUs per replica of each pool when `last` and `recommendations` were decided (planner/state.ts); absent: as now. */
  replicaGpus: z.record(z.string(), gpusPerReplica).optional(),
  lastEviction: z.record(z.string(), finite),
  readiness: z.record(z.string(), z.looseObject({ becomingReadySince: finite.optional(), graphNotReadySince: finite.optional() })).optional(),
  /** Per pool the newest STARTUP_WINDOW startup times pd-planner keeps (planner/startup.ts): durations in seconds. */
  startup: z.record(z.string(), z.array(z.number().positive()).max(STARTUP_WINDOW, `at most ${STARTUP_WINDOW} startup times per pool (the newest ones the planner keeps)`)).optional(),
  idleSince: finite.optional(),
  pauseRunning: z.looseObject({ prefill: z.number().nonnegative(), decode: z.number().nonnegative() }).optional(),
  /** The GPUs of a role's unit (its first pool's gpusPerReplica, 1 without pools): whole, as in a policy. */
  pauseUnitGpus: z.looseObject({ prefill: gpusPerReplica, decode: gpusPerReplica }).optional(),
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

/**
 * Check, before anything is decided or printed, that `path` can take the state: its directory exists and is
 * writable, and `path` itself is not a directory. Throws InputError naming the flag and the file.
 */
export function checkStateOut(path: string, flag = '--state-out'): void {
  const dir = dirname(path);
  let info;
  try {
    info = statSync(dir);
  } catch {
    throw new InputError([`${flag}: the directory ${dir} (of ${path}) does not exist; create it first (mkdir -p ${dir})`]);
  }
  if (!info.isDirectory()) throw new InputError([`${flag}: ${dir} (the directory of ${path}) is not a directory`]);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new InputError([`${flag}: the directory ${dir} (of ${path}) is not writable`]);
  }
  let target;
  try {
    target = statSync(path);
  } catch {
    return; // Not there yet: fine, it will be created.
  }
  if (target.isDirectory()) throw new InputError([`${flag}: ${path} is a directory; name a file`]);
  // The rename that makes the write atomic would replace the node itself: as root, --state-out /dev/null would
  // leave a regular file where the null device was.
  if (!target.isFile()) {
    throw new InputError([
      `${flag}: ${path} is ${nodeKind(target)}, not a regular file; the state is written to a temporary file and renamed over it, which would replace it: name a regular file`,
    ]);
  }
}

/** "a FIFO", "a character device", ... for a stat that is neither a regular file nor a directory. */
function nodeKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}

/**
 * Write the state atomically: a temporary file in the same directory, flushed to disk (fsync), then renamed over
 * `path`. A crash or SIGKILL at any moment leaves either the old file or the new one, never a truncated one.
 */
export function writeStateFile(path: string, state: PlannerState): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  const text = `${JSON.stringify(state, null, 2)}\n`;
  let fd: number | undefined;
  try {
    fd = openSync(temp, 'wx', 0o644);
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // The temporary file was never created, or is gone already.
    }
    throw new InputError([`--state-out: cannot write the state to ${path}: ${(error as Error).message}`]);
  }
}
