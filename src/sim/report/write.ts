/** The imperative shell of the report: render and write report.json, report.md, report.html. */
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SimReport } from '../types.js';
import { reportHtml } from './html.js';
import { reportJson } from './json.js';
import { reportMarkdown } from './markdown.js';
import type { ReportPaths } from './types.js';
import { InputError, messageOf } from '../../errors.js';

/**
 * Write the three report files into `outDir` (created with its parents when missing) and return their paths.
 * A write error says which file and why, since `--out` is a path the user typed.
 */
export async function writeReport(report: SimReport, outDir: string): Promise<ReportPaths> {
  const paths: ReportPaths = {
    json: join(outDir, 'report.json'),
    md: join(outDir, 'report.md'),
    html: join(outDir, 'report.html'),
  };
  const html = await reportHtml(report);
  await mkdirOrExplain(outDir);
  await Promise.all([
    writeOrExplain(paths.json, reportJson(report)),
    writeOrExplain(paths.md, reportMarkdown(report)),
    writeOrExplain(paths.html, html),
  ]);
  return paths;
}

/**
 * Create `dir` and its missing parents, one level at a time. Not `mkdir(dir, { recursive: true })`: when the kernel
 * answers ENOENT for a parent that exists (procfs, e.g. --out /proc/x), Node's recursive mkdir retries for ever.
 * A folder that cannot be created is the user's --out: an input error (exit 2) naming it.
 */
export async function mkdirOrExplain(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing) {
    try {
      await mkdir(folder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new InputError([`--out: cannot create the report folder ${dir} (${messageOf(err)}); choose another --out folder`]);
    }
  }
}

export async function writeOrExplain(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, 'utf8');
  } catch (err) {
    throw new Error(`cannot write ${path}: ${messageOf(err)}`, { cause: err });
  }
}
