import { describe, expect, it } from 'vitest';
import { createLogger, maskBearer } from '../../../src/log.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ destination: { write: (s: string) => void lines.push(s) } });
  return { logger, lines };
}

describe('log redaction', () => {
  it('redacts credential fields at the top level and nested in headers or config', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        token: 'abc123',
        password: 'hunter2',
        request: { headers: { authorization: 'Bearer eyJhbGciOi.secret' } },
        kube: { user: { token: 'sa-token-xyz' } },
        pool: 'prefill-od',
      },
      'calling the API',
    );
    const line = lines[0]!;
    expect(line).not.toContain('abc123');
    expect(line).not.toContain('hunter2');
    expect(line).not.toContain('eyJhbGciOi');
    expect(line).not.toContain('sa-token-xyz');
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed.token).toBe('[redacted]');
    expect((parsed.request as { headers: Record<string, string> }).headers.authorization).toBe('[redacted]');
    expect((parsed.kube as { user: Record<string, string> }).user.token).toBe('[redacted]');
    expect(parsed.pool).toBe('prefill-od');
  });

  it('masks bearer tokens inside messages', () => {
    const { logger, lines } = capture();
    logger.warn('request failed: header Authorization: Bearer abc.def-ghi was rejected');
    expect((JSON.parse(lines[0]!) as { msg: string }).msg).toBe('request failed: header Authorization: Bearer [redacted] was rejected');
    expect(maskBearer('bearer XYZ')).toBe('bearer [redacted]');
  });
});
