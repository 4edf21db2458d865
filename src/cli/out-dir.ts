/**
 * An earlier report is never replaced without being asked: `simulate` and `sweep` refuse (exit 2) an --out folder
 * that already holds a report unless --force is given, and say so when --force replaces one. Checked before any
 * simulation runs, so the refusal costs nothing.
 */
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** The files of a simulate report and of a sweep report. */
export const REPORT_FILES = ['report.json', 'report.md', 'report.html'] as const;
export const SWEEP_FILES = ['sweep.json', 'sweep.md', 'sweep.html'] as const;

/** "generated 2026-12-07T03:39:34Z" from the first KB of a report.json, or "" when it cannot be read. */
function generatedAt(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(64 * 1024);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8');
    const match = /"generatedAt"\s*:\s*"([^"]{1,64})"/.exec(text);
    return match ? `, generated ${match[1]}` : '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Checks that `dir` may receive the report files `files`. Throws an InputError (exit 2) when one is there already and
 * `force` is false; returns the note to print when `force` replaces them, undefined when nothing is replaced.
 * Example: out/report holds report.json -> "--out out/report: already holds a report (report.json, report.md,
 * generated 2026-12-07T03:39:34Z); pass --force to replace it, or choose another --out folder".
 */
export function checkOutDir(dir: string, files: readonly string[], force: boolean): string | undefined {
  const present = files.filter((f) => existsSync(path.join(dir, f)));
  if (present.length === 0) return undefined;
  const shown = path.relative(process.cwd(), dir) || '.';
  const json = present.find((f) => f.endsWith('.json'));
  const what = `${present.join(', ')}${json ? generatedAt(path.join(dir, json)) : ''}`;
  if (!force) {
    throw new InputError([`--out ${shown}: already holds a report (${what}); pass --force to replace it, or choose another --out folder`]);
  }
  return `replacing the report in ${shown} (${what}) as --force asks`;
}
