import { MAX_TOKENS } from '../fields.js';
import type { RowParser } from './row.js';
import { messageOf } from '../../../errors.js';
import { duplicateKeys } from '../../../config/read.js';

/**
 * Mooncake trace (github.com/kvcache-ai/Mooncake, FAST'25 release): JSON Lines, one object per
 * request: `{"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [...]}`.
 * `timestamp` is milliseconds from the trace start. `hash_ids` (prefix-cache block ids) and any other
 * key are allowed and ignored. A key given twice in one object is refused (JSON.parse would keep the last value
 * without a word): the run stops, as for an observation file.
 */
export function looksLikeMooncake(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    'timestamp' in value &&
    'input_length' in value &&
    'output_length' in value
  );
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TOKENS;
}

/** Why `value` is not a count: too many tokens (1e12), or not a non-negative integer (-1, 1.5, "7", missing). */
function notCount(value: unknown): string {
  return typeof value === 'number' && Number.isInteger(value) && value > MAX_TOKENS ? `is more than ${MAX_TOKENS} tokens, the most one request may have` : 'is not a non-negative integer';
}

/**
 * Whether `line` (which parsed to `record`) may hold a key twice: it has more `"...":` than `record` has keys. Every key
 * of every object is a string followed by a colon, so equal counts mean no key was given twice; more (a nested object,
 * or a `\":` inside a string) sends the line to the full scan. A cheap check first, as the full scan is slow per line.
 * Example: `{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1, 2]}` -> 4 and 4 keys: false.
 */
function moreKeysThanRead(line: string, record: Record<string, unknown>): boolean {
  return (line.match(/"\s*:/g)?.length ?? 0) > Object.keys(record).length;
}

export function mooncakeParser(): RowParser {
  const row = { time: 0, isl: 0, osl: 0 };
  return {
    format: 'mooncake',
    row,
    parse(line: string) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        return `not valid JSON (${messageOf(error)})`;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
      const record = value as Record<string, unknown>;
      const duplicates = moreKeysThanRead(line, record) ? duplicateKeys(line) : [];
      if (duplicates.length > 0) {
        // Columns are 1-based: `{"timestamp": 0, "timestamp": 5, ...}` -> "timestamp" at column 18 (also at column 2).
        return {
          refuse: duplicates.map(
            ({ key, offset, first }) =>
              `duplicate key ${JSON.stringify(key)} at column ${offset + 1} (also at column ${first + 1}); only one value can be used: keep one`,
          ),
        };
      }
      const { timestamp, input_length: isl, output_length: osl } = record;
      if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
        return `timestamp ${JSON.stringify(timestamp) ?? 'missing'} is not a non-negative number of milliseconds`;
      }
      if (!isCount(isl)) return `input_length ${JSON.stringify(isl) ?? 'missing'} ${notCount(isl)}`;
      if (!isCount(osl)) return `output_length ${JSON.stringify(osl) ?? 'missing'} ${notCount(osl)}`;
      row.time = timestamp / 1000;
      row.isl = isl;
      row.osl = osl;
      return null;
    },
  };
}
