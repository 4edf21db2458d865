/**
 * Reading the files users hand us: unreadable files, YAML and JSON syntax errors all become InputError
 * lines that name the file (and the line and column), e.g. `policy.yaml:12:5: Map keys must be unique`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { InputError, messageOf } from '../errors.js';
import { encodingProblem, problemLine } from './encoding.js';

/** Largest policy file we parse: real ones are a few KB, and YAML's duplicate-key check is quadratic (1 MB of keys takes ~20 s). */
export const MAX_POLICY_BYTES = 256 * 1024;
/** Largest observation file: one tick's metrics are a few KB. */
export const MAX_OBSERVATION_BYTES = 1024 * 1024;
/** Largest planner state file: the history a forecaster keeps is at most ~10,000 points (about 1 MB of JSON). */
export const MAX_STATE_BYTES = 16 * 1024 * 1024;
/** Largest profile JSON file: Dynamo's profiler writes a few hundred KB at most. */
export const MAX_PROFILE_BYTES = 16 * 1024 * 1024;

export interface ReadInputOptions {
  /** Refuse larger files, naming what the file was expected to be (e.g. "a policy file is a few KB"). */
  maxBytes?: { bytes: number; what: string };
}

/** What every read gets when the caller names no cap: nothing the planner reads is larger. */
const DEFAULT_MAX_BYTES = { bytes: 16 * 1024 * 1024, what: 'no input of pd-planner is that large' };

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024 * 1024)).toFixed(1)} GB`;
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${Math.ceil(bytes / 1024)} KB`;
}

const CHUNK_BYTES = 64 * 1024;

/** Block the thread for `ms` (a non-blocking descriptor such as a terminal's /dev/stdin said "try again"). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Read at most `limit.bytes` bytes of `path`, whatever it is: a regular file, a FIFO, /dev/stdin, a device such as
 * /dev/zero or a symlink to one. The size stat() reports is only used to refuse a large regular file at once; the
 * cap itself is enforced while reading (devices and pipes report size 0), so nothing past it is ever held.
 * Errors are InputError lines naming the file: `policy.yaml: cannot read: no such file`,
 * `/dev/zero: more than 256 KB; a policy file is a few KB (limit 256 KB): is this the right file?`.
 */
export function readCapped(path: string, limit: { bytes: number; what: string }): Buffer {
  const tooLarge = (size?: number) =>
    new InputError([`${path}: ${size !== undefined ? `is ${formatSize(size)}` : `more than ${formatSize(limit.bytes)}`}; ${limit.what} (limit ${formatSize(limit.bytes)}): is this the right file?`]);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw cannotRead(path, error);
  }
  try {
    const info = fstatSync(fd);
    if (info.isDirectory()) throw new InputError([`${path}: cannot read: is a directory, expected a file`]);
    if (info.isFile() && info.size > limit.bytes) throw tooLarge(info.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      // One byte more than the cap tells "exactly at the cap" from "over it".
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit.bytes + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
          pause(10);
          continue;
        }
        throw error;
      }
      if (n === 0) break;
      total += n;
      if (total > limit.bytes) throw tooLarge();
      chunks.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw cannotRead(path, error);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(path: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'is a directory, expected a file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ELOOP'
            ? 'too many levels of symbolic links'
            : messageOf(error);
  return new InputError([`${path}: cannot read: ${reason}`]);
}

/**
 * Read a file the user named as UTF-8 text (a UTF-8 byte-order mark is dropped), at most `maxBytes` of it. A missing
 * or unreadable file, one that is too large, binary, UTF-16 or not valid UTF-8 (Latin-1) is their input error, not a
 * crash and not a puzzling syntax error: e.g. `policy.yaml: is UTF-16 little-endian text (byte-order mark FF FE), not UTF-8; ...`.
 */
