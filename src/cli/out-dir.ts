/**
 * An earlier report is never replaced without being asked: `simulate` and `sweep` refuse (exit 2) an --out folder
 * that already holds a report unless --force is given, and say so when --force replaces one. Checked before any
 * simulation runs, so the refusal costs nothing.
 */
import { accessSync, closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';

/** The files of a simulate report and of a sweep report. */
export const REPORT_FILES = ['report.json', 'report.md', 'report.html'] as const;
export const SWEEP_FILES = ['sweep.json', 'sweep.md', 'sweep.html'] as const;

/** Bytes read from the end of a report.json to find its generatedAt. */
const TAIL_BYTES = 64 * 1024;

/**
 * "generated 2026-12-07T03:39:34Z" from a report.json, or "" when it cannot be read. `generatedAt` is the file's last
 * key, after the per-interval series (a report of an hour at 60 s intervals is a few hundred KB), so only the last
 * 64 KB are read, whatever the file's size.
 */
function generatedAt(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(TAIL_BYTES);
    const start = Math.max(0, fstatSync(fd).size - TAIL_BYTES);
    const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, start)).toString('utf8');
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
  checkFolder(dir);
  const present = files.filter((f) => existsSync(path.join(dir, f)));
  for (const file of present) {
    if (statSync(path.join(dir, file)).isDirectory()) {
      throw new InputError([`--out: ${shownPath(path.join(dir, file))} is a folder, not a report file; remove it or choose another --out folder`]);
    }
  }
  if (present.length === 0) return undefined;
  const shown = shownPath(dir);
  const json = present.find((f) => f.endsWith('.json'));
  const what = `${present.join(', ')}${json ? generatedAt(path.join(dir, json)) : ''}`;
  if (!force) {
    throw new InputError([`--out ${shown}: already holds a report (${what}); pass --force to replace it, or choose another --out folder`]);
  }
  return `replacing the report in ${shown} (${what}) as --force asks`;
}

/**
 * A path as messages show it: relative to the working directory when under it ("out/report", "." for the directory
 * itself), else absolute (--out /tmp/x is "/tmp/x", not "../../../tmp/x").
 */
export function shownPath(p: string): string {
  const relative = path.relative(process.cwd(), p);
  if (relative === '') return '.';
  return !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(p);
}

const AS_FOLDER = 'name a folder (it is created when missing)';

/**
 * `dir` can hold the report: it is a folder, or the nearest part of it that exists is a writable folder (the rest
 * is created when the report is written). Checked before the simulation, so a typo does not cost the whole run.
 * Example: --out report.md (a file) -> "--out: report.md is a file, not a folder; name a folder (...)".
 */
function checkFolder(dir: string): void {
  let existing = dir;
  for (;;) {
    let info;
    try {
      info = statSync(existing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new InputError([`--out: cannot use ${shownPath(dir)}: ${(error as Error).message}`]);
      if (code === 'ENOENT' && isSymlink(existing)) {
        throw new InputError([`--out: ${shownPath(dir)} cannot be created: ${existing} is a symbolic link to a missing target; ${AS_FOLDER}`]);
      }
      const up = path.dirname(existing);
      if (up === existing) return;
      existing = up;
      continue;
    }
    if (!info.isDirectory()) {
      const what = existing === dir ? `${shownPath(dir)} is` : `${shownPath(dir)} cannot be created: ${existing} is`;
      throw new InputError([`--out: ${what} a file, not a folder; ${AS_FOLDER}`]);
    }
    try {
      accessSync(existing, constants.W_OK);
    } catch {
      throw new InputError([`--out: ${existing} is not writable; choose a folder you can write to`]);
    }
    return;
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
