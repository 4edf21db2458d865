/** The reports' line on GPU-hours spent on replicas still starting (src/sim/report/starting.ts). */
import { describe, expect, it } from 'vitest';
import { startingLines, startingSummary } from '../../../src/sim/report/starting.js';
import { summaryTable } from '../../../src/sim/report/terminal.js';
import { reportMarkdown } from '../../../src/sim/report/markdown.js';
import { sampleReport } from '../../fixtures/sample-report.js';

describe('startingLines', () => {
  it('says what share of each run\'s GPU-hours was replicas starting, and nothing for runs without any', () => {
    const runs = [
      { policy: 'policy', gpuHours: { total: 14.1, spot: 6, onDemand: 8.1, starting: 1.6 } },
      { policy: 'static', gpuHours: { total: 13.9, spot: 6, onDemand: 7.9, starting: 0 } },
      { policy: 'old', gpuHours: { total: 10, spot: 5, onDemand: 5 } },
    ];
    expect(startingLines(runs)).toEqual(['policy: 1.60 of 14.10 GPU-hours (11.3%) on replicas still starting.']);
  });
  it('the terminal gets every run on one line, and no line when no run started a replica', () => {
    const runs = [
      { policy: 'policy', gpuHours: { total: 50.14, spot: 20, onDemand: 30.14, starting: 3.44 } },
      { policy: 'hpa-tuned', gpuHours: { total: 45.39, spot: 20, onDemand: 25.39, starting: 0.8 } },
    ];
    expect(startingSummary(runs)).toBe('Starting: policy 3.44 of 50.14 GPU-hours (6.9%), hpa-tuned 0.80 of 45.39 (1.8%) on replicas still starting.');
    expect(startingSummary([{ policy: 'static', gpuHours: { total: 10, spot: 5, onDemand: 5, starting: 0 } }])).toBeUndefined();
    expect(startingSummary([{ policy: 'old', gpuHours: { total: 10, spot: 5, onDemand: 5 } }])).toBeUndefined();
    const report = sampleReport();
    report.runs[0]!.gpuHours = { ...report.runs[0]!.gpuHours, starting: 1.88 };
    expect(summaryTable(report)).toContain('Starting: policy 1.88 of 18.80 GPU-hours (10.0%)');
  });
  it('appears in the Markdown summary', () => {
    const report = sampleReport();
    report.runs[0]!.gpuHours = { ...report.runs[0]!.gpuHours, starting: 1.88 };
    expect(reportMarkdown(report)).toContain('- Starting: policy: 1.88 of 18.80 GPU-hours (10.0%) on replicas still starting.');
  });
});
