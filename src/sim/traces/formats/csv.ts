/**
 * Minimal CSV helpers for trace files: fields are split on commas; a line containing a double quote
 * takes the slow path that honours "quoted, fields" and "" escapes (BurstGPT exports may quote).
 */
export function splitCsv(line: string): string[] {
  if (line.indexOf('"') === -1) return line.split(',');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      fields.push(field);
      field = '';
    } else {
      field += c;
    }
  }
  fields.push(field);
  return fields;
}

/** Header column names, normalised for matching: trimmed, lower case, inner spaces collapsed. */
export function headerColumns(headerLine: string): string[] {
  return splitCsv(headerLine).map((name) => name.trim().toLowerCase().replace(/\s+/g, ' '));
}

/**
 * Index of each required column in the header, or the list of missing ones.
 * Example: header "TIMESTAMP,ContextTokens,GeneratedTokens", wanted ["contexttokens"] → { contexttokens: 1 }.
 */
export function locateColumns<K extends string>(
  columns: string[],
  wanted: readonly K[],
): { index: Record<K, number>; missing: K[] } {
  const index = {} as Record<K, number>;
  const missing: K[] = [];
  for (const name of wanted) {
    const i = columns.indexOf(name);
    if (i === -1) missing.push(name);
    else index[name] = i;
  }
  return { index, missing };
}

/**
 * Offsets of the first `count` comma-separated fields of an unquoted line, written into
 * starts/ends without allocating; returns how many fields were found (fewer when the line is short).
 * Example: "a,bc,d" → starts [0, 2, 5], ends [1, 4, 6], returns 3.
 */
export function locateFields(line: string, count: number, starts: Int32Array, ends: Int32Array): number {
  let found = 0;
  let start = 0;
  while (found < count) {
    const comma = line.indexOf(',', start);
    starts[found] = start;
    ends[found] = comma === -1 ? line.length : comma;
    found++;
    if (comma === -1) break;
    start = comma + 1;
  }
  return found;
}
