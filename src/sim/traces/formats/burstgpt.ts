import { headerColumns, locateColumns, locateFields, splitCsv } from './csv.js';
import { countProblem, parseCount, parseNumber, quote } from '../fields.js';
import type { Exclusion, RowParser } from './row.js';

/**
 * BurstGPT trace (github.com/HPMLL/BurstGPT): header
 * `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type` (newer files add
 * `Session ID`, `Elapsed time`); `Timestamp` is seconds from the trace start.
 *
 * Failed requests: the BurstGPT_N.csv files keep requests that failed, recognisable by
 * `Response tokens` = 0 (BurstGPT_1.csv: 25,443 of 1,429,737 rows; most also have 0 request tokens).
 * They are well-formed lines, not bad ones, but they produced no work on the GPUs, so we leave them
 * out of the load and count them as an exclusion (reported in trace.excluded and trace.warnings).
 * The `*_without_fails_*.csv` files give the same load with nothing excluded.
 */
const BURSTGPT_COLUMNS = ['timestamp', 'request tokens', 'response tokens'] as const;

const FAILED_REQUEST: Exclusion = { exclude: 'failed requests (Response tokens = 0)' };

export function isBurstGptHeader(columns: string[]): boolean {
  return locateColumns(columns, BURSTGPT_COLUMNS).missing.length === 0;
}

export function burstGptParser(headerLine: string): RowParser | string {
  const columns = headerColumns(headerLine);
  const { index, missing } = locateColumns(columns, BURSTGPT_COLUMNS);
  if (missing.length > 0) {
    return `header ${quote(headerLine)} lacks BurstGPT column(s) ${missing.join(', ')}; expected Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`;
  }
  const tsAt = index.timestamp;
  const islAt = index['request tokens'];
  const oslAt = index['response tokens'];
  const needed = Math.max(tsAt, islAt, oslAt) + 1;
  const starts = new Int32Array(needed);
  const ends = new Int32Array(needed);
  const row = { time: 0, isl: 0, osl: 0 };

  // Module-level-style helper on purpose: a closure created per line costs more than parsing the line.
  const shown = (line: string, starts: ArrayLike<number>, ends: ArrayLike<number>, i: number) =>
    quote(line.slice(starts[i], ends[i]));

  /**
   * Check the three fields of a line whose field i is line[starts[i], ends[i]) (quoted lines are
   * split first and passed with their own offsets, so one code path serves both).
   */
  function check(line: string, starts: ArrayLike<number>, ends: ArrayLike<number>): string | Exclusion | null {
    const time = parseNumber(line, starts[tsAt], ends[tsAt]);
    if (Number.isNaN(time) || time < 0) return `Timestamp ${shown(line, starts, ends, tsAt)} is not a non-negative number of seconds`;
    const isl = parseCount(line, starts[islAt], ends[islAt]);
    if (Number.isNaN(isl)) return `Request tokens ${shown(line, starts, ends, islAt)} ${countProblem(line.slice(starts[islAt], ends[islAt]))}`;
    const osl = parseCount(line, starts[oslAt], ends[oslAt]);
    if (Number.isNaN(osl)) return `Response tokens ${shown(line, starts, ends, oslAt)} ${countProblem(line.slice(starts[oslAt], ends[oslAt]))}`;
    if (osl === 0) return FAILED_REQUEST;
    row.time = time;
    row.isl = isl;
    row.osl = osl;
    return null;
  }

  return {
    format: 'burstgpt',
    row,
    parse(line: string) {
      if (line.indexOf('"') !== -1) {
        const fields = splitCsv(line);
        if (fields.length < needed) return `expected ${columns.length} comma-separated fields, found ${fields.length}`;
        // Re-join the unquoted values with a separator so offsets address them in one string.
        const joined = fields.join('\u0000');
        const quotedStarts: number[] = [];
        const quotedEnds: number[] = [];
        let offset = 0;
        for (const field of fields) {
          quotedStarts.push(offset);
          quotedEnds.push(offset + field.length);
          offset += field.length + 1;
        }
        return check(joined, quotedStarts, quotedEnds);
      }
      const found = locateFields(line, needed, starts, ends);
      if (found < needed) return `expected ${columns.length} comma-separated fields, found ${found}`;
      return check(line, starts, ends);
    },
  };
}
