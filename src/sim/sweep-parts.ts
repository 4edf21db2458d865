/**
 * Sweeps split across machines (a Kubernetes Indexed Job, one pod per value of the swept parameter). Each index
 * writes one part file, `sweep-index-<i>.json`: the sweep's parameter and values, its own index and value, and its
 * scenario's full SimReport. `mergeSweepParts` reads a folder of them back into the SweepReport that a local sweep
 * builds, so the usual sweep report (sweep.json/md/html) comes out of the same writer.
 *
 * A part file is data, not a user-facing report: numbers keep full precision, and the non-finite ones JSON has no
 * syntax for (NaN, ±Infinity) are written as {"$number": "NaN"} and read back as numbers.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseJson, readInputFile } from '../config/read.js';
import { InputError } from '../errors.js';
import { mkdirOrExplain } from './report/write.js';
import type { SweepReport } from './report/types.js';
import type { SimReport } from './types.js';

export const PART_FORMAT = 'pd-planner/sweep-index';
export const PART_VERSION = 1;
/** A part is one scenario's report: about 0.12 MB per hour of trace with 1-minute intervals and five runs (~20 MB a week). */
const MAX_PART_BYTES = 256 * 1024 * 1024;
/** Kubernetes' own limit on an Indexed Job's completions. */
export const MAX_SWEEP_INDICES = 100_000;

export interface SweepPart {
  format: typeof PART_FORMAT;
  version: typeof PART_VERSION;
  /** The swept parameter as the user named it, e.g. "gpu-budget". */
  parameter: string;
  /** Every value of the sweep, in the order given: index i ran values[i]. */
  values: (number | string)[];
  index: number;
  value: number | string;
  report: SimReport;
}

/** "sweep-index-3.json". */
function partFileName(index: number): string {
  return `sweep-index-${index}.json`;
}

const PART_FILE = /^sweep-index-(\d+)\.json$/;

function encodeNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? { $number: String(value) } : value;
}

function decodeNumbers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeNumbers);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === '$number' && ['NaN', 'Infinity', '-Infinity'].includes(String(obj.$number))) return Number(obj.$number);
    return Object.fromEntries(keys.map((k) => [k, decodeNumbers(obj[k])]));
  }
  return value;
}

export function partJson(part: SweepPart): string {
  return `${JSON.stringify(part, encodeNumbers)}\n`;
}

/** Write `dir/sweep-index-<i>.json` (dir created when missing); returns its path. */
export async function writeSweepPart(part: SweepPart, dir: string): Promise<string> {
  const path = join(dir, partFileName(part.index));
  await mkdirOrExplain(dir);
  try {
    await writeFile(path, partJson(part), 'utf8');
  } catch (err) {
    throw new Error(`cannot write the sweep part ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}

const value = z.union([z.number(), z.string()]);
/** The report is checked where the merge and the report writer rely on it; the rest is carried as is. */
const reportShape = z.looseObject({
  generatedAt: z.string(),
  policyName: z.string(),
  trace: z.looseObject({ name: z.string(), format: z.string() }),
  slo: z.looseObject({ ttft: z.looseObject({ percentile: z.number(), ms: z.number() }), itl: z.looseObject({ percentile: z.number(), ms: z.number() }) }),
  runs: z.array(z.looseObject({ policy: z.string(), kind: z.string(), intervals: z.array(z.unknown()) })),
  sim: z.looseObject({ seed: z.number() }),
});
const partShape = z.object({
  format: z.literal(PART_FORMAT),
  version: z.literal(PART_VERSION),
  parameter: z.string().min(1),
  values: z.array(value).min(1).max(MAX_SWEEP_INDICES),
  index: z.number().int().min(0),
  value,
  report: reportShape,
});

/** Parse and check one part file's text; every problem names the file and the field. */
export function parseSweepPart(text: string, file: string): SweepPart {
  const result = partShape.safeParse(decodeNumbers(parseJson(text, file)));
  if (!result.success) {
    const problems = result.error.issues.slice(0, 20).map((i) => `${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new InputError([...problems, `${file}: not a sweep part file written by \`pd-planner sweep --job-index\` (format ${PART_FORMAT} version ${PART_VERSION})`]);
  }
  const part = result.data as unknown as SweepPart;
  if (part.index >= part.values.length) throw new InputError([`${file}: index ${part.index} is outside the sweep's ${part.values.length} values`]);
  if (String(part.values[part.index]) !== String(part.value)) {
    throw new InputError([`${file}: value ${part.value} is not the sweep's value at index ${part.index} (${part.values[part.index]})`]);
  }
  return part;
}

export interface MergedSweep {
  sweep: SweepReport;
  /** Indices with no part file (their pod failed, or has not finished): the report shows them as "no result". */
  missing: { index: number; value: number | string }[];
  files: string[];
}

/**
 * Read every `sweep-index-<i>.json` in `dir` into one SweepReport. InputError (exit 2) when there is none, when the
 * parts come from different sweeps (parameter or values differ), or when a file is not a part.
 */
export async function mergeSweepParts(dir: string): Promise<MergedSweep> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError([`--merge ${dir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'is not a folder' : (error as Error).message}`]);
  }
  const files = names.filter((n) => PART_FILE.test(n)).sort((a, b) => Number(PART_FILE.exec(a)![1]) - Number(PART_FILE.exec(b)![1]));
  if (files.length === 0) {
    throw new InputError([`--merge ${dir}: no sweep-index-<i>.json in it; each index of the Job writes one (\`pd-planner sweep ... --job-index\`) into its --out folder`]);
  }
  if (files.length > MAX_SWEEP_INDICES) throw new InputError([`--merge ${dir}: ${files.length} part files, more than a sweep can have (${MAX_SWEEP_INDICES})`]);
  const parts: SweepPart[] = [];
  const problems: string[] = [];
  for (const name of files) {
    const path = join(dir, name);
    const text = readInputFile(path, { maxBytes: { bytes: MAX_PART_BYTES, what: "a sweep part holds one scenario's report" } });
    const part = parseSweepPart(text, path);
    if (Number(PART_FILE.exec(name)![1]) !== part.index) problems.push(`${path}: holds index ${part.index}; its name says ${PART_FILE.exec(name)![1]}`);
    const first = parts[0];
    if (first && (first.parameter !== part.parameter || JSON.stringify(first.values) !== JSON.stringify(part.values))) {
      problems.push(`${path}: is from another sweep (${part.parameter} = ${part.values.join(',')}; ${join(dir, files[0]!)} has ${first.parameter} = ${first.values.join(',')}); merge one sweep's parts per folder`);
    }
    parts.push(part);
  }
  if (problems.length > 0) throw new InputError(problems);
  const { parameter, values } = parts[0]!;
  const byIndex = new Map(parts.map((p) => [p.index, p]));
  const missing = values.flatMap((v, index) => (byIndex.has(index) ? [] : [{ index, value: v }]));
  return {
    sweep: { parameter, values, scenarios: parts.map((p) => ({ value: p.value, report: p.report })) },
    missing,
    files: files.map((f) => join(dir, f)),
  };
}
