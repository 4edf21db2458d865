/**
 * What a trace may cost: every way of making requests (a file, a synthetic spec, --rate-scale) refuses more than
 * MAX_TRACE_REQUESTS before allocating; a FIFO or /dev/stdin is read (with the byte cap) rather than called empty;
 * the simulator refuses a span of more than MAX_SIM_INTERVALS intervals, so memory follows requests, not time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { checkSimulationSpan, MAX_SIM_INTERVALS } from '../../../src/sim/span.js';
import { binTrace } from '../../../src/sim/intervals.js';
import { generateSynthetic, parseSyntheticSpec, readTrace, scaleRate } from '../../../src/sim/traces/index.js';
import { checkRequestCount, MAX_TRACE_REQUESTS } from '../../../src/sim/traces/limits.js';
import { streamLines, TooManyBytesError } from '../../../src/sim/traces/lines.js';
import type { Trace } from '../../../src/sim/types.js';
import { fixture, isSorted } from './helpers.js';

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  return [];
}

async function problemsAsync(run: () => Promise<unknown>): Promise<string[]> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InputError) return error.problems;
    throw error;
  }
  return [];
}

const AZURE = 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n';

function columns(arrival: number[]): Trace {
  return {
    name: 'test',
    format: 'azure',
    arrival: Float64Array.from(arrival),
    isl: Uint32Array.from(arrival, () => 100),
    osl: Uint32Array.from(arrival, () => 10),
    durationSeconds: arrival.at(-1) ?? 0,
    skipped: { count: 0, examples: [] },
  };
}

describe('the request cap', () => {
  it('is stated, and refused with what to change', () => {
    expect(MAX_TRACE_REQUESTS).toBe(20_000_000);
    expect(problems(() => checkRequestCount('--rate-scale', 3e7, '3 requests x 1e7', 'use a smaller factor'))).toEqual([
      '--rate-scale: 3 requests x 1e7 would make 30,000,000 requests, more than the 20,000,000 one simulation replays; use a smaller factor',
    ]);
  });

  it('--rate-scale 1e15 is a clear error, not "Invalid typed array length"', () => {
    expect(problems(() => scaleRate(columns([0, 1, 2]), 1e15, 1))).toEqual([
      '--rate-scale: 3 requests x 1000000000000000 would make 3.000e+15 requests, more than the 20,000,000 one simulation replays; use a smaller factor or a shorter trace',
    ]);
  });

  it('--rate-scale 1e5 is not quadratic: 200,000 copies of two requests come out sorted, each request x 1e5', () => {
    const scaled = scaleRate(columns([0, 10]), 1e5, 3);
    expect(scaled.arrival.length).toBe(200_000);
    expect(isSorted(scaled.arrival)).toBe(true);
    expect(scaled.arrival[0]).toBe(0);
    expect(scaled.arrival.at(-1)).toBe(10);
  });

  it('keeps the insertion-sort result for small factors (the same copies, the same order)', () => {
    const a = scaleRate(columns([0, 1, 1.2, 5, 9]), 3.7, 11);
    expect(isSorted(a.arrival)).toBe(true);
    expect(a.arrival.length).toBeGreaterThanOrEqual(15);
  });

  it.each([
    ['synthetic:burst?rate=2&height=1e300&duration=1h', 'a mean rate of 2.00e+299/s for 1h would make 7.200e+302 requests'],
    ['synthetic:poisson?rate=1e9&duration=1d', 'a mean rate of 1.00e+9/s for 1d would make 86,400,000,000,000 requests'],
    ['synthetic:poisson?rate=1&duration=99999999999d', 'a mean rate of 1/s for 99999999999d would make 8.640e+15 requests'],
  ])('a synthetic spec past the cap is refused before drawing: %s', (spec, message) => {
    const lines = problems(() => generateSynthetic(parseSyntheticSpec(spec), 1));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(lines[0]).toContain('more than the 20,000,000 one simulation replays; lower the rate or shorten the duration');
  });

  it('a burst whose peak needs too many draws is refused even when its mean is small', () => {
    const lines = problems(() => generateSynthetic(parseSyntheticSpec('synthetic:burst?rate=0.001&height=1e8&length=1&every=1d&duration=30d'), 1));
    expect(lines[0]).toMatch(/its peak rate 100000\/s for 30d means drawing 259,200,000,000 candidate arrivals/);
  });
});

describe('non-regular trace files', () => {
  it('a FIFO is read like a file, not reported as "trace file is empty"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-fifo-'));
    const fifo = join(dir, 'trace.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = import('node:fs').then((fs) => fs.promises.writeFile(fifo, AZURE));
    const trace = await readTrace(fifo);
    await writer;
    expect(trace.arrival.length).toBe(2);
  });

  it('an empty FIFO says what it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pd-fifo-'));
    const fifo = join(dir, 'empty.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = import('node:fs').then((fs) => fs.promises.writeFile(fifo, ''));
    const lines = await problemsAsync(() => readTrace(fifo));
    await writer;
    expect(lines).toEqual([`${fifo}: not a regular file, and reading it gave no trace lines (nothing was written to it?)`]);
  });

  it('/dev/zero is refused from its first bytes (binary), not read to exhaustion', async () => {
    const lines = await problemsAsync(() => readTrace('/dev/zero'));
    expect(lines[0]).toMatch(/^\/dev\/zero: looks like a binary file \(NUL byte at offset 0\)/);
  });

  it('streamLines stops past its byte cap (what bounds a device or FIFO that never ends)', async () => {
    const path = fixture('big.csv', 'x\n'.repeat(100_000));
    await expect(streamLines(path, () => {}, { maxBytes: 1000 })).rejects.toBeInstanceOf(TooManyBytesError);
  });
});

describe('the simulated span', () => {
  it('a two-line trace from 2000 to 2010 is refused by interval count, before anything is sized by it', async () => {
    const path = fixture('decade.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2000-01-01 00:00:00.0000000,100,10\n2010-01-01 00:00:00.0000000,100,10\n');
    const trace = await readTrace(path);
    expect(trace.arrival.length).toBe(2);
    const lines = problems(() => binTrace(trace, 60));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d+-decade\.csv: spans 3653d, 5,260,320 intervals of 1m; a simulation covers at most 100,000 intervals \(69d10h40m at this interval\)/);
  });

  it('an astronomical span is written in a few digits (a Timestamp of 1e308 s printed a 300-digit count)', () => {
    const lines = problems(() => checkSimulationSpan(columns([0, 1e308]), 60));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/: spans 1\.000e\+308 s, 1\.667e\+306 intervals of 1m; a simulation covers at most 100,000 intervals/);
    expect(lines[0]!.length).toBeLessThan(300);
  });

  it('a span of exactly MAX_SIM_INTERVALS intervals is fine', () => {
    expect(() => checkSimulationSpan(columns([0, MAX_SIM_INTERVALS * 60]), 60)).not.toThrow();
    expect(() => checkSimulationSpan(columns([0, MAX_SIM_INTERVALS * 60 + 1]), 60)).toThrow(InputError);
  });
});
