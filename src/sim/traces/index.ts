import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, messageOf } from '../../errors.js';
import { problemLine } from '../../config/encoding.js';
import type { Trace } from '../types.js';
import { TraceBuilder } from './builder.js';
import { azureParser } from './formats/azure.js';
import { burstGptParser } from './formats/burstgpt.js';
import { detectFormat, FORMAT_HINT } from './formats/detect.js';
import { mooncakeParser } from './formats/mooncake.js';
import type { RowParser, TraceFileFormat } from './formats/row.js';
import { quote } from './fields.js';
import { formatSize } from '../../config/read.js';
import { formatCount, MAX_TRACE_BYTES, MAX_TRACE_REQUESTS } from './limits.js';
import { LineTooLongError, streamLines, TooManyBytesError } from './lines.js';
import { scaleRate, speedUp } from './rate-scale.js';
import { generateSynthetic, isSyntheticSpec, parseSyntheticSpec } from './synthetic.js';
import { isScenarioSpec, readScenario } from '../scenarios/index.js';

export type { TraceFileFormat } from './formats/row.js';
export { detectFormat } from './formats/detect.js';
export { scaleRate, speedUp, DEFAULT_MAX_JITTER_SECONDS, type RateScaleOptions } from './rate-scale.js';
export {
  generateSynthetic,
  parseSyntheticSpec,
  isSyntheticSpec,
  rateAt,
  peakRate,
  SYNTHETIC_PREFIX,
  type SyntheticSpec,
  type ArrivalShape,
  type LengthDistribution,
} from './synthetic.js';

export interface ReadTraceOptions {
  /** File format; 'auto' (default) tells it from the first line's content. */
  format?: TraceFileFormat | 'auto';
  /** Multiply the arrival rate, keeping duration and shape (see scaleRate). Default 1. */
  rateScale?: number;
  /** Replay time faster by this factor (`--speedup`): arrivals and duration divided by it. Default 1. */
  speedup?: number;
  /** Seed for rate scaling and synthetic generation. Default 1. */
  seed?: number;
  /** Called after each chunk (1 MB) is read. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Bad lines kept as examples in trace.skipped (all are counted). */
const MAX_SKIPPED_EXAMPLES = 20;

const DEFAULT_SEED = 1;

const BUNDLED_DIR = new URL('../../../traces/', import.meta.url);

/** Paths of the traces shipped in `traces/` (see traces/README.md for sources and licences). */
export const BUNDLED_TRACES = {
  azureCode2023: fileURLToPath(new URL('azure-llm-2023/AzureLLMInferenceTrace_code.csv', BUNDLED_DIR)),
  azureConv2023: fileURLToPath(new URL('azure-llm-2023/AzureLLMInferenceTrace_conv.csv', BUNDLED_DIR)),
  mooncakeSynthetic: fileURLToPath(new URL('mooncake-fast25/synthetic_trace.jsonl', BUNDLED_DIR)),
} as const;

/** The trace used when none is given: the bundled Azure 2023 code trace (8,819 requests, ~57 min). */
export function defaultTracePath(): string {
  return BUNDLED_TRACES.azureCode2023;
}

/**
 * Read a request trace (Azure LLM CSV 2023/2024, BurstGPT CSV, Mooncake JSONL) or generate one from a
 * `synthetic:...` or `scenario:...` (src/sim/scenarios/) spec, then apply speedup and rate scaling.
 *
 * The file is streamed (1 MB chunks), never read whole. Arrivals come out sorted and relative to the
 * first request; an unsorted file is sorted and says so in `warnings`. Bad lines are counted with line
 * numbers and reasons in `skipped` and the run goes on. InputError (exit 2) when the file is missing,
 * empty, binary, of an unknown format, has no usable request, or has a line that must not be read at all (a Mooncake
 * line with a key given twice).
 */
export async function readTrace(path: string, opts: ReadTraceOptions = {}): Promise<Trace> {
  const seed = opts.seed ?? DEFAULT_SEED;
  let trace = isSyntheticSpec(path)
    ? generateSynthetic(parseSyntheticSpec(path), seed)
    : isScenarioSpec(path)
      ? readScenario(path, seed)
      : await readTraceFile(path, opts);
  if (opts.speedup !== undefined && opts.speedup !== 1) trace = speedUp(trace, opts.speedup);
  if (opts.rateScale !== undefined && opts.rateScale !== 1) trace = scaleRate(trace, opts.rateScale, seed);
  return trace;
}

/**
 * The size of a trace file, or undefined for something that is not a regular file but can be read (a FIFO,
 * /dev/stdin, a device): those report size 0 and are read like any file, up to MAX_TRACE_BYTES.
 */
async function fileSize(path: string): Promise<number | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError([`${path}: trace file not found`]);
    if (code === 'EACCES') throw new InputError([`${path}: trace file is not readable (permission denied)`]);
    throw new InputError([`${path}: cannot open trace file (${messageOf(error)})`]);
  }
  if (info.isDirectory()) throw new InputError([`${path}: is a directory, not a trace file`]);
  if (!info.isFile()) return undefined;
  if (info.size === 0) throw new InputError([`${path}: trace file is empty`]);
  if (info.size > MAX_TRACE_BYTES) {
    throw new InputError([`${path}: is ${formatSize(info.size)}, more than the ${formatSize(MAX_TRACE_BYTES)} a trace may be; cut it (e.g. head -n) or thin it first`]);
  }
  return info.size;
}

