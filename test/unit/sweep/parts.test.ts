/**
 * Sweep part files (one per index of an Indexed Job): written and read back without loss, NaN and infinities
 * included, and a file that is not a part (or belongs to another index) is refused naming the file and field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { PART_FORMAT, PART_VERSION, mergeSweepParts, parseSweepPart, partJson, writeSweepPart, type SweepPart } from '../../../src/sim/sweep-parts.js';
import { sampleReport } from '../../fixtures/sample-report.js';

const dir = mkdtempSync(join(tmpdir(), 'pd-parts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const part = (index: number, values = [0.5, 1, 2]): SweepPart => ({
  format: PART_FORMAT,
  version: PART_VERSION,
  parameter: 'rate-scale',
  values,
  index,
  value: values[index]!,
  report: sampleReport(values[index]),
});

const problems = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  return [];
};

describe('sweep part files', () => {
  it('round-trip a report exactly, with NaN and ±Infinity kept as numbers', () => {
    const p = part(1);
    const run = p.report.runs[0]!;
    run.ttftMs.p99 = NaN;
    run.itlMs.p99 = Infinity;
    run.cost = -Infinity;
    const back = parseSweepPart(partJson(p), 'x.json');
    expect(back).toEqual(p);
    expect(Number.isNaN(back.report.runs[0]!.ttftMs.p99)).toBe(true);
    expect(back.report.runs[0]!.itlMs.p99).toBe(Infinity);
    expect(back.report.runs[0]!.cost).toBe(-Infinity);
  });

  it('refuse a file that is not a part, naming the file and the field', () => {
    expect(problems(() => parseSweepPart('{"format":"other"}', 'a.json'))[0]).toMatch(/^a\.json: format: /);
    const wrongValue = JSON.parse(partJson(part(0))) as Record<string, unknown>;
    wrongValue.value = 7;
    expect(problems(() => parseSweepPart(JSON.stringify(wrongValue), 'b.json'))).toEqual(["b.json: value 7 is not the sweep's value at index 0 (0.5)"]);
    const past = { ...(JSON.parse(partJson(part(0))) as Record<string, unknown>), index: 3 };
    expect(problems(() => parseSweepPart(JSON.stringify(past), 'c.json'))).toEqual(["c.json: index 3 is outside the sweep's 3 values"]);
    expect(problems(() => parseSweepPart('{"format":', 'd.json'))[0]).toMatch(/^d\.json:1:11: invalid JSON/);
  });

  it('merge in index order whatever order the files appear in, listing the indices without a file', async () => {
    const d = join(dir, 'merge');
    await writeSweepPart(part(2), d);
    await writeSweepPart(part(0), d);
    const merged = await mergeSweepParts(d);
    expect(merged.sweep.parameter).toBe('rate-scale');
    expect(merged.sweep.values).toEqual([0.5, 1, 2]);
    expect(merged.sweep.scenarios.map((s) => s.value)).toEqual([0.5, 2]);
    expect(merged.sweep.scenarios[1]!.report).toEqual(sampleReport(2));
    expect(merged.missing).toEqual([{ index: 1, value: 1 }]);
  });

  it('refuse a file whose name and index disagree', async () => {
    const d = join(dir, 'renamed');
    await writeSweepPart(part(0), d);
    writeFileSync(join(d, 'sweep-index-1.json'), partJson(part(2)));
    const error = await mergeSweepParts(d).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems).toEqual([`${join(d, 'sweep-index-1.json')}: holds index 2; its name says 1`]);
  });
});
