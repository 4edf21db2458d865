/** The imperative shell of the report: render and write report.json, report.md, report.html. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimReport } from '../types.js';
import { reportHtml } from './html.js';
import { reportJson } from './json.js';
import { reportMarkdown } from './markdown.js';
import type { ReportPaths } from './types.js';
import { messageOf } from '../../errors.js';

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

export async function mkdirOrExplain(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new Error(`cannot create the report folder ${dir}: ${messageOf(err)}`, { cause: err });
  }
}

export async function writeOrExplain(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, 'utf8');
  } catch (err) {
    throw new Error(`cannot write ${path}: ${messageOf(err)}`, { cause: err });
  }
}
