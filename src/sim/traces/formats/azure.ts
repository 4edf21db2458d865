import { headerColumns, locateColumns, locateFields, splitCsv } from './csv.js';
import { countProblem, parseCount, parseDateTime, quote } from '../fields.js';
import type { RowParser } from './row.js';

/**
 * Azure LLM inference trace (AzurePublicDataset, 2023 and 2024 releases): a header
 * `TIMESTAMP,ContextTokens,GeneratedTokens`, then one request per line.
 * - 2023: `2023-11-16 18:17:03.9799600,4808,10` (naive time, 7 fractional digits)
 * - 2024: `2024-05-10 00:00:00.009930+00:00,2048,30` (UTC offset, 6 digits)
 * Naive times are taken as UTC; only differences matter.
 */
const AZURE_COLUMNS = ['timestamp', 'contexttokens', 'generatedtokens'] as const;

export function isAzureHeader(columns: string[]): boolean {
  return locateColumns(columns, AZURE_COLUMNS).missing.length === 0;
}

/** A parser for the data lines under `headerLine`, or the reason the header does not fit. */
export function azureParser(headerLine: string): RowParser | string {
  const columns = headerColumns(headerLine);
  const { index, missing } = locateColumns(columns, AZURE_COLUMNS);
  if (missing.length > 0) {
    return `header ${quote(headerLine)} lacks Azure column(s) ${missing.join(', ')}; expected TIMESTAMP,ContextTokens,GeneratedTokens`;
  }
  const tsAt = index.timestamp;
  const islAt = index.contexttokens;
  const oslAt = index.generatedtokens;
  const fieldCount = columns.length;
  // Start/end offsets of each field of the current line; filled without splitting the string.
  const starts = new Int32Array(fieldCount);
  const ends = new Int32Array(fieldCount);
  const when = { days: 0, seconds: 0 };
  let baseDays = NaN;
  const row = { time: 0, isl: 0, osl: 0 };
  const field = (line: string, i: number) => line.slice(starts[i] as number, ends[i] as number);
  return {
    format: 'azure',
    row,
    parse(line: string) {
      if (line.indexOf('"') !== -1) return parseQuoted(line);
      const found = locateFields(line, fieldCount, starts, ends);
      if (found < fieldCount) return `expected ${fieldCount} comma-separated fields, found ${found}`;
      if (!parseDateTime(line, when, starts[tsAt], ends[tsAt])) {
        return `TIMESTAMP ${quote(field(line, tsAt))} is not a date-time like 2023-11-16 18:17:03.9799600`;
      }
      const isl = parseCount(line, starts[islAt], ends[islAt]);
      if (Number.isNaN(isl)) return `ContextTokens ${quote(field(line, islAt))} ${countProblem(field(line, islAt))}`;
      const osl = parseCount(line, starts[oslAt], ends[oslAt]);
      if (Number.isNaN(osl)) return `GeneratedTokens ${quote(field(line, oslAt))} ${countProblem(field(line, oslAt))}`;
      return accept(isl, osl);
    },
  };

  function accept(isl: number, osl: number): null {
    if (Number.isNaN(baseDays)) baseDays = when.days;
    row.time = (when.days - baseDays) * 86400 + when.seconds;
    row.isl = isl;
    row.osl = osl;
    return null;
  }

  /** Slow path for a line with quotes: split properly, then the same checks. */
  function parseQuoted(line: string): string | null {
    const fields = splitCsv(line);
    if (fields.length < fieldCount) return `expected ${fieldCount} comma-separated fields, found ${fields.length}`;
    const ts = fields[tsAt] as string;
    if (!parseDateTime(ts, when)) return `TIMESTAMP ${quote(ts)} is not a date-time like 2023-11-16 18:17:03.9799600`;
    const isl = parseCount(fields[islAt] as string);
    if (Number.isNaN(isl)) return `ContextTokens ${quote(fields[islAt] as string)} ${countProblem(fields[islAt] as string)}`;
    const osl = parseCount(fields[oslAt] as string);
    if (Number.isNaN(osl)) return `GeneratedTokens ${quote(fields[oslAt] as string)} ${countProblem(fields[oslAt] as string)}`;
    return accept(isl, osl);
  }
}
