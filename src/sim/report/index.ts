/** Simulation reports: report.json / report.md / report.html, the terminal summary, and sweep reports. */
export { reportJson, reportObject } from './json.js';
export { reportMarkdown } from './markdown.js';
export { reportHtml } from './html.js';
export { summaryTable } from './terminal.js';
export { writeReport } from './write.js';
export { summaryRows, type SummaryRow } from './summary.js';
export { reportCharts, type Chart } from './charts.js';
export { renderSvg } from './svg.js';
export {
  writeSweepReport, sweepSummaryTable, sweepJson, sweepMarkdown, sweepHtml, sweepChartSpec, scenarioDirName,
  type SweepWriteOptions,
} from './sweep.js';
export type { SweepReport, ReportPaths, SweepReportPaths } from './types.js';
