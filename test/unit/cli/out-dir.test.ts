/**
 * The refusal of an --out folder that holds a report names when that report was written: report.json's
 * `generatedAt`, its last key, after the per-interval series that make a real report hundreds of KB.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutDir, REPORT_FILES } from '../../../src/cli/out-dir.js';
import { InputError } from '../../../src/errors.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A folder holding a report.json of about `kb` KB whose last key is generatedAt, as simulate writes it. */
function folderWithReport(kb: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'pd-out-dir-'));
  dirs.push(dir);
  const intervals = Array.from({ length: Math.ceil((kb * 1024) / 100) }, (_, i) => ({ t: 60 * (i + 1), requests: 120, gpus: 16, costPerHour: 111.68 }));
  const report = { schemaVersion: 4, runs: [{ policy: 'policy', intervals }], generatedAt: '2026-12-07T19:13:57.109Z' };
  writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2));
  return dir;
}

function refusal(dir: string): string {
  try {
    checkOutDir(dir, REPORT_FILES, false);
  } catch (error) {
    if (error instanceof InputError) return error.problems.join('\n');
    throw error;
  }
  return 'not refused';
}

describe('checkOutDir', () => {
  it('names the generatedAt of a small report', () => {
    expect(refusal(folderWithReport(2))).toMatch(/already holds a report \(report\.json, generated 2026-12-07T19:13:57\.109Z\); pass --force/);
  });

  it('names the generatedAt of a report of hundreds of KB, where it comes after the intervals', () => {
    expect(refusal(folderWithReport(400))).toMatch(/already holds a report \(report\.json, generated 2026-12-07T19:13:57\.109Z\); pass --force/);
  });

  it('with --force, says what it replaces', () => {
    expect(checkOutDir(folderWithReport(400), REPORT_FILES, true)).toMatch(/report\.json, generated 2026-12-07T19:13:57\.109Z/);
  });
});
