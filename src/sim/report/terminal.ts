/** The compact summary `pd-planner simulate` prints: one aligned row per run, plain text. */
import type { SimReport } from '../types.js';
import { fmtGpuHours, fmtInt, fmtMoney, fmtMs, fmtPct, fmtRatio, fmtSavedGpuHours, fmtSavedMoney } from './format.js';
import { sloLine, traceLine, simLine, yardstickLines } from './markdown.js';
import { CURRENT_RUN, findRun, POLICY_RUN, summaryRows, type LatencyVsSlo } from './summary.js';
import { startingSummary } from './starting.js';
import { gpuLayerLine } from './gpu-layers.js';
import { textTable, type Align } from './table.js';

/** "412" within the SLO, "612!" over it: a plain-ASCII mark that survives any terminal. */
function latency(l: LatencyVsSlo): string {
  return `${fmtMs(l.value)}${l.ok ? '' : '!'}`;
}

export function summaryTable(report: SimReport): string {
  const rows = summaryRows(report);
  const ttftKey = rows[0]?.ttft.key ?? 'p95';
  const itlKey = rows[0]?.itl.key ?? 'p95';
  const withCurrent = findRun(report, CURRENT_RUN) !== undefined;
  const policyRun = findRun(report, POLICY_RUN);
  const headers = [
    'run', 'kind', 'SLO met', `TTFT ${ttftKey}`, `ITL ${itlKey}`, 'GPU-h', 'x bound', 'x hindsight', 'cost',
    ...(withCurrent ? ['saved GPU-h', 'saved $'] : []), 'evicted', 'dropped',
  ];
  const align: Align[] = ['left', 'left', ...headers.slice(2).map((): Align => 'right')];
  const cells = rows.map((r) => [
    r.policy,
    r.kind,
    fmtPct(r.attainment.both),
    latency(r.ttft),
    latency(r.itl),
    fmtGpuHours(r.gpuHours.total),
    fmtRatio(r.xBound).replace('×', 'x'),
    fmtRatio(r.xHindsight).replace('×', 'x'),
    fmtMoney(r.cost),
    ...(withCurrent ? [fmtSavedGpuHours(r.savedVsCurrent?.gpuHours).replace('−', '-'), fmtSavedMoney(r.savedVsCurrent?.cost).replace('−', '-')] : []),
    fmtInt(r.evictions),
    fmtInt(r.dropped),
  ]);
  return [
    `trace: ${traceLine(report)}`,
    `SLO:   ${sloLine(report)} (latencies in ms; "!" = over the SLO)${withCurrent ? '; saved = against current, the replicas run today' : ''}`,
    '',
    textTable(headers, cells, align),
    '',
    ...yardstickLines(report).map((l) => l.replace(/×/g, 'x')),
    ...[startingSummary(report.runs)].filter((l): l is string => l !== undefined),
    ...[policyRun ? gpuLayerLine(policyRun) : undefined].filter((l): l is string => l !== undefined).map((l) => `GPU-hours by rule: ${l}`),
    '',
    `simulated ${simLine(report)}`,
  ].join('\n');
}
