/** policyDocument: a loaded policy written back as a policy file loads to the very same spec. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { policyDocument } from '../../../src/config/document.js';
import { parsePolicyText } from '../../../src/config/load.js';
import { DEFAULT_POLICY_YAML } from '../../../src/sim/default-policy.js';

const EXAMPLES = new URL('../../../examples/', import.meta.url).pathname;

function roundTrip(text: string, name: string) {
  const loaded = parsePolicyText(text, name, EXAMPLES);
  const doc = policyDocument(loaded.file.metadata, loaded.spec);
  const again = parsePolicyText(stringify(doc), `${name} (written back)`, EXAMPLES);
  return { loaded, doc, again };
}

describe('policyDocument', () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.ya?ml$/.test(f));

  it.each(files)('examples/%s loads to the same spec when written back (durations with their unit)', (file) => {
    const { loaded, doc, again } = roundTrip(readFileSync(`${EXAMPLES}${file}`, 'utf8'), file);
    expect(again.spec).toEqual(loaded.spec);
    expect(again.file.metadata).toEqual(loaded.file.metadata);
    expect(typeof doc.spec.interval).toBe('string');
  });

  it('writes every duration field back with a unit, whatever its value', () => {
    const text = DEFAULT_POLICY_YAML.replace('interval: 60s', 'interval: 90s').replace('stabilization: { scaleDown: 300s }', 'stabilization: { scaleDown: 1h30m, scaleUp: 250ms }')
      .replace("spot: { maxShare: 0.6, onDemandFloor: 1, evictionRatePerHour: 0.05, noticeSeconds: 30s }", 'spot: { maxShare: 0.6, noticeSeconds: 45, pendingGrace: 2m, evictionCooldown: 1d }')
      .replace('  pools:', '  forecaster: { kind: seasonal, season: 168h }\n  readinessTimeout: 20m\n  schedules: [ { cron: "0 8 * * 1-5", duration: 10h, minReplicas: { prefill-od: 2 } } ]\n  sources: { prometheus: { url: "http://p:9090", timeout: 1.5s }, queue: { nats: "nats://n:4222", stream: s, timeout: 3s } }\n  pools:');
    const { loaded, doc, again } = roundTrip(text, 'every-duration');
    expect(again.spec).toEqual(loaded.spec);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test reading the written document's fields
    const spec = doc.spec as Record<string, any>;
    expect(spec.interval).toBe('1m30s');
    expect(spec.stabilization).toEqual({ scaleDown: '1h30m', scaleUp: '250ms' });
    expect(spec.spot).toMatchObject({ noticeSeconds: '45s', pendingGrace: '2m', evictionCooldown: '1d' });
    expect(spec.forecaster.season).toBe('7d');
    expect(spec.readinessTimeout).toBe('20m');
    expect(spec.schedules[0].duration).toBe('10h');
    expect(spec.sources.prometheus.timeout).toBe('1.5s');
    expect(spec.sources.queue.timeout).toBe('3s');
    expect(spec.pools.map((p: { startupSeconds: string }) => p.startupSeconds)).toEqual(['3m', '3m', '3m', '3m']);
    // Numbers that are not durations stay numbers.
    expect(spec.budget.maxGpus).toBe(128);
    expect(spec.pools[0].costPerGpuHour).toBe(12.29);
  });
});
