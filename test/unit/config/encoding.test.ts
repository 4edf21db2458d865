import { describe, expect, it } from 'vitest';
import { describeEncodingProblem, encodingProblem, firstInvalidUtf8, problemLine } from '../../../src/config/encoding.js';

const bytes = (...values: (number | string)[]): Uint8Array =>
  Uint8Array.from(values.flatMap((v) => (typeof v === 'string' ? [...Buffer.from(v, 'latin1')] : [v])));

describe('encodingProblem', () => {
  it('accepts UTF-8, with or without a byte-order mark', () => {
    expect(encodingProblem(Buffer.from('name: José ✓ 😀\n'))).toBeUndefined();
    expect(encodingProblem(bytes(0xef, 0xbb, 0xbf, 'a: 1\n'))).toBeUndefined();
  });

  it('tells UTF-16 and UTF-32 by their byte-order marks', () => {
    expect(encodingProblem(bytes(0xff, 0xfe, 'a', 0))).toEqual({ kind: 'utf16', endian: 'little', bom: true });
    expect(encodingProblem(bytes(0xfe, 0xff, 0, 'a'))).toEqual({ kind: 'utf16', endian: 'big', bom: true });
    expect(encodingProblem(bytes(0xff, 0xfe, 0, 0, 'a', 0, 0, 0))).toEqual({ kind: 'utf32', endian: 'little', bom: true });
  });

  it('tells UTF-16 without a byte-order mark by the NUL in every other byte', () => {
    expect(encodingProblem(Buffer.from('apiVersion: x\n', 'utf16le'))).toEqual({ kind: 'utf16', endian: 'little', bom: false });
    expect(encodingProblem(Buffer.from('apiVersion: x\n', 'utf16le').swap16())).toEqual({ kind: 'utf16', endian: 'big', bom: false });
  });

  it('calls a file with NUL bytes binary, and names gzip and zip', () => {
    expect(encodingProblem(bytes(0x1f, 0x8b, 0x08, 0x00, 0x12))).toEqual({ kind: 'binary', nulOffset: 3, container: 'gzip' });
    expect(encodingProblem(bytes(0x50, 0x4b, 0x03, 0x04, 0x14, 0x00))).toEqual({ kind: 'binary', nulOffset: 5, container: 'zip' });
    expect(encodingProblem(bytes('ab', 0, 'cd'))).toEqual({ kind: 'binary', nulOffset: 2 });
  });

  it('finds the first byte that is not UTF-8, with its line and column (Latin-1 "é" is 0xE9)', () => {
    expect(encodingProblem(bytes('a: 1\nowner: Jos', 0xe9, '\n'))).toEqual({ kind: 'not-utf8', offset: 15, byte: 0xe9, line: 2, column: 11 });
  });

  it('allows a character cut at the end of a partial chunk, not of a whole file', () => {
    const cut = bytes('ab', 0xe2, 0x9c); // first two bytes of "✓" (E2 9C 93)
    expect(encodingProblem(cut, { partial: true })).toBeUndefined();
    expect(encodingProblem(cut)).toMatchObject({ kind: 'not-utf8', offset: 2 });
  });
});

describe('firstInvalidUtf8', () => {
  it('rejects overlong forms, surrogates and code points above U+10FFFF, as TextDecoder does', () => {
    expect(firstInvalidUtf8(bytes(0xc0, 0xaf))).toBe(0); // overlong "/"
    expect(firstInvalidUtf8(bytes('x', 0xe0, 0x80, 0xaf))).toBe(1); // overlong 3-byte
    expect(firstInvalidUtf8(bytes(0xed, 0xa0, 0x80))).toBe(0); // U+D800
    expect(firstInvalidUtf8(bytes(0xf4, 0x90, 0x80, 0x80))).toBe(0); // U+110000
    expect(firstInvalidUtf8(bytes(0xf0, 0x9f, 0x98, 0x80))).toBe(-1); // U+1F600
    expect(firstInvalidUtf8(bytes(0xc3, 0x28))).toBe(0); // bad continuation
  });
});

describe('messages', () => {
  it('say what the file is and how to convert it; a bad byte is file:line', () => {
    expect(problemLine('p.yaml', { kind: 'utf16', endian: 'little', bom: true })).toBe(
      'p.yaml: is UTF-16 little-endian text (byte-order mark FF FE), not UTF-8; save it as UTF-8, e.g. iconv -f UTF-16LE -t UTF-8 FILE > FILE.utf8',
    );
    expect(problemLine('o.json', { kind: 'not-utf8', offset: 15, byte: 0xe9, line: 2, column: 11 })).toBe(
      'o.json:2: has bytes that are not valid UTF-8 (first: byte 0xE9 at column 11); if it is Latin-1 or Windows-1252 text, convert it, e.g. iconv -f LATIN1 -t UTF-8 FILE > FILE.utf8',
    );
    expect(describeEncodingProblem({ kind: 'binary', nulOffset: 3, container: 'gzip' })).toBe(
      'looks like a binary file (NUL byte at offset 3), gzip-compressed: decompress it first (gunzip FILE), not a text file',
    );
  });
});
