import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { encodingProblem, type EncodingProblem } from '../../config/encoding.js';

/** A single line longer than this is not a trace line (a 1,000-block Mooncake line is ~8 KB). */
const MAX_LINE_CHARS = 64 * 1024 * 1024;

/** Bytes inspected for the binary-file check. */
const SNIFF_BYTES = 1024;

/**
 * Why the first bytes of a file do not look like UTF-8 text, or undefined when they do: a NUL byte (binary),
 * UTF-16/32, or bytes that are not valid UTF-8 (an incomplete character cut at the 1 KB edge is fine).
 * Example: a gzip file starts 1f 8b 08 00 → binary, "NUL byte at offset 3", gzip-compressed.
 */
function encodingOfHead(head: Uint8Array): EncodingProblem | undefined {
  return encodingProblem(head.subarray(0, SNIFF_BYTES), { partial: true });
}

/**
 * Thrown when one line exceeds MAX_LINE_CHARS (a binary or one-line file that passed the 1 KB sniff). `carriageReturn`:
 * the line holds a carriage return, so the file's lines likely end in one alone (old Mac line endings).
 */
export class LineTooLongError extends Error {
  constructor(
    readonly lineNumber: number,
    readonly carriageReturn: boolean,
  ) {
    super(`line ${lineNumber} is longer than ${MAX_LINE_CHARS / (1024 * 1024)} MB characters, too long for a trace line`);
    this.name = 'LineTooLongError';
  }
}

/** Thrown when a stream gives more than its `maxBytes` (a device or FIFO that never ends, or a huge file). */
export class TooManyBytesError extends Error {
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
    this.name = 'TooManyBytesError';
  }
}

export interface StreamLinesResult {
  /** Lines seen, blank ones included (the last line may lack a newline). */
  lines: number;
  bytes: number;
}

/**
 * Stream a text file line by line without ever holding it whole: 1 MB chunks are decoded (UTF-8,
 * split characters carried over) and cut at '\n'; a trailing '\r' is removed; line numbers start at 1.
 * `onLine` may throw to stop reading (the stream is closed); its `unterminated` is true for a last line with no
 * newline after it. `onBinary` is called, and reading stops, when the first 1 KB is not UTF-8 text.
 */
export async function streamLines(
  path: string,
  onLine: (line: string, lineNumber: number, unterminated?: boolean) => void,
  options: {
    totalBytes?: number;
    /** Stop with TooManyBytesError past this many bytes (the size a device or FIFO reports is 0, so it is counted). */
    maxBytes?: number;
    onProgress?: (bytesRead: number, totalBytes: number) => void;
    onBinary?: (problem: EncodingProblem) => never;
  } = {},
): Promise<StreamLinesResult> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNumber = 0;
  let bytes = 0;
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first) {
        first = false;
        const problem = encodingOfHead(chunk);
        if (problem !== undefined && options.onBinary) options.onBinary(problem);
      }
      bytes += chunk.length;
      if (options.maxBytes !== undefined && bytes > options.maxBytes) throw new TooManyBytesError(options.maxBytes);
      const piece = decoder.write(chunk);
      if (piece.indexOf('\n') === -1) {
        // No line ends in this chunk: append it without searching the joined line (a search of carry + chunk per
        // chunk copies the whole line each time, quadratic in its length: 64 chunks of a 64 MB line copy ~2 GB).
        carry += piece;
        if (carry.length > MAX_LINE_CHARS) throw new LineTooLongError(lineNumber + 1, carry.includes('\r'));
        options.onProgress?.(bytes, options.totalBytes ?? bytes);
        continue;
      }
      const text = carry + piece;
      let start = 0;
      for (;;) {
        const newline = text.indexOf('\n', start);
        if (newline === -1) break;
        const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
        lineNumber++;
        onLine(text.slice(start, end), lineNumber);
        start = newline + 1;
      }
      carry = start === 0 ? text : text.slice(start);
      if (carry.length > MAX_LINE_CHARS) {
        throw new LineTooLongError(lineNumber + 1, carry.includes('\r'));
      }
      options.onProgress?.(bytes, options.totalBytes ?? bytes);
    }
    const rest = carry + decoder.end();
    if (rest.length > 0) {
      lineNumber++;
      // No newline at the end of the file: the last line may have been cut short (an interrupted download).
      onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest, lineNumber, true);
    }
  } finally {
    stream.destroy();
  }
  return { lines: lineNumber, bytes };
}