/** Read one trace file; exported for callers that want no scaling. */
async function readTraceFile(
  path: string,
  opts: Pick<ReadTraceOptions, 'format' | 'onProgress'> = {},
): Promise<Trace> {
  const requested = opts.format ?? 'auto';
  if (!['auto', 'azure', 'burstgpt', 'mooncake'].includes(requested)) {
    throw new InputError([`trace format ${JSON.stringify(requested)} is not one of auto, azure, burstgpt, mooncake`]);
  }
  const size = await fileSize(path);
  // Pre-size for ~40 bytes per line (an Azure 2023 line is 36); growth doubles if that is short.
  const builder = new TraceBuilder(Math.min((size ?? 0) / 40 + 16, 1 << 24));
  const skipped: Trace['skipped'] = { count: 0, examples: [] };
  const excluded = new Map<string, number>();
  let parser: RowParser | undefined;
  let dataLines = 0;

  const onLine = (raw: string, lineNumber: number, unterminated?: boolean): void => {
    const line = parser === undefined && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw; // UTF-8 BOM
    // Blank lines hold no request (trim only when the line starts with white space: it is hot code).
    if (line.length === 0 || (line.charCodeAt(0) <= 32 && line.trim() === '')) return;
    if (parser === undefined) {
      parser = chooseParser(path, line, lineNumber, requested);
      if (parser.format !== 'mooncake') return; // CSV header line
    }
    dataLines++;
    const outcome = parser.parse(line);
    if (outcome === null) {
      if (builder.length === MAX_TRACE_REQUESTS) {
        throw new InputError([`${path}:${lineNumber}: more than ${formatCount(MAX_TRACE_REQUESTS)} requests, the most one simulation replays; cut the trace (e.g. head -n) or thin it first`]);
      }
      builder.push(parser.row.time, parser.row.isl, parser.row.osl);
    } else if (typeof outcome === 'string') {
      skipped.count++;
      // A line holding carriage returns is several lines of a file with old-Mac line endings (the CSV formats say so
      // when they read the header; a Mooncake file has none).
      const reason = line.includes('\r') ? `${outcome}; ${crOnlyHint(path)}` : unterminated ? `${outcome} (the last line has no newline: was the file cut short?)` : outcome;
      if (skipped.examples.length < MAX_SKIPPED_EXAMPLES) skipped.examples.push({ line: lineNumber, reason });
    } else if ('refuse' in outcome) {
      throw new InputError(outcome.refuse.map((reason) => `${path}:${lineNumber}: ${reason}`));
    } else {
      excluded.set(outcome.exclude, (excluded.get(outcome.exclude) ?? 0) + 1);
    }
  };

  try {
    await streamLines(path, onLine, {
      ...(size !== undefined ? { totalBytes: size } : {}),
      maxBytes: MAX_TRACE_BYTES,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      onBinary: (problem) => {
        const line = problemLine(path, problem, 'in the first 1 KB');
        throw new InputError([problem.kind === 'binary' ? `${line}; ${FORMAT_HINT}` : line]);
      },
    });
  } catch (error) {
    if (error instanceof LineTooLongError) {
      const hint = error.carriageReturn ? crOnlyHint(path) : `the file is probably not a trace in a supported format, or not one request per line; ${FORMAT_HINT}`;
      throw new InputError([`${path}:${error.lineNumber}: ${error.message}; ${hint}`]);
    }
    if (error instanceof TooManyBytesError) {
      throw new InputError([`${path}: more than ${formatSize(MAX_TRACE_BYTES)}, the most a trace may be; cut it (e.g. head -n) or thin it first`]);
    }
    throw error;
  }

  if (size === undefined && parser === undefined && dataLines === 0 && skipped.count === 0) {
    // A FIFO or /dev/stdin that gave nothing: "empty" is the truth, but say what it was.
    throw new InputError([`${path}: not a regular file, and reading it gave no trace lines (nothing was written to it?)`]);
  }
  if (parser === undefined) throw new InputError([`${path}: trace file has only blank lines`]);
  if (builder.length === 0) throw noUsableRequest(path, parser, dataLines, skipped, excluded);

  const { arrival, isl, osl } = builder.finish();
  const warnings: string[] = [];
  if (builder.outOfOrder > 0) {
    warnings.push(
      `${path}: ${builder.outOfOrder} request(s) arrived earlier than the line before (first: request #${builder.firstOutOfOrder + 1}); the trace was sorted by arrival`,
    );
  }
  if (skipped.count > 0) {
    const first = skipped.examples[0] as { line: number; reason: string };
    warnings.push(`${path}: ${skipped.count} bad line(s) skipped; first ${path}:${first.line}: ${first.reason}`);
  }
  for (const [reason, count] of excluded) warnings.push(`${path}: ${count} ${reason} left out of the load`);
  return {
    name: basename(path),
    format: parser.format,
    arrival,
    isl,
    osl,
    durationSeconds: arrival.length > 0 ? (arrival[arrival.length - 1] as number) : 0,
    skipped,
    ...(excluded.size > 0 ? { excluded: [...excluded].map(([reason, count]) => ({ count, reason })) } : {}),
    warnings,
  };
}

