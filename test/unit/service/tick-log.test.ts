/** What a tick logs: source errors grouped per problem, short hold reasons and observations, text log lines. */
import { describe, expect, it } from 'vitest';
import { textLine } from '../../../src/log.js';
import { shortObservation, shortReason, sourceProblems, unknownFields } from '../../../src/service/tick-log.js';

const down = (q: string) => `prometheus http://p:9090/api/v1/query could not be reached (ECONNREFUSED) for query \`${q}\``;

describe('tick log helpers', () => {
  it('groups the errors of one outage into one problem with its fields, in first-seen order', () => {
    const problems = sourceProblems({
      requests: down('sum(increase(a[60s]))'),
      queueDepth: 'nats nats://n:4222 stream "prefill": connection refused',
      isl: down('sum(b) / sum(c)'),
      'ttftMs.p95': 'prometheus http://p:9090/api/v1/query answered NaN for query `histogram_quantile(0.95, x)`',
    });
    expect(problems).toEqual([
      { source: 'prometheus', problem: 'prometheus http://p:9090/api/v1/query could not be reached (ECONNREFUSED)', fields: ['requests', 'isl'] },
      { source: 'nats', problem: 'nats nats://n:4222 stream "prefill": connection refused', fields: ['queueDepth'] },
      { source: 'prometheus', problem: 'prometheus http://p:9090/api/v1/query answered NaN', fields: ['ttftMs.p95'] },
    ]);
    expect(sourceProblems(undefined)).toEqual([]);
  });

  it('names at most six fields', () => {
    expect(unknownFields(['a', 'b'])).toBe('a, b unknown this tick');
    expect(unknownFields(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'])).toBe('a, b, c, d, e, f and 2 more unknown this tick');
  });

  it('shortens the observation\'s errors to their source, and a hold reason to what went wrong', () => {
    const obs = { time: 't', requests: 3, errors: { isl: down('sum(b)'), queueDepth: 'nats nats://n:4222: refused' } };
    expect(shortObservation(obs)).toEqual({ time: 't', requests: 3, errors: { isl: 'prometheus', queueDepth: 'nats' } });
    expect(shortObservation({ time: 't', requests: 3 })).toEqual({ time: 't', requests: 3 });
    expect(shortReason(`requests missing (${down('sum(a)')}): holding the replica counts`)).toBe(
      'requests missing (prometheus http://p:9090/api/v1/query could not be reached (ECONNREFUSED)): holding the replica counts',
    );
  });

  it('text log lines: time, level, message, and the error when the message does not say it', () => {
    expect(textLine('{"level":"warn","time":"2026-01-05T00:00:00.000Z","msg":"lease renew failed","err":{"message":"409 Conflict"}}\n'))
      .toBe('2026-01-05T00:00:00.000Z WARN  lease renew failed (409 Conflict)\n');
    expect(textLine('{"level":"info","time":"2026-01-05T00:00:00.000Z","msg":"tick: a=1"}')).toBe('2026-01-05T00:00:00.000Z INFO  tick: a=1\n');
    expect(textLine('not json')).toBe('not json\n');
  });
});
