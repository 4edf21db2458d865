import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.js';
import { BUNDLED_TRACES, defaultTracePath, detectFormat, readTrace } from '../../../src/sim/traces/index.js';
import { fixture, isSorted, mean } from './helpers.js';

async function inputError(promise: Promise<unknown>): Promise<InputError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

describe('bundled real traces', () => {
  // Reference figures computed independently with Python's csv/json modules.
  it('Azure 2023 code: 8,819 requests over 3,435.948 s, mean ISL 2,047.8, OSL 27.9', async () => {
    const trace = await readTrace(BUNDLED_TRACES.azureCode2023);
    expect(trace.format).toBe('azure');
    expect(trace.name).toBe('AzureLLMInferenceTrace_code.csv');
    expect(trace.arrival.length).toBe(8819);
    expect(trace.durationSeconds).toBeCloseTo(3435.948056, 6);
    expect(mean(trace.isl)).toBeCloseTo(2047.848, 2);
    expect(mean(trace.osl)).toBeCloseTo(27.883, 2);
    expect(trace.arrival[0]).toBe(0);
    // Second line 2023-11-16 18:17:04.0319600 minus first 18:17:03.9799600.
    expect(trace.arrival[1]).toBeCloseTo(0.052, 9);
    expect(trace.isl[0]).toBe(4808);
    expect(trace.osl[0]).toBe(10);
    expect(trace.skipped.count).toBe(0);
    expect(trace.warnings).toEqual([]);
    expect(isSorted(trace.arrival)).toBe(true);
  });

  it('Azure 2023 conversation: 19,366 requests over 3,501.722 s, mean ISL 1,154.7, OSL 211.1', async () => {
    const trace = await readTrace(BUNDLED_TRACES.azureConv2023);
    expect(trace.arrival.length).toBe(19366);
    expect(trace.durationSeconds).toBeCloseTo(3501.721937, 6);
    expect(mean(trace.isl)).toBeCloseTo(1154.697, 2);
    expect(mean(trace.osl)).toBeCloseTo(211.126, 2);
  });

  it('Mooncake synthetic: 3,993 requests over 1,022.025 s, mean ISL 15,325.5, OSL 149.1', async () => {
    const trace = await readTrace(BUNDLED_TRACES.mooncakeSynthetic);
    expect(trace.format).toBe('mooncake');
    expect(trace.arrival.length).toBe(3993);
    expect(trace.durationSeconds).toBeCloseTo(1022.025, 9);
    expect(mean(trace.isl)).toBeCloseTo(15325.477, 2);
    expect(mean(trace.osl)).toBeCloseTo(149.119, 2);
    expect(trace.isl[0]).toBe(40160);
  });

  it('defaultTracePath is the bundled Azure code trace, found without relying on the working directory', () => {
    const path = defaultTracePath();
    expect(path.endsWith(join('traces', 'azure-llm-2023', 'AzureLLMInferenceTrace_code.csv'))).toBe(true);
    expect(statSync(path).size).toBe(320117);
  });

  it('reports progress up to the file size', async () => {
    const calls: [number, number][] = [];
    await readTrace(BUNDLED_TRACES.azureConv2023, { onProgress: (read, total) => calls.push([read, total]) });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)).toEqual([719188, 719188]);
  });
});

