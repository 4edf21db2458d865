/**
 * `pd-planner run --dry-run --once --connector virtual` on a machine with no cluster, Prometheus or NATS (the
 * README's dry run): exit 1 (the tick held: its sources could not be read) with one short line on stderr saying why,
 * one line per event at its level, a warning per unreachable source naming the fields it
 * left unknown, a short info line for the decision, and the long detail only at debug.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli } from '../fixtures/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pd-run-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The example policy with its sources on a local port nothing listens on: refused at once, no DNS wait.
const policy = join(dir, 'sla.yaml');
writeFileSync(policy, readFileSync(new URL('../../examples/sla.yaml', import.meta.url), 'utf8')
  .replace('http://prometheus.monitoring:9090', 'http://127.0.0.1:9')
  .replace('nats://nats.dynamo:4222', 'nats://127.0.0.1:9'));

interface Line { level: string; event?: string; msg: string; source?: string; fields?: string[]; held?: boolean }

describe('run --dry-run --once --connector virtual, without a cluster', () => {
  it('json (not a terminal): warnings per source, a short decision line, nothing at debug', async () => {
    const { code, stdout, stderr } = await runCli(['run', '--policy', policy, '--dry-run', '--once', '--connector', 'virtual']);
    expect(stderr).toMatch(/^pd-planner run --once: the tick failed: prometheus http:\/\/127\.0\.0\.1:9\/api\/v1\/query .*: requests, isl, .* unknown this tick; queueDepth: nats nats:\/\/127\.0\.0\.1:9 .*\n$/);
    expect(stderr.length).toBeLessThan(600);
    expect(code).toBe(1);
    const lines = jsonLines<Line>(stdout);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings.map((w) => [w.event, w.source])).toEqual([['source-error', 'prometheus'], ['source-error', 'nats']]);
    expect(warnings[0]!.msg).toMatch(/^prometheus http:\/\/127\.0\.0\.1:9\/api\/v1\/query .*: requests, isl, osl, .* and \d+ more unknown this tick$/);
    expect(warnings[0]!.fields).toContain('requests');
    expect(warnings[1]!.fields).toEqual(['queueDepth']);
    const tick = lines.find((l) => l.event === 'tick')!;
    expect(tick.level).toBe('info');
    expect(tick.held).toBe(true);
    expect(tick.msg).toMatch(/^tick: prefill-od=1 decode-od=1 \(held: requests missing \(prometheus .*\): holding the replica counts/);
    expect(tick.msg).not.toContain('for query');
    expect(lines.filter((l) => l.event === 'dry-run').map((l) => l.msg)).toEqual([
      'dry-run: would write nothing to prefill-od: nothing is known of its count (the request count; the current count of prefill-od, decode-od unknown)',
      'dry-run: would write nothing to decode-od: nothing is known of its count (the request count; the current count of prefill-od, decode-od unknown)',
    ]);
    expect(lines.filter((l) => l.level === 'debug')).toEqual([]);
    // No line is the several-KB decision: the longest is the tick line, well under 2 KB.
    for (const line of stdout.split('\n')) expect(line.length).toBeLessThan(2000);
  }, 60_000);

  it('--log-level debug adds the observation and explanation as one debug line', async () => {
    const { code, stdout } = await runCli(['run', '--policy', policy, '--dry-run', '--once', '--connector', 'virtual', '--log-level', 'debug']);
    expect(code).toBe(1);
    const detail = jsonLines<Line & { explanation?: { held: boolean }; observation?: { errors: Record<string, string> } }>(stdout).filter((l) => l.event === 'tick-detail');
    expect(detail).toHaveLength(1);
    expect(detail[0]!.level).toBe('debug');
    expect(detail[0]!.explanation?.held).toBe(true);
    expect(detail[0]!.observation?.errors.requests).toMatch(/for query `sum\(increase\(dynamo_frontend_requests_total/);
  }, 60_000);

  it('--log-format text: "time LEVEL message", one line per event', async () => {
    const { code, stdout } = await runCli(['run', '--policy', policy, '--dry-run', '--once', '--connector', 'virtual', '--log-format', 'text']);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR|DEBUG) \S/);
    expect(lines.filter((l) => / WARN {2}/.test(l))).toHaveLength(2);
    expect(lines.some((l) => / INFO {2}tick: prefill-od=1 decode-od=1 \(held: /.test(l))).toBe(true);
  }, 60_000);

  it('a wrong --log-level or --log-format is exit 2 naming the flag', async () => {
    const level = await runCli(['run', '--policy', policy, '--dry-run', '--once', '--connector', 'virtual', '--log-level', 'loud']);
    expect(level.code).toBe(2);
    expect(level.stderr).toBe('--log-level: "loud" is not a level; use one of fatal, error, warn, info, debug, trace, silent\n');
    const format = await runCli(['run', '--policy', policy, '--dry-run', '--once', '--connector', 'virtual', '--log-format', 'yaml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toBe('--log-format: expected json or text, got "yaml"\n');
  }, 60_000);
});
