/**
 * Strict, allocation-free parsers for the fields of a trace line. Each returns NaN when the text is
 * not what we expect, so the caller can name the field in its message.
 */

/** Largest token count a Uint32Array column can hold. */
export const MAX_TOKENS = 0xffffffff;

/**
 * What is wrong with a token count parseCount refused, for the message after the field's name and value: digits above
 * MAX_TOKENS are too many tokens, not "not an integer". Example: "4294967296" -> "is more than 4294967295 tokens, the
 * most one request may have"; "-3", "abc" -> "is not a non-negative integer". Only called for a refused field.
 */
export function countProblem(text: string): string {
  return /^ *\d+(\.0*)? *$/.test(text) ? `is more than ${MAX_TOKENS} tokens, the most one request may have` : 'is not a non-negative integer';
}

/**
 * A non-negative integer written in plain decimal digits ("4808"; also "4808.0", as some CSV exports
 * write integers as floats), in text[from, to). Returns NaN for "", "-3", "1.5", "abc", "1e3" or
 * anything above MAX_TOKENS.
 */
export function parseCount(text: string, from = 0, to = text.length): number {
  let start = from;
  let end = to;
  while (start < end && text.charCodeAt(start) === 32) start++;
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  if (start === end) return NaN;
  let value = 0;
  let i = start;
  for (; i < end; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  if (i === start) return NaN;
  if (i < end) {
    // Allow a zero fraction only: "12.0" or "12.".
    if (text.charCodeAt(i) !== 46) return NaN;
    for (i++; i < end; i++) if (text.charCodeAt(i) !== 48) return NaN;
  }
  return value <= MAX_TOKENS ? value : NaN;
}

/** A decimal number as people write it ("2", "0.5", "1e3"); not hex ("0x10"), not empty, not "Infinity". */
export const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A finite decimal number in text[from, to) ("12", "0.25", "1.7e9"), NaN otherwise.
 * Plain "digits[.digits]" is parsed in place (the common case); any other decimal spelling goes through Number().
 */
export function parseNumber(text: string, from = 0, to = text.length): number {
  let whole = 0;
  let i = from;
  for (; i < to; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) break;
    whole = whole * 10 + c;
  }
  if (i === to && i > from && i - from < 16) return whole;
  if (i > from && i - from < 16 && text.charCodeAt(i) === 46) {
    let fraction = 0;
    let scale = 1;
    let j = i + 1;
    for (; j < to && scale < 1e15; j++) {
      const c = text.charCodeAt(j) - 48;
      if (c < 0 || c > 9) break;
      fraction = fraction * 10 + c;
      scale *= 10;
    }
    if (j === to) return whole + fraction / scale;
  }
  const trimmed = text.slice(from, to).trim();
  // Number() would also take "" (as 0), hex ("0x10") and binary ("0b1"); a trace field is a decimal number.
  if (!DECIMAL.test(trimmed)) return NaN;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : NaN;
}

/** Days since 1970-01-01 of a "YYYY-MM-DD" date, memoised on the last date seen (traces repeat it). */
let lastDateKey = -1;
let lastDateDays = NaN;
function daysOf(text: string, offset: number): number {
  const y = digits(text, offset, 4);
  const mo = digits(text, offset + 5, 2);
  const d = digits(text, offset + 8, 2);
  if (text.charCodeAt(offset + 4) !== 45 || text.charCodeAt(offset + 7) !== 45) return NaN;
  const key = y * 10000 + mo * 100 + d; // NaN when a digit is not one
  if (key === lastDateKey) return lastDateDays;
  if (!(mo >= 1 && mo <= 12 && d >= 1 && d <= 31)) return NaN;
  const ms = Date.UTC(y, mo - 1, d);
  // Date.UTC rolls 2023-02-30 over to March 2; reject dates that do not exist.
  if (new Date(ms).getUTCDate() !== d) return NaN;
  lastDateKey = key;
  lastDateDays = ms / 86_400_000;
  return lastDateDays;
}

/** Integer value of `count` decimal digits at `offset`, NaN if any is not a digit. */
function digits(text: string, offset: number, count: number): number {
  let value = 0;
  for (let i = offset; i < offset + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (!(c >= 0 && c <= 9)) return NaN;
    value = value * 10 + c;
  }
  return value;
}

/**
 * Seconds of an Azure trace timestamp, split into whole days since 1970 and seconds within the day,
 * so the caller can subtract the first day before mixing in fractions (a float64 of ~1.7e9 s keeps
 * only ~0.2 µs; day-relative seconds keep 1e-7 s exactly enough).
 *
 * Accepted: "YYYY-MM-DD HH:MM:SS[.fraction][Z|±HH:MM|±HHMM]", with "T" or " " between date and time.
 * - 2023 trace: "2023-11-16 18:17:03.9799600" → days 19677, seconds 65823.97996.
 * - 2024 trace: "2024-05-10 00:00:00.009930+00:00" → days 19853, seconds 0.00993.
 * An offset is subtracted (10:00:00+02:00 is 08:00:00 UTC), which may leave seconds outside [0, 86400).
 * Reads text[from, to). Returns false when it is not such a timestamp.
 */
export function parseDateTime(
  text: string,
  out: { days: number; seconds: number },
  from = 0,
  to = text.length,
): boolean {
  let start = from;
  let end = to;
  while (start < end && text.charCodeAt(start) === 32) start++;
  while (end > start && text.charCodeAt(end - 1) === 32) end--;
  if (end - start < 19) return false;
  const sep = text.charCodeAt(start + 10);
  if (sep !== 32 && sep !== 84) return false; // ' ' or 'T'
  const days = daysOf(text, start);
  if (Number.isNaN(days)) return false;
  const h = digits(text, start + 11, 2);
  const m = digits(text, start + 14, 2);
  const s = digits(text, start + 17, 2);
  if (text.charCodeAt(start + 13) !== 58 || text.charCodeAt(start + 16) !== 58) return false;
  if (!(h <= 23 && m <= 59 && s <= 60)) return false;
  let seconds = h * 3600 + m * 60 + s;
  let i = start + 19;
  if (i < end && text.charCodeAt(i) === 46) {
    i++;
    // Digits as one integer, divided once: 9799600 / 1e7 rounds better than summing 0.9 + 0.07 + ...
    let fraction = 0;
    let scale = 1;
    const fracStart = i;
    for (; i < end; i++) {
      const c = text.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (scale < 1e15) {
        fraction = fraction * 10 + c;
        scale *= 10;
      }
    }
    if (i === fracStart) return false;
    seconds += fraction / scale;
  }
  if (i < end) {
    const c = text.charCodeAt(i);
    if (c === 90 && i + 1 === end) {
      // 'Z': UTC
    } else if (c === 43 || c === 45) {
      // ±HH:MM or ±HHMM
      const sign = c === 43 ? 1 : -1;
      const oh = digits(text, i + 1, 2);
      const colon = text.charCodeAt(i + 3) === 58 ? 1 : 0;
      const om = digits(text, i + 3 + colon, 2);
      if (Number.isNaN(oh) || Number.isNaN(om) || i + 5 + colon !== end) return false;
      seconds -= sign * (oh * 3600 + om * 60);
    } else {
      return false;
    }
  }
  out.days = days;
  out.seconds = seconds;
  return true;
}

/** Show a field value in a message: quoted, and shortened when long. */
export function quote(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}
