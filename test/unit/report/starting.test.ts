/** The reports' line on GPU-hours spent on replicas still starting (src/sim/report/starting.ts). */
import { describe, expect, it } from 'vitest';
import { startingLines } from '../../../src/sim/report/starting.js';
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
  it('appears in the Markdown summary', () => {
    const report = sampleReport();
    report.runs[0]!.gpuHours = { ...report.runs[0]!.gpuHours, starting: 1.88 };
    expect(reportMarkdown(report)).toContain('- Starting: policy: 1.88 of 18.80 GPU-hours (10.0%) on replicas still starting.');
  });
});