export function readInputFile(path: string, opts: ReadInputOptions = {}): string {
  const bytes = readCapped(path, opts.maxBytes ?? DEFAULT_MAX_BYTES);
  const problem = encodingProblem(bytes);
  if (problem) throw new InputError([problemLine(path, problem)]);
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

type YamlError = { code: string; message: string; pos: [number, number]; linePos?: [{ line: number; col: number }, ...unknown[]] };

/** yaml's messages end with " at line L, column C:" and a code excerpt; we keep the first sentence. */
function firstSentence(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

const REWORDED: Record<string, string> = {
  MULTIPLE_DOCS: 'the file holds more than one YAML document ("---"); put one PlannerPolicy in each file',
};

const TOO_DEEP = 'nested too deeply for the parser (thousands of levels of [ or {); a policy is a few levels deep: is this the right file?';

/** yaml reports a stack overflow as RESOURCE_EXHAUSTION "Maximum call stack size exceeded"; say what it means. */
function reworded(error: YamlError): string {
  if (error.code === 'RESOURCE_EXHAUSTION' && /call stack/i.test(error.message)) return TOO_DEEP;
  return REWORDED[error.code] ?? firstSentence(error.message);
}

/** Parse one YAML document. Throws InputError listing every syntax error, each as `file:line:col: message`. */
export function parseYaml(text: string, file: string): unknown {
  const lines = new LineCounter();
  // A carriage return alone ends a line in YAML (old Mac line endings), but the parser reads the file as one line
  // (all of it one comment, or one scalar): made a newline first, one for one, so line numbers stay the same.
  const normal = text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
  const doc = parseDocument(normal, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems = [...doc.errors, ...doc.warnings].map((raw) => {
    const error = raw as unknown as YamlError;
    const { line, col } = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
    return `${file}:${line}:${col}: ${reworded(error)}`;
  });
  if (problems.length > 0) throw new InputError(problems, `${file}: invalid YAML`);
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml throws (not reports) these two while building the value.
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      throw new InputError([
        `${file}: too many alias references (*name) expand to the same nodes (an "alias bomb"); write the values out or use fewer aliases`,
      ]);
    }
    if (error instanceof RangeError) throw new InputError([`${file}: ${TOO_DEEP}`]);
    throw error;
  }
}

/** Line and column (1-based) of a character offset. */
function lineCol(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const col = offset - before.lastIndexOf('\n');
  return { line, col };
}

/**
 * Parse JSON strictly (JSON.parse, not YAML), reporting where it broke as `file:line:col: message`, and refusing a key
 * given twice in one object (JSON.parse would keep the last).
 * Node 20 says "... in JSON at position 16"; we turn the position into a line and column.
 */
export function parseJson(text: string, file: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = messageOf(error);
    if (error instanceof RangeError) throw new InputError([`${file}: invalid JSON: nested too deeply (thousands of levels of [ or {)`]);
    const position = /at position (\d+)/.exec(message);
    const token = unexpectedToken(message, text);
    const offset = position ? Number(position[1]) : /end of JSON input/.test(message) ? text.length : token?.offset;
    const reason = token
      ? token.reason
      : message.replace(/ in JSON at position \d+.*$/, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of input (unclosed { or [?)');
    if (offset === undefined) throw new InputError([`${file}: invalid JSON: ${reason}`]);
    const { line, col } = lineCol(text, offset);
    throw new InputError([`${file}:${line}:${col}: invalid JSON: ${reason}`]);
  }
  const duplicates = duplicateKeys(text);
  if (duplicates.length > 0) {
    throw new InputError(
      duplicates.map(({ key, offset, first }) => {
        const { line, col } = lineCol(text, offset);
        return `${file}:${line}:${col}: duplicate key ${JSON.stringify(key)} (also at line ${lineCol(text, first).line}); only one value can be used: keep one`;
      }),
    );
  }
  return value;
}

/**
 * Keys given twice in one object of `text` (valid JSON), with their offsets and the first one's: JSON.parse keeps the
 * last value without a word, and nothing the user gave may be dropped silently. One pass, no recursion. `text` must have
 * parsed (an unclosed string would run past its end).
 * Example: `{"a": 1, "b": {"a": 2}, "a": 3}` -> [{ key: "a", offset: 24, first: 1 }].
 */
export function duplicateKeys(text: string): { key: string; offset: number; first: number }[] {
  const found: { key: string; offset: number; first: number }[] = [];
  // One entry per open brace or bracket: the keys of an object (key -> offset), null for an array.
  const open: (Map<string, number> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1;
      const keys = open[open.length - 1];
      if (keyNext && keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        const first = keys.get(key);
        if (first === undefined) keys.set(key, i);
        else if (found.length < 100) found.push({ key, offset: i, first });
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      open.push(new Map());
      keyNext = true;
    } else if (c === 0x5b /* [ */) {
      open.push(null);
      keyNext = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
    } else if (c === 0x3a /* : */) {
      keyNext = false;
    } else if (c === 0x2c /* , */) {
      keyNext = open[open.length - 1] != null;
    }
  }
  return found;
}

/** Context V8 shows around an unexpected token: 10 characters either side (see v8 JsonParser::ReportUnexpectedToken). */
const JSON_CONTEXT = 10;

/**
 * V8's "Unexpected token" message has no position, only a quoted excerpt: `Unexpected token 'N', ..."equests": NaN }" is
 * not valid JSON`. The excerpt is the whole text (short input), text[0, pos+10) (`"..."...`), or text[pos-10, ...)
 * (`..."..."`, token at index 10), so the position can be recovered. NaN and Infinity get a hint, since JSON has neither.
 */
function unexpectedToken(message: string, text: string): { offset: number; reason: string } | undefined {
  const match = /^Unexpected token '([\s\S]+?)', (\.\.\.)?"([\s\S]*)"(\.\.\.)? is not valid JSON$/.exec(message);
  if (!match) return undefined;
  const [, token = '', lead, excerpt = '', trail] = match;
  let offset: number;
  if (lead) {
    const start = text.indexOf(excerpt);
    if (start === -1) return undefined;
    offset = start + JSON_CONTEXT;
  } else if (trail) {
    offset = excerpt.length - JSON_CONTEXT;
  } else {
    offset = text.indexOf(token);
  }
  if (offset < 0 || offset >= text.length) return undefined;
  const word = /^(NaN|-?Infinity|undefined)/.exec(text.slice(offset))?.[1];
  const reason = word
    ? `${word} is not a JSON value; leave the field out or write null`
    : `unexpected character ${JSON.stringify(token)}`;
  return { offset, reason };
}