function chooseParser(path: string, firstLine: string, lineNumber: number, requested: TraceFileFormat | 'auto'): RowParser {
  const format = requested === 'auto' ? detectFormat(firstLine) : requested;
  if (format === undefined) {
    const hint = firstLine.includes('\r') ? crOnlyHint(path) : FORMAT_HINT;
    throw new InputError([`${path}:${lineNumber}: cannot tell the trace format from ${quote(firstLine)}; ${hint}`]);
  }
  const parser = format === 'azure' ? azureParser(firstLine) : format === 'burstgpt' ? burstGptParser(firstLine) : mooncakeParser();
  // With --trace-format given, a CR-only file's header runs into its data lines: the same hint.
  if (typeof parser === 'string') throw new InputError([`${path}:${lineNumber}: ${parser}${firstLine.includes('\r') ? `; ${crOnlyHint(path)}` : ''}`]);
  return parser;
}

/**
 * What to do about a line holding carriage returns: the file was saved with CR-only line endings (Excel's
 * "CSV (Macintosh)"), so it reads as one line.
 */
function crOnlyHint(path: string): string {
  return `its lines end in a carriage return alone (old Mac line endings), so the file reads as one line; convert them to newlines, e.g. tr '\\r' '\\n' < ${path} > fixed.csv`;
}

function noUsableRequest(
  path: string,
  parser: RowParser,
  dataLines: number,
  skipped: Trace['skipped'],
  excluded: Map<string, number>,
): InputError {
  if (dataLines === 0) return new InputError([`${path}: ${parser.format} header but no request lines`]);
  const problems = skipped.examples.slice(0, 5).map((e) => `${path}:${e.line}: ${e.reason}`);
  if (skipped.count > problems.length) problems.push(`${path}: ... and ${skipped.count - problems.length} more bad line(s)`);
  for (const [reason, count] of excluded) problems.push(`${path}: ${count} ${reason} left out of the load`);
  const first = skipped.examples[0];
  const summary = first
    ? `${path}: no usable request in ${dataLines} line(s); first bad line ${path}:${first.line}: ${first.reason}`
    : `${path}: no usable request in ${dataLines} line(s): all were left out (${[...excluded.keys()].join('; ')})`;
  return new InputError(problems, summary);
}
