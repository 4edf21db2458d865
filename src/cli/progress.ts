/**
 * A single-line progress bar for long simulations, on stderr so `--json` output stays clean.
 * Silent (writes nothing at all) when the stream is not a TTY or when CI is set: logs and pipes
 * get no carriage-return noise.
 */
import { fmtDuration, fmtRate } from '../sim/report/format.js';

/** The part of a tty.WriteStream the bar uses. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  /** Work done so far, in the same unit as `total` (e.g. requests replayed). */
  update(done: number): void;
  /** Draw the final state and end the line. Further calls do nothing. */
  done(): void;
}

export interface ProgressOptions {
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
  env?: Record<string, string | undefined>;
  /** Minimum gap between redraws: 100 ms = at most 10 redraws a second. */
  minIntervalMs?: number;
}

const SILENT: Progress = { update() {}, done() {} };

/** CI=true, CI=1, CI=anything except "" / "0" / "false" counts as CI. */
function isCi(env: Record<string, string | undefined>): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * The line for `done` of `total` after `elapsedMs`, fitted to `columns`.
 * Example: ("simulate", 450_000, 1_000_000, 300 ms, 80 cols) ->
 *   "simulate [#############...............]  45%  1.50M/s  ETA 0.37 s"
 * (rate 450,000 / 0.3 s = 1.5M/s; ETA = 550,000 / 1.5M/s = 0.37 s).
 */
export function progressLine(label: string, done: number, total: number, elapsedMs: number, columns = 80): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? done / seconds : 0;
  const rateText = rate > 0 ? `${fmtRate(rate)}/s` : '';
  if (!(total > 0)) {
    // Unknown total: a counter and a rate, no bar.
    return `${label} ${done.toLocaleString('en-US')}  ${rateText}`.trimEnd();
  }
  const fraction = Math.min(1, Math.max(0, done / total));
  const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
  const eta = rate > 0 && fraction < 1 ? `ETA ${fmtDuration((total - done) / rate)}` : fraction >= 1 ? `in ${fmtDuration(seconds)}` : '';
  const tail = `${pct}  ${rateText}  ${eta}`.trimEnd();
  // Leave one column free: writing the last column makes some terminals wrap.
  const barWidth = Math.min(40, columns - 1 - label.length - tail.length - 5);
  if (barWidth < 5) return `${label} ${tail}`.slice(0, Math.max(0, columns - 1));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${tail}`;
}

/**
 * A throttled progress bar: redraws at most every `minIntervalMs` (10 Hz), and not before the first
 * interval has passed, so a run that finishes in under 0.1 s prints nothing at all.
 */
export function createProgress(
  label: string,
  total: number,
  stream: ProgressStream = process.stderr,
  options: ProgressOptions = {},
): Progress {
  const env = options.env ?? process.env;
  if (!stream.isTTY || isCi(env)) return SILENT;
  const now = options.now ?? (() => performance.now());
  const minInterval = options.minIntervalMs ?? 100;
  const start = now();
  let lastDraw = start;
  let drawn = false;
  let finished = false;
  let latest = 0;

  const draw = (t: number): void => {
    stream.write(`\r${progressLine(label, latest, total, t - start, stream.columns ?? 80)}\x1b[K`);
    lastDraw = t;
    drawn = true;
  };

  return {
    update(done: number) {
      if (finished) return;
      latest = done;
      const t = now();
      if (t - lastDraw >= minInterval) draw(t);
    },
    done() {
      if (finished) return;
      finished = true;
      // Only close a line we opened: a fast run stays silent.
      if (drawn) {
        draw(now());
        stream.write('\n');
      }
    },
  };
}