describe('format detection by content, not file name', () => {
  it('detects each format from its first line', () => {
    expect(detectFormat('TIMESTAMP,ContextTokens,GeneratedTokens')).toBe('azure');
    expect(detectFormat('Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type')).toBe('burstgpt');
    expect(detectFormat('{"timestamp": 0, "input_length": 5, "output_length": 1, "hash_ids": [1]}')).toBe('mooncake');
    expect(detectFormat('time,prompt,completion')).toBeUndefined();
    expect(detectFormat('{"ts": 1}')).toBeUndefined();
  });

  it('reads an Azure CSV named .jsonl and a Mooncake JSONL named .csv', async () => {
    const dir = dirname(fixture('x', ''));
    mkdirSync(join(dir, 'swap'), { recursive: true });
    const azureAsJsonl = join(dir, 'swap', 'code.jsonl');
    const mooncakeAsCsv = join(dir, 'swap', 'moon.csv');
    copyFileSync(BUNDLED_TRACES.azureCode2023, azureAsJsonl);
    copyFileSync(BUNDLED_TRACES.mooncakeSynthetic, mooncakeAsCsv);
    expect((await readTrace(azureAsJsonl)).arrival.length).toBe(8819);
    const moon = await readTrace(mooncakeAsCsv);
    expect(moon.format).toBe('mooncake');
    expect(moon.arrival.length).toBe(3993);
  });

  it('a forced format that does not fit the header is an error naming line 1', async () => {
    const error = await inputError(readTrace(BUNDLED_TRACES.azureCode2023, { format: 'burstgpt' }));
    expect(error.problems[0]).toMatch(/AzureLLMInferenceTrace_code\.csv:1: header "TIMESTAMP,ContextTokens,GeneratedTokens" lacks BurstGPT column\(s\) request tokens, response tokens/);
  });

  it('an unknown header is an error that lists the formats we read', async () => {
    const path = fixture('other.csv', 'time,prompt,completion\n1,2,3\n');
    const error = await inputError(readTrace(path));
    expect(error.problems).toEqual([expect.stringMatching(/other\.csv:1: cannot tell the trace format from "time,prompt,completion"; expected an Azure LLM trace CSV/)]);
  });
});

describe('Azure 2024 format', () => {
  it('reads UTC-offset timestamps with 6 digits, across midnight and with a non-zero offset', async () => {
    const path = fixture('azure2024.csv', [
      'TIMESTAMP,ContextTokens,GeneratedTokens',
      '2024-05-10 23:59:59.990000+00:00,2048,30',
      '2024-05-11 00:00:00.009930+00:00,512,7',
      '2024-05-11 02:00:00.500000+02:00,100,1',
      '',
    ].join('\n'));
    const trace = await readTrace(path);
    expect(trace.format).toBe('azure');
    expect(Array.from(trace.arrival).map((t) => +t.toFixed(6))).toEqual([0, 0.01993, 0.51]);
    expect(Array.from(trace.isl)).toEqual([2048, 512, 100]);
    expect(Array.from(trace.osl)).toEqual([30, 7, 1]);
    expect(trace.durationSeconds).toBeCloseTo(0.51, 9);
  });

  it('accepts CRLF line ends, a UTF-8 BOM, columns in another order and blank lines', async () => {
    const path = fixture('crlf.csv', '\ufeffContextTokens,TIMESTAMP,GeneratedTokens\r\n10,2023-11-16 18:00:00.0000000,1\r\n\r\n20,2023-11-16 18:00:02.5000000,2\r\n');
    const trace = await readTrace(path);
    expect(Array.from(trace.arrival)).toEqual([0, 2.5]);
    expect(Array.from(trace.isl)).toEqual([10, 20]);
    expect(trace.skipped.count).toBe(0);
  });
});

