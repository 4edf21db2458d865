/**
 * Reading the files users hand us: unreadable files, YAML and JSON syntax errors all become InputError
 * lines that name the file (and the line and column), e.g. `policy.yaml:12:5: Map keys must be unique`.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../errors.js';

/** Read a file the user named; a missing or unreadable file is their input error, not a crash. */
export function readInputFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : (error as Error).message;
    throw new InputError([`${path}: cannot read: ${reason}`]);
  }
}

type YamlError = { code: string; message: string; pos: [number, number]; linePos?: [{ line: number; col: number }, ...unknown[]] };

/** yaml's messages end with " at line L, column C:" and a code excerpt; we keep the first sentence. */
function firstSentence(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

const REWORDED: Record<string, string> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document ("---"); put one PlannerPolicy in each file',
};

/** Parse one YAML document. Throws InputError listing every syntax error, each as `file:line:col: message`. */
export function parseYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings].map((raw) => {
    const error = raw as unknown as YamlError;
    const { line, col } = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
    return `${file}:${line}:${col}: ${REWORDED[error.code] ?? firstSentence(error.message)}`;
  });
  if (problems.length > 0) throw new InputError(problems, `${file}: invalid YAML`);
  return doc.toJS({ maxAliasCount: 100 });
}

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return { line, col };
}

/**
 * Parse JSON strictly (JSON.parse, not YAML), reporting where it broke as `file:line:col: message`.
 * Node 20 says "... in JSON at position 16"; we turn the position into a line and column.
 */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(message);
    const offset = position ? Number(position[1]) : /end of JSON input/.test(message) ? text.length : undefined;
    const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of input (unclosed { or [?)');
    if (offset === undefined) throw new InputError([`${file}: invalid JSON: ${reason}`]);
    const { line, col } = lineCol(text, offset);
    throw new InputError([`${file}:${line}:${col}: invalid JSON: ${reason}`]);
  }
}
