/**
 * Structured JSON logs (pino) for the service. Secrets never reach the log: any field named like a
 * credential (authorization, token, password, secret, bearer, cookie), at the top level or one/two levels
 * down, is replaced by "[redacted]", and bearer tokens and URL credentials inside free-text messages are masked too.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = ['authorization', 'Authorization', 'token', 'bearerToken', 'password', 'secret', 'cookie', 'apiKey'];

/** pino redact paths: the key itself, one level down (`*.token`) and two levels down (`*.*.token`). */
const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.headers.${key}`]);

/** `json`: one JSON object a line (for log collectors); `text`: "time LEVEL message" (for a terminal). */
export type LogFormat = 'json' | 'text';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

export interface LoggerOptions {
  level?: string;
  /** Default json. */
  format?: LogFormat;
  /** Where to write (tests pass a stream); default stdout. */
  destination?: DestinationStream;
  name?: string;
}

/** "Bearer abc.def" -> "Bearer [redacted]" inside any string. */
export function maskBearer(text: string): string {
  return text.replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]');
}

/**
 * Credentials inside URLs ("http://user:pass@host", "nats://token@host") -> "scheme://[redacted]@host", anywhere in
 * a string. Policy files may carry them (Prometheus basic auth, NATS tokens) and error messages quote the URL.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>]+@/gi, '$1[redacted]@');
}

/** maskBearer + redactUrlCredentials. */
function maskSecrets(text: string): string {
  return redactUrlCredentials(maskBearer(text));
}

/**
 * A JSON log line as a person reads it: "2026-12-07T03:39:34.750Z WARN  prometheus ... unknown this tick", with the
 * error's message when the line carries one. The JSON fields stay in the json format; this one is for terminals.
 * A line that is not JSON passes through as it is.
 */
export function textLine(json: string): string {
  let entry: { time?: string; level?: string; msg?: string; err?: { message?: string } | string };
  try {
    entry = JSON.parse(json) as typeof entry;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const err = typeof entry.err === 'string' ? entry.err : entry.err?.message;
  const msg = entry.msg ?? '';
  const detail = err && !msg.includes(err) ? ` (${err})` : '';
  return `${entry.time ?? ''} ${(entry.level ?? '').toUpperCase().padEnd(5)} ${msg}${detail}\n`;
}

/** A pino destination that writes each line as textLine formats it. */
function textDestination(out: DestinationStream): DestinationStream {
  return { write: (line: string) => out.write(textLine(line)) };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'pd-planner',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        // Free-text messages may quote an HTTP header (an error from a client library, say).
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? maskSecrets(arg) : arg)) as typeof args;
          return method.apply(this, masked);
        },
      },
    },
    options.format === 'text' ? textDestination(options.destination ?? process.stdout) : options.destination,
  );
}

/** A logger that drops everything (tests, library callers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
