// Runs many pd-planner command lines in ONE node process, through the same entry the binary uses
// (src/cli/program.ts `main`, loaded with tsx exactly as bin/pd-planner.js does), so the bad-input suite does not
// pay node + tsx start-up (~0.6 CPU-second) per case.
//
//   node test/integration/bad-input-runner.mjs CASES.json RESULTS.json
//
// CASES.json is a list of argument lists (without "node pd-planner"); RESULTS.json gets, per case,
// { status, stdout, stderr, ms, maxRssKb }: the case's wall time and the process's peak resident set size once it
// has run (process.resourceUsage().maxRSS; a peak, so it only grows from case to case). Anything that escapes main(), and any unhandled rejection or uncaught exception
// while a case runs, is appended to that case's stderr with its stack, so the suite sees it as the crash it is.
import { Buffer } from 'node:buffer';
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { setImmediate } from 'node:timers';
import { performance } from 'node:perf_hooks';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../../src/cli/program.ts');

const [casesFile, resultsFile] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const realOut = process.stdout.write;
const realErr = process.stderr.write;
let current;

const text = (chunk) => (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
const capture = (key) =>
  function write(chunk, ...rest) {
    if (current) current[key] += text(chunk);
    const done = rest.find((r) => typeof r === 'function');
    if (done) done();
    return true;
  };
const escaped = (kind) => (error) => {
  if (current) current.stderr += `${kind}: ${error?.stack ?? String(error)}\n`;
  else realErr.call(process.stderr, `${kind} between cases: ${error?.stack ?? String(error)}\n`);
};
process.on('unhandledRejection', escaped('Unhandled rejection'));
process.on('uncaughtException', escaped('Uncaught exception'));

const results = [];
for (const args of cases) {
  current = { status: -1, stdout: '', stderr: '', ms: 0, maxRssKb: 0 };
  process.exitCode = undefined;
  const started = performance.now();
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  try {
    const code = await main(['node', 'pd-planner', ...args]);
    current.status = code !== 0 ? code : Number(process.exitCode ?? 0);
  } catch (error) {
    current.status = 1;
    current.stderr += `escaped main(): ${error?.stack ?? String(error)}\n`;
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
  }
  // Let stray callbacks of this case (streams, timers) surface while it is still the current one.
  await new Promise((resolve) => setImmediate(resolve));
  current.ms = Math.round(performance.now() - started);
  current.maxRssKb = process.resourceUsage().maxRSS;
  results.push(current);
  current = undefined;
}
process.exitCode = 0;
writeFileSync(resultsFile, JSON.stringify(results));