describe('BurstGPT format', () => {
  const burst = [
    'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type',
    '5,ChatGPT,472,18,490,Conversation log',
    '45,ChatGPT,1087,0,1087,Conversation log',
    '118,GPT-4,417,217,634,Conversation log',
    '120,ChatGPT,0,0,0,API log',
    '200,ChatGPT,abc,12,12,API log',
    '311.5,GPT-4,1500,300,1800,API log',
  ].join('\n');

  it('reads requests, leaves failed ones (Response tokens 0) out and counts them apart from bad lines', async () => {
    const trace = await readTrace(fixture('burst.csv', burst));
    expect(trace.format).toBe('burstgpt');
    expect(Array.from(trace.arrival)).toEqual([0, 113, 306.5]);
    expect(Array.from(trace.isl)).toEqual([472, 417, 1500]);
    expect(Array.from(trace.osl)).toEqual([18, 217, 300]);
    expect(trace.durationSeconds).toBe(306.5);
    expect(trace.excluded).toEqual([{ count: 2, reason: 'failed requests (Response tokens = 0)' }]);
    expect(trace.skipped).toEqual({ count: 1, examples: [{ line: 6, reason: 'Request tokens "abc" is not a non-negative integer' }] });
    expect(trace.warnings).toEqual([
      expect.stringMatching(/1 bad line\(s\) skipped; first .*burst\.csv:6: Request tokens "abc"/),
      expect.stringMatching(/2 failed requests \(Response tokens = 0\) left out of the load/),
    ]);
  });

  it('reads quoted fields and extra newer columns (Session ID, Elapsed time)', async () => {
    const path = fixture('burst2.csv', 'Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,"s-1",1.5,"GPT-4",10,20,30,"Conversation log"\n2.25,"s,2",1,"ChatGPT",7,8,15,"API log"\n');
    const trace = await readTrace(path);
    expect(Array.from(trace.arrival)).toEqual([0, 2.25]);
    expect(Array.from(trace.isl)).toEqual([10, 7]);
  });

  it('a file whose requests all failed has nothing to simulate', async () => {
    const path = fixture('allfail.csv', 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,ChatGPT,0,0,0,API log\n');
    const error = await inputError(readTrace(path));
    expect(error.message).toMatch(/no usable request in 1 line\(s\): all were left out \(failed requests/);
  });
});

describe('bad lines', () => {
  it('are counted with line numbers and reasons; the run goes on', async () => {
    const path = fixture('bad.csv', [
      'TIMESTAMP,ContextTokens,GeneratedTokens',
      '2023-11-16 18:17:03.9799600,4808,10',
      '2023-11-16 18:17:04.0319600,abc,8',
      '2023-11-16 18:17:05.0000000,100,5',
      '2023-11-16 18:17:06.0000000,100',
      'yesterday,100,5',
      '2023-11-16 18:17:07.0000000,100,-5',
      '2023-02-30 18:17:07.0000000,100,5',
      '2023-11-16 18:17:08.0000000,100,1.5',
      '2023-11-16 18:17:09.0000000,7,3',
    ].join('\n'));
    const trace = await readTrace(path);
    expect(trace.arrival.length).toBe(3);
    expect(Array.from(trace.isl)).toEqual([4808, 100, 7]);
    expect(trace.durationSeconds).toBeCloseTo(5.02004, 9);
    expect(trace.skipped.count).toBe(6);
    expect(trace.skipped.examples).toEqual([
      { line: 3, reason: 'ContextTokens "abc" is not a non-negative integer' },
      { line: 5, reason: 'expected 3 comma-separated fields, found 2' },
      { line: 6, reason: 'TIMESTAMP "yesterday" is not a date-time like 2023-11-16 18:17:03.9799600' },
      { line: 7, reason: 'GeneratedTokens "-5" is not a non-negative integer' },
      { line: 8, reason: 'TIMESTAMP "2023-02-30 18:17:07.0000000" is not a date-time like 2023-11-16 18:17:03.9799600' },
      { line: 9, reason: 'GeneratedTokens "1.5" is not a non-negative integer' },
    ]);
  });

  it('keeps at most 20 examples but counts every bad line', async () => {
    const lines = ['{"timestamp": 0, "input_length": 1, "output_length": 1}'];
    for (let i = 0; i < 50; i++) lines.push('{"timestamp": 5}');
    const trace = await readTrace(fixture('many.jsonl', lines.join('\n')));
    expect(trace.skipped.count).toBe(50);
    expect(trace.skipped.examples.length).toBe(20);
    expect(trace.skipped.examples[0]).toEqual({ line: 2, reason: 'input_length missing is not a non-negative integer' });
    expect(trace.skipped.examples[19]?.line).toBe(21);
  });

  it('Mooncake lines that are not JSON objects, or have bad fields, are bad lines', async () => {
    const path = fixture('moon.jsonl', [
      '{"timestamp": 1000, "input_length": 100, "output_length": 10, "hash_ids": [1, 2]}',
      'not json',
      '[1, 2, 3]',
      '{"timestamp": -5, "input_length": 100, "output_length": 10}',
      '{"timestamp": 2500, "input_length": 1.5, "output_length": 10}',
      '{"timestamp": 3500, "input_length": 50, "output_length": 5, "extra": "ok"}',
    ].join('\n'));
    const trace = await readTrace(path);
    expect(Array.from(trace.arrival)).toEqual([0, 2.5]);
    expect(trace.skipped.examples.map((e) => e.line)).toEqual([2, 3, 4, 5]);
    expect(trace.skipped.examples[0]?.reason).toMatch(/^not valid JSON/);
    expect(trace.skipped.examples[1]?.reason).toBe('expected a JSON object');
    expect(trace.skipped.examples[2]?.reason).toBe('timestamp -5 is not a non-negative number of milliseconds');
    expect(trace.skipped.examples[3]?.reason).toBe('input_length 1.5 is not a non-negative integer');
  });

  it('a Mooncake line with a key given twice stops the read, naming the line, the key and both columns', async () => {
    const path = fixture('dup.jsonl', [
      '{"timestamp": 0, "input_length": 100, "output_length": 10}',
      '{"timestamp": 1000, "input_length": 200, "output_length": 20, "input_length": 2000, "hash_ids": [{"a": 1, "a": 2}]}',
    ].join('\n'));
    const error = await inputError(readTrace(path));
    expect(error.problems).toEqual([
      `${path}:2: duplicate key "input_length" at column 63 (also at column 21); only one value can be used: keep one`,
      `${path}:2: duplicate key "a" at column 107 (also at column 99); only one value can be used: keep one`,
    ]);
  });

  it('the same key in two objects of a Mooncake line is no duplicate', async () => {
    const trace = await readTrace(fixture('nested.jsonl', '{"timestamp": 0, "input_length": 100, "output_length": 10, "hash_ids": [{"timestamp": 1}]}\n'));
    expect(Array.from(trace.isl)).toEqual([100]);
  });
});

describe('unsorted files', () => {
  it('are sorted by arrival (ISL/OSL follow) and the warning says so', async () => {
    const path = fixture('unsorted.csv', [
      'TIMESTAMP,ContextTokens,GeneratedTokens',
      '2023-11-16 18:00:02.0000000,200,2',
      '2023-11-16 18:00:01.0000000,100,1',
      '2023-11-16 18:00:03.0000000,300,3',
      '2023-11-16 18:00:01.0000000,101,1',
    ].join('\n'));
    const trace = await readTrace(path);
    expect(Array.from(trace.arrival)).toEqual([0, 0, 1, 2]);
    expect(Array.from(trace.isl)).toEqual([100, 101, 200, 300]); // stable: equal times keep file order
    expect(trace.durationSeconds).toBe(2);
    expect(trace.warnings).toEqual([expect.stringMatching(/2 request\(s\) arrived earlier than the line before \(first: request #2\); the trace was sorted by arrival/)]);
  });
});

describe('files that cannot be used are InputErrors (exit 2) naming the file', () => {
  it('missing file', async () => {
    const error = await inputError(readTrace('traces/no-such-trace.csv'));
    expect(error.exitCode).toBe(2);
    expect(error.problems).toEqual(['traces/no-such-trace.csv: trace file not found']);
  });

  it('a directory', async () => {
    const dir = dirname(fixture('y', ''));
    const error = await inputError(readTrace(dir));
    expect(error.problems[0]).toMatch(/is a directory, not a trace file/);
  });

  it('empty file', async () => {
    const path = fixture('empty.csv', '');
    const error = await inputError(readTrace(path));
    expect(error.problems).toEqual([`${path}: trace file is empty`]);
  });

  it('only blank lines', async () => {
    const error = await inputError(readTrace(fixture('blank.csv', '\n  \n\r\n')));
    expect(error.problems[0]).toMatch(/trace file has only blank lines/);
  });

  it('binary: NUL bytes (a gzip file)', async () => {
    const gzip = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x61, 0x62]);
    const error = await inputError(readTrace(fixture('trace.csv.gz', gzip)));
    expect(error.problems[0]).toMatch(/trace\.csv\.gz: looks like a binary file \(NUL byte at offset 3\)/);
  });

  it('binary: invalid UTF-8 in the first KB', async () => {
    const bytes = new Uint8Array([...Buffer.from('TIMESTAMP,'), 0xc3, 0x28, ...Buffer.from('ContextTokens\n')]);
    const error = await inputError(readTrace(fixture('latin.csv', bytes)));
    expect(error.problems[0]).toMatch(/not valid UTF-8 in the first 1 KB/);
  });

  it('CR-only line endings give the same hint whether the format is told from the file or named (--trace-format)', async () => {
    const path = fixture('mac.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\r2023-11-16 18:00:00.0000000,10,1\r');
    const hint = `its lines end in a carriage return alone (old Mac line endings), so the file reads as one line; convert them to newlines, e.g. tr '\\r' '\\n' < ${path} > fixed.csv`;
    for (const format of ['auto', 'azure', 'burstgpt'] as const) {
      const error = await inputError(readTrace(path, { format }));
      expect(error.problems, format).toHaveLength(1);
      expect(error.problems[0]?.startsWith(`${path}:1: `), format).toBe(true);
      expect(error.problems[0]?.endsWith(`; ${hint}`), format).toBe(true);
    }
    // A Mooncake file has no header: its one line is not valid JSON, and says why; a CRLF file's lines are not.
    const jsonl = '{"timestamp": 0, "input_length": 100, "output_length": 10}';
    const mac = fixture('mac.jsonl', `${jsonl}\r${jsonl}\r`);
    const error = await inputError(readTrace(mac, { format: 'mooncake' }));
    expect(error.problems.join('\n')).toContain(`${mac}:1: not valid JSON`);
    expect(error.problems.join('\n')).toContain(`tr '\\r' '\\n' < ${mac}`);
    const crlf = await readTrace(fixture('crlf.jsonl', `${jsonl}\r\n{"timestamp": 1}\r\n${jsonl}\r\n`), { format: 'mooncake' });
    expect(crlf.skipped.count).toBe(1);
    expect(crlf.skipped.examples[0]?.reason).not.toContain('carriage return');
  });

  it('a line longer than 64 MB says it is too long for a trace line and what to do (CR-only line endings: convert them)', async () => {
    const size = 64 * 1024 * 1024 + 1;
    const long = fixture('one-line.csv', Buffer.alloc(size, 'a'));
    const error = await inputError(readTrace(long));
    expect(error.problems).toEqual([
      `${long}:1: line 1 is longer than 64 MB characters, too long for a trace line; the file is probably not a trace in a supported format, or not one request per line; expected an Azure LLM trace CSV (header TIMESTAMP,ContextTokens,GeneratedTokens), a BurstGPT CSV (header Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type) or Mooncake JSONL ({"timestamp": ms, "input_length": n, "output_length": n} per line)`,
    ]);
    const mac = Buffer.alloc(size, '1,2,3\r');
    const cr = fixture('mac-long.csv', mac);
    const crError = await inputError(readTrace(cr));
    expect(crError.problems).toEqual([
      `${cr}:1: line 1 is longer than 64 MB characters, too long for a trace line; its lines end in a carriage return alone (old Mac line endings), so the file reads as one line; convert them to newlines, e.g. tr '\\r' '\\n' < ${cr} > fixed.csv`,
    ]);
  });

  it('a header and no request line', async () => {
    const error = await inputError(readTrace(fixture('header.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n')));
    expect(error.problems[0]).toMatch(/azure header but no request lines/);
  });

  it('no usable line: the error names the first bad line', async () => {
    const path = fixture('x.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,abc,10\n2023-11-16 18:17:04.0000000,5,x\n');
    const error = await inputError(readTrace(path));
    expect(error.problems).toEqual([
      `${path}:2: ContextTokens "abc" is not a non-negative integer`,
      `${path}:3: GeneratedTokens "x" is not a non-negative integer`,
    ]);
    expect(error.message).toBe(`${path}: no usable request in 2 line(s); first bad line ${path}:2: ContextTokens "abc" is not a non-negative integer`);
  });
});

describe('options', () => {
  it('an unknown format name is an InputError', async () => {
    const error = await inputError(readTrace(BUNDLED_TRACES.azureCode2023, { format: 'parquet' as never }));
    expect(error.problems).toEqual(['trace format "parquet" is not one of auto, azure, burstgpt, mooncake']);
  });

  it('speedup divides arrivals and duration', async () => {
    const trace = await readTrace(BUNDLED_TRACES.mooncakeSynthetic, { speedup: 4 });
    expect(trace.durationSeconds).toBeCloseTo(1022.025 / 4, 9);
    expect(trace.arrival.length).toBe(3993);
  });
});
