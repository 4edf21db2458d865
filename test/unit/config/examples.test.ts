import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile, parsePolicyText } from '../../../src/config/load.js';
import { loadObservationFile } from '../../../src/config/observation.js';
import { POLICY_KINDS } from '../../../src/config/schema.js';

const dir = fileURLToPath(new URL('../../../examples/', import.meta.url));
const policies = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
const observations = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('examples/', () => {
  it('has one policy per policy kind, plus the Spot example', () => {
    const kinds = policies.map((f) => loadPolicyFile(join(dir, f), { checkProfile: false }).spec.policy);
    for (const kind of POLICY_KINDS) expect(kinds).toContain(kind);
    expect(policies).toContain('spot-mixed.yaml');
  });

  it.each(policies)('%s is valid, without warnings, on the bundled profile', (file) => {
    const loaded = loadPolicyFile(join(dir, file));
    expect(loaded.warnings).toEqual([]);
    expect(loaded.spec.profile).toBe('builtin:llama2-70b-h100-tp4');
    expect(loaded.profile?.name).toBe('llama2-70b-h100-tp4');
  });

  it('spot-mixed.yaml has Spot and on-demand pools for both roles, costs, schedules and sources', () => {
    const { spec } = loadPolicyFile(join(dir, 'spot-mixed.yaml'), { checkProfile: false });
    const kinds = spec.pools.map((p) => `${p.role}/${p.capacity}`).sort();
    expect(kinds).toEqual(['decode/on-demand', 'decode/spot', 'prefill/on-demand', 'prefill/spot']);
    expect(spec.pools.every((p) => p.costPerGpuHour > 0 && p.target !== undefined)).toBe(true);
    expect(spec.schedules.length).toBeGreaterThan(0);
    expect(spec.sources.prometheus?.url).toMatch(/^http/);
    expect(spec.sources.queue?.stream).toBe('prefill');
  });

  it.each(policies.flatMap((p) => observations.map((o) => [p, o])))('%s accepts %s', (policy, observation) => {
    const { spec } = loadPolicyFile(join(dir, policy), { checkProfile: false });
    const { observation: obs } = loadObservationFile(join(dir, observation), spec);
    expect(Object.keys(obs.pools ?? {}).every((name) => spec.pools.some((p) => p.name === name))).toBe(true);
  });

  it('observation-missing.json really misses fields and says why', () => {
    const { observation } = loadObservationFile(join(dir, 'observation-missing.json'));
    expect(observation.osl).toBeUndefined();
    expect(observation.itlMs).toBeUndefined();
    expect(observation.queueDepth).toBeUndefined();
    expect(Object.keys(observation.errors ?? {})).toEqual(['osl', 'itlMs', 'queueDepth']);
  });
});

describe('an example policy with plain seconds in …Seconds fields', () => {
  const file = fileURLToPath(new URL('../../fixtures/example-policy-plain-seconds.yaml', import.meta.url));
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const text = readFileSync(file, 'utf8');

  it('validates unchanged, with startupSeconds: 240 and noticeSeconds: 30 read as seconds', () => {
    const loaded = parsePolicyText(text, file, root);
    expect(loaded.spec.pools.map((p) => p.startupSeconds)).toEqual([240, 240]);
    expect(loaded.spec.spot.noticeSeconds).toBe(30);
    expect(loaded.profile?.name).toBe('llama2-70b-h100-tp4');
  });
});
