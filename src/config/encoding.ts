/**
 * Is this file UTF-8 text? Every file a user hands us (policy, observation, trace) must be; when it is not,
 * the message says what it looks like instead and how to convert it, rather than letting the YAML/JSON/CSV
 * parser report a puzzling syntax error (UTF-16 reads as NUL bytes between letters) or, worse, silently turn
 * Latin-1 "é" into U+FFFD and carry on.
 *
 * Examples:
 *   FF FE 61 00 70 00 ...        → UTF-16 little-endian, byte-order mark FF FE
 *   61 00 70 00 69 00 ...        → UTF-16 little-endian without a byte-order mark (every other byte is NUL)
 *   1F 8B 08 00 ...              → binary (NUL byte at offset 3), gzip-compressed
 *   "owner: Jos" E9 0A           → not UTF-8: byte 0xE9 on line 1, column 11 (Latin-1 "é")
 */

export type EncodingProblem =
  | { kind: 'utf16' | 'utf32'; endian: 'little' | 'big'; bom: boolean }
  | { kind: 'binary'; nulOffset: number; container?: 'gzip' | 'zip' }
  | { kind: 'not-utf8'; offset: number; byte: number; line: number; column: number };

/** Bytes looked at for the NUL-every-other-byte pattern of UTF-16 without a byte-order mark. */
const UTF16_SNIFF = 256;

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

/**
 * UTF-16 without a BOM: ASCII text has a NUL at every odd (LE) or even (BE) offset. Requires at least
 * 8 bytes and 90% of the pairs to fit, so a binary file with a few NULs is not mistaken for text.
 */
function utf16WithoutBom(bytes: Uint8Array): 'little' | 'big' | undefined {
  const n = Math.min(bytes.length, UTF16_SNIFF) & ~1;
  if (n < 8) return undefined;
  let little = 0;
  let big = 0;
  for (let i = 0; i < n; i += 2) {
    const a = bytes[i] as number;
    const b = bytes[i + 1] as number;
    if (a !== 0 && b === 0) little++;
    else if (a === 0 && b !== 0) big++;
  }
  const pairs = n / 2;
  if (little >= 0.9 * pairs) return 'little';
  if (big >= 0.9 * pairs) return 'big';
  return undefined;
}

/**
 * Offset of the first byte that does not start a valid UTF-8 sequence, or -1.
 * With `partial`, a sequence cut off by the end of `bytes` is fine (the rest is in the next chunk).
 * Overlong forms and surrogates are invalid, as in TextDecoder's fatal mode.
 */
export function firstInvalidUtf8(bytes: Uint8Array, partial = false): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return partial ? -1 : i;
      const c = bytes[i + k] as number;
      if (k === 1 ? c < lo || c > hi : (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** 1-based line and column (in bytes) of `offset`. */
function lineAndColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * What is wrong with `bytes` as UTF-8 text, or undefined when nothing is. A UTF-8 byte-order mark is fine.
 * With `partial` (the first chunk of a longer file), a multi-byte character cut at the end is fine.
 */
export function encodingProblem(bytes: Uint8Array, opts: { partial?: boolean } = {}): EncodingProblem | undefined {
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00])) return { kind: 'utf32', endian: 'little', bom: true };
  if (startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) return { kind: 'utf32', endian: 'big', bom: true };
  if (startsWith(bytes, [0xff, 0xfe])) return { kind: 'utf16', endian: 'little', bom: true };
  if (startsWith(bytes, [0xfe, 0xff])) return { kind: 'utf16', endian: 'big', bom: true };
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const endian = utf16WithoutBom(bytes);
    if (endian) return { kind: 'utf16', endian, bom: false };
    const container = startsWith(bytes, [0x1f, 0x8b]) ? 'gzip' : startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) ? 'zip' : undefined;
    return { kind: 'binary', nulOffset: nul, ...(container ? { container } : {}) };
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: opts.partial === true });
    return undefined;
  } catch {
    // Fall through to find where (the native decoder does not say).
  }
  const offset = firstInvalidUtf8(bytes, opts.partial === true);
  if (offset === -1) return undefined;
  return { kind: 'not-utf8', offset, byte: bytes[offset] as number, ...lineAndColumn(bytes, offset) };
}

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * The problem as the rest of a message line, after `file:` or, for 'not-utf8', `file:line:` (see `problemLine`).
 * `within` narrows the claim when only part of the file was checked, e.g. "in the first 1 KB".
 */
export function describeEncodingProblem(problem: EncodingProblem, within = ''): string {
  const scope = within ? ` ${within}` : '';
  switch (problem.kind) {
    case 'utf16':
    case 'utf32': {
      const name = problem.kind === 'utf16' ? 'UTF-16' : 'UTF-32';
      const how = problem.bom
        ? `byte-order mark ${problem.endian === 'little' ? (problem.kind === 'utf16' ? 'FF FE' : 'FF FE 00 00') : problem.kind === 'utf16' ? 'FE FF' : '00 00 FE FF'}`
        : 'no byte-order mark; every other byte is NUL';
      const from = `${name}${problem.endian === 'little' ? 'LE' : 'BE'}`;
      return `is ${name} ${problem.endian}-endian text (${how}), not UTF-8; save it as UTF-8, e.g. iconv -f ${from} -t UTF-8 FILE > FILE.utf8`;
    }
    case 'binary': {
      const container =
        problem.container === 'gzip'
          ? ', gzip-compressed: decompress it first (gunzip FILE)'
          : problem.container === 'zip'
            ? ', a zip archive: extract it first (unzip FILE)'
            : '';
      return `looks like a binary file (NUL byte at offset ${problem.nulOffset})${container}, not a text file`;
    }
    case 'not-utf8':
      return `has bytes that are not valid UTF-8${scope} (first: byte ${hex(problem.byte)} at column ${problem.column}); if it is Latin-1 or Windows-1252 text, convert it, e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8`;
  }
}

/** `file: message`, or `file:line: message` when the problem has a line. */
export function problemLine(file: string, problem: EncodingProblem, within = ''): string {
  const at = problem.kind === 'not-utf8' ? `${file}:${problem.line}` : file;
  return `${at}: ${describeEncodingProblem(problem, within)}`;
}
