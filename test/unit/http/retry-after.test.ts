import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EndpointBackoffs, parseHttpDate, parseRetryAfter } from '../../../src/http/retry-after.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');

describe('Retry-After: delta-seconds', () => {
  it('reads a whole number of seconds, with surrounding blanks', () => {
    expect(parseRetryAfter('120', NOW)).toEqual({ kind: 'delay', seconds: 120 });
    expect(parseRetryAfter('0', NOW)).toEqual({ kind: 'delay', seconds: 0 });
    expect(parseRetryAfter(' 7 ', NOW)).toEqual({ kind: 'delay', seconds: 7 });
    // A year is a valid ask (the source caps what it honours).
    expect(parseRetryAfter('31536000', NOW)).toEqual({ kind: 'delay', seconds: 31_536_000 });
  });

  it('no header is no Retry-After', () => {
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('negative, fractional, NaN, words, hex and numbers past 2^53 are junk', () => {
    for (const raw of ['-5', '1.5', 'NaN', 'soon', '', '0x10', '1e3', '+5', 'Infinity', '99999999999999999999', '5 s']) {
      expect(parseRetryAfter(raw, NOW), raw).toEqual({ kind: 'junk', raw: raw.trim() });
    }
  });
});

describe('Retry-After: HTTP date', () => {
  const at = Date.parse('2026-11-25T10:02:00Z');

  it('reads the three forms RFC 9110 asks a recipient to accept as the same instant', () => {
    expect(parseHttpDate('Wed, 25 Nov 2026 10:02:00 GMT', NOW)).toBe(at);
    expect(parseHttpDate('Wednesday, 25-Nov-26 10:02:00 GMT', NOW)).toBe(at);
    expect(parseHttpDate('Wed Nov 25 10:02:00 2026', NOW)).toBe(at);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994', NOW)).toBe(Date.parse('1994-11-06T08:49:37Z'));
    // A two-digit year more than 50 years ahead is the last century's.
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(Date.parse('1994-11-06T08:49:37Z'));
  });

  it('reads a four-digit year below 100 as that year, not the 1900s', () => {
    expect(parseHttpDate('Sat, 25 Nov 0026 10:02:00 GMT', NOW)).toBe(Date.parse('0026-11-25T10:02:00Z'));
    expect(parseHttpDate('Sun Nov  6 08:49:37 0094', NOW)).toBe(Date.parse('0094-11-06T08:49:37Z'));
  });

  it('refuses days and times that do not exist, other zones and what Date.parse would guess at', () => {
    for (const text of ['Sat, 31 Feb 2026 10:00:00 GMT', 'Wed, 25 Nov 2026 24:00:00 GMT', 'Wed, 25 Foo 2026 10:00:00 GMT', 'Wed, 25 Nov 2026 10:02:00 PST', '2026-11-25T10:02:00Z', '1', 'Wed, 00 Nov 2026 10:02:00 GMT']) {
      expect(parseHttpDate(text, NOW), text).toBeUndefined();
    }
  });

  it('is measured from the answer\'s Date header when it has one, else from the local clock, rounded up', () => {
    // The server says 10:00:00 and asks for 10:02:00: 120 s, though the local clock runs 30 s ahead.
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:02:00 GMT', NOW + 30_000, 'Wed, 25 Nov 2026 10:00:00 GMT')).toEqual({ kind: 'delay', seconds: 120 });
    // No Date header (or a bad one): from the local clock, 10:01:30.400 -> ceil(29.6) = 30 s.
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:02:00 GMT', NOW + 90_400)).toEqual({ kind: 'delay', seconds: 30 });
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:02:00 GMT', NOW + 90_400, 'yesterday')).toEqual({ kind: 'delay', seconds: 30 });
    // A date already past asks for no wait at all.
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', NOW)).toEqual({ kind: 'delay', seconds: 0 });
  });

  it('never throws and gives a whole number of seconds >= 0 or junk, for any header', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), fc.integer({ min: 0, max: 4e12 }), (header, now) => {
        const parsed = parseRetryAfter(header, now);
        expect(parsed).toBeDefined();
        if (parsed!.kind === 'delay') {
          expect(Number.isSafeInteger(parsed!.seconds)).toBe(true);
          expect(parsed!.seconds).toBeGreaterThanOrEqual(0);
        }
      }),
    );
  });
});

describe('EndpointBackoffs', () => {
  const backoff = (since: number, seconds: number) => ({ since, until: since + seconds * 1000, status: 429, askedSeconds: seconds });

  it('holds an endpoint until the time it was given, not a millisecond longer', () => {
    const backoffs = new EndpointBackoffs();
    backoffs.record('http://a/api/v1/query', backoff(NOW, 120));
    expect(backoffs.active('http://a/api/v1/query', NOW + 119_999)?.askedSeconds).toBe(120);
    expect(backoffs.active('http://b/api/v1/query', NOW + 1)).toBeUndefined();
    expect(backoffs.active('http://a/api/v1/query', NOW + 120_000)).toBeUndefined();
  });

  it('is per caller: another identity on the same endpoint is not held, the same one is', () => {
    const backoffs = new EndpointBackoffs();
    const tenantA = '[["authorization","Basic dGVuYW50LWE6c2VjcmV0LWE="]]';
    const tenantB = '[["authorization","Basic dGVuYW50LWI6c2VjcmV0LWI="]]';
    backoffs.record('http://a/api/v1/query', backoff(NOW, 120), tenantA);
    expect(backoffs.active('http://a/api/v1/query', NOW + 60_000, tenantA)?.askedSeconds).toBe(120);
    expect(backoffs.active('http://a/api/v1/query', NOW + 60_000, tenantB)).toBeUndefined();
    expect(backoffs.active('http://a/api/v1/query', NOW + 60_000)).toBeUndefined();
    // The anonymous caller's backoff holds the anonymous caller only.
    backoffs.record('http://a/api/v1/query', backoff(NOW, 30));
    expect(backoffs.active('http://a/api/v1/query', NOW + 1)?.askedSeconds).toBe(30);
    expect(backoffs.active('http://a/api/v1/query', NOW + 1, tenantB)).toBeUndefined();
    expect(backoffs.size).toBe(2);
  });

  it('drops a backoff when the clock is stepped back before the answer that asked for it (the wait left is unknown)', () => {
    const backoffs = new EndpointBackoffs();
    backoffs.record('http://a/api/v1/query', backoff(NOW, 120));
    expect(backoffs.active('http://a/api/v1/query', NOW)?.askedSeconds).toBe(120);
    // Set back an hour: it would otherwise hold the endpoint for 62 minutes, 120 s asked for.
    expect(backoffs.active('http://a/api/v1/query', NOW - 3_600_000)).toBeUndefined();
    expect(backoffs.size).toBe(0);
  });

  it('keeps the later end when two answers give different delays, and drops expired entries', () => {
    const backoffs = new EndpointBackoffs();
    backoffs.record('http://a/api/v1/query', backoff(NOW, 120));
    expect(backoffs.record('http://a/api/v1/query', backoff(NOW, 30)).until).toBe(NOW + 120_000);
    expect(backoffs.record('http://a/api/v1/query', backoff(NOW, 200)).until).toBe(NOW + 200_000);
    backoffs.record('http://b/api/v1/query', backoff(NOW, 10));
    expect(backoffs.size).toBe(2);
    // A record at 10:05 finds both ended and leaves only itself.
    backoffs.record('http://c/api/v1/query', backoff(NOW + 300_000, 10));
    expect(backoffs.size).toBe(1);
  });
});
