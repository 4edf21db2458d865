/** Plain-text and Markdown tables. Cells are strings already formatted; `align` is per column. */

export type Align = 'left' | 'right';

/** Display width of a cell: code points, so "×" and "✓" count as one column like ASCII does. */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, align: Align): string {
  const fill = ' '.repeat(Math.max(0, w - width(s)));
  return align === 'right' ? fill + s : s + fill;
}

/**
 * Columns padded to their widest cell, two spaces apart, a dashed rule under the header, no trailing spaces.
 * Example: headers ["run","GPU-h"], rows [["policy","41.50"],["hindsight","33.25"]], align ["left","right"] ->
 *   run        GPU-h
 *   ---------  -----
 *   policy     41.50
 *   hindsight  33.25
 */
export function textTable(headers: string[], rows: string[][], align: Align[]): string {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cells.map((c, i) => pad(c, widths[i]!, align[i] ?? 'left')).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A `|` inside a cell would end it early; `\|` keeps it literal. Newlines become spaces. */
function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** GitHub-flavoured Markdown table with `---:` on right-aligned columns. */
export function markdownTable(headers: string[], rows: string[][], align: Align[]): string {
  const row = (cells: string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  const rule = `|${headers.map((_, i) => (align[i] === 'right' ? '---:' : '---')).join('|')}|`;
  return [row(headers), rule, ...rows.map(row)].join('\n');
}
