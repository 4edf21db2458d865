/**
 * Structured JSON logs (pino) for the service. Secrets never reach the log: any field named like a
 * credential (authorization, token, password, secret, bearer, cookie), at the top level or one/two levels
 * down, is replaced by "[redacted]", and bearer tokens and URL credentials inside free-text messages are masked too.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

const SECRET_KEYS = ['authorization', 'Authorization', 'token', 'bearerToken', 'password', 'secret', 'cookie', 'apiKey'];

/** pino redact paths: the key itself, one level down (`*.token`) and two levels down (`*.*.token`). */
export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.headers.${key}`]);

export interface LoggerOptions {
  level?: string;
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
export function maskSecrets(text: string): string {
  return redactUrlCredentials(maskBearer(text));
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
    options.destination,
  );
}

/** A logger that drops everything (tests, library callers that pass none). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
