/**
 * Scale-to-zero's price, in words for the reports: how often a run woke a graph from zero, and what the requests
 * that met a cold start (arrived while a role had no ready replica) got. They are in the attainment and percentiles
 * like every other request; these lines only say how many there were and what they waited.
 * Example: "policy: woke from zero 2 times; 422 requests met a cold start: TTFT p50 1m 57s, max 3m 10s, 0.0% within
 * the TTFT target".
 */
import type { RunResult } from '../types.js';
import { fmtDuration, fmtInt, fmtPct } from './format.js';

function seconds(ms: number): string {
  return Number.isFinite(ms) ? fmtDuration(ms / 1000) : 'n/a';
}

export function coldStartLines(runs: readonly Pick<RunResult, 'policy' | 'coldStarts'>[], label: (run: Pick<RunResult, 'policy'>) => string = (r) => r.policy): string[] {
  const lines: string[] = [];
  for (const run of runs) {
    const c = run.coldStarts;
    if (!c || (c.wakes === 0 && c.requests === 0)) continue;
    const wakes = c.wakes === 0 ? 'never woke from zero' : `woke from zero ${c.wakes} ${c.wakes === 1 ? 'time' : 'times'}`;
    const served =
      c.requests === 0
        ? 'no request met a cold start'
        : `${fmtInt(c.requests)} ${c.requests === 1 ? 'request' : 'requests'} met a cold start (arrived while a role had no ready replica)` +
          (c.completed > 0 ? `: TTFT p50 ${seconds(c.ttftMs.p50)}, max ${seconds(c.maxTtftMs)}, ${fmtPct(c.metTtft / c.completed)} within the TTFT target` : '');
    lines.push(`${label(run)}: ${wakes}; ${served}.`);
  }
  return lines;
}
