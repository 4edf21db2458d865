import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registerDecide } from '../../../src/cli/decide.js';
import { ROOT, runCli, runInProcess } from './cli-helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'pd-decide-'));
const example = (name: string) => join(ROOT, 'examples', name);
const policies = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml')).sort();

function observationFile(name: string, body: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, typeof body === 'string' ? body : JSON.stringify(body, null, 2));
  return path;
}

const decideArgs = (policy: string, observation: string, ...rest: string[]) => ['decide', '--policy', policy, '--observation', observation, ...rest];

describe('pd-planner decide (in-process)', () => {
  it.each(policies)('%s with observation.json: desired replicas for every pool, within min..max', async (file) => {
    const result = await runInProcess(registerDecide, decideArgs(example(file), example('observation.json')));
    expect(result.status).toBe(0);
    const decision = JSON.parse(result.stdout);
    const policy = (await import('../../../src/config/load.js')).loadPolicyFile(example(file), { checkProfile: false });
    expect(Object.keys(decision.pools).sort()).toEqual(policy.spec.pools.map((p) => p.name).sort());
    for (const pool of policy.spec.pools) {
      const desired = decision.pools[pool.name].desired;
      expect(Number.isInteger(desired)).toBe(true);
      expect(desired).toBeGreaterThanOrEqual(pool.minReplicas);
      expect(desired).toBeLessThanOrEqual(pool.maxReplicas);
      expect(decision.pools[pool.name].gpus).toBe(desired * pool.gpusPerReplica);
    }
    expect(Date.parse(decision.time)).toBe(Date.parse('2026-11-25T10:00:00Z'));
    expect(decision.explanation.policy).toContain(policy.spec.policy);
  });

  it('static.yaml gives exactly the fixed counts', async () => {
    const result = await runInProcess(registerDecide, decideArgs(example('static.yaml'), example('observation.json')));
    const decision = JSON.parse(result.stdout);
    expect(decision.pools['prefill-od'].desired).toBe(4);
    expect(decision.pools['decode-od'].desired).toBe(6);
  });

  it('missing fields are allowed and explained', async () => {
    const result = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation-missing.json')));
    expect(result.status).toBe(0);
    const decision = JSON.parse(result.stdout);
    expect(Object.keys(decision.explanation.missing).length).toBeGreaterThan(0);
    for (const pool of ['prefill-od', 'decode-od']) expect(decision.pools[pool].desired).toBeGreaterThanOrEqual(1);
  });

  it('--state-out then --state chains two ticks', async () => {
    const s1 = join(tmp, 's1.json');
    const s2 = join(tmp, 's2.json');
    const first = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation.json'), '--state-out', s1));
    expect(first.status).toBe(0);
    const state1 = JSON.parse(readFileSync(s1, 'utf8'));
    expect(state1.history).toHaveLength(1);
    const second = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation-missing.json'), '--state', s1, '--state-out', s2));
    expect(second.status).toBe(0);
    const state2 = JSON.parse(readFileSync(s2, 'utf8'));
    expect(state2.history).toHaveLength(2);
    expect(state2.history[1].time - state2.history[0].time).toBe(60_000);
  });

  it('a malformed observation is exit 2 with one line per problem', async () => {
    const obs = observationFile('bad.json', { time: '2026-11-25T10:00:00Z', ttftMs: { p95: -3 }, kvUsage: 75, colour: 'red' });
    const result = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), obs));
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'observation.ttftMs.p95: expected a number ≥ 0, got -3',
      'observation.kvUsage: expected a fraction between 0 and 1 (0.75 for 75%), got 75',
      'observation.colour: unknown field (allowed: time, windowSeconds, requests, peakRequestsPerSecond, isl, osl, islPercentiles, oslPercentiles, ttftMs, itlMs, requestDurationSeconds, queueDepth, kvUsage, pools, errors)',
    ]);
  });

  it('invalid JSON names the line and column; an unknown pool is named', async () => {
    const broken = observationFile('broken.json', '{\n  "time": "2026-11-25T10:00:00Z",\n  "requests": 720,\n}\n');
    const result = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), broken));
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(`${broken}:4:1: invalid JSON: Expected double-quoted property name\n`);

    const stray = observationFile('stray.json', { time: '2026-11-25T10:00:00Z', pools: { 'decode-spot': { desired: 1 } } });
    const strayResult = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), stray));
    expect(strayResult.status).toBe(2);
    expect(strayResult.stderr).toBe('observation.pools.decode-spot: no pool named "decode-spot" in the policy; did you mean "decode-od"? (pools: prefill-od, decode-od)\n');
  });

  it('warns when the state names pools the policy does not have', async () => {
    const state = observationFile('other-state.json', { history: [], correction: { pCf: 1, dCf: 1 }, recommendations: [], lastEviction: {}, last: { 'old-pool': 3 } });
    const result = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation.json'), '--state', state));
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('warning: state.last: pools old-pool are not in the policy; was --state written for another policy?\n');
  });

  it('warns when the observation is not later than the state\'s last tick (files chained out of order)', async () => {
    const s1 = join(tmp, 'order-1.json');
    await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation.json'), '--state-out', s1));
    const earlier = observationFile('earlier.json', { ...JSON.parse(readFileSync(example('observation.json'), 'utf8')), time: '2026-11-25T09:00:00Z' });
    const backwards = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), earlier, '--state', s1));
    expect(backwards.status).toBe(0);
    expect(backwards.stderr).toBe(
      'warning: observation.time: 2026-11-25T09:00:00.000Z is not after the last tick in --state (2026-11-25T10:00:00.000Z); chain decide in time order, a later observation each time\n',
    );
    const later = observationFile('later.json', { ...JSON.parse(readFileSync(example('observation.json'), 'utf8')), time: '2026-11-25T10:01:00Z' });
    const forwards = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), later, '--state', s1));
    expect(forwards.stderr).toBe('');
  });

  it('a corrupt state file is exit 2', async () => {
    const state = observationFile('state.json', { history: 'none' });
    const result = await runInProcess(registerDecide, decideArgs(example('sla.yaml'), example('observation.json'), '--state', state));
    expect(result.status).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(`${state}: state.history: expected a list, got "none"`);
  });
});

describe('pd-planner decide (the binary)', () => {
  it('prints the decision as JSON and exits 0', () => {
    const result = runCli(decideArgs('examples/spot-mixed.yaml', 'examples/observation.json'));
    expect(result.status).toBe(0);
    const decision = JSON.parse(result.stdout);
    expect(Object.keys(decision.pools).sort()).toEqual(['decode-od', 'decode-spot', 'prefill-od', 'prefill-spot']);
    expect(Object.values(decision.pools).every((p) => Number.isInteger((p as { desired: number }).desired))).toBe(true);
  });

  it('exit 2 for a malformed observation', () => {
    const obs = observationFile('bin-bad.json', { time: 'yesterday' });
    const result = runCli(decideArgs('examples/sla.yaml', obs));
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('observation.time: expected an ISO 8601 time such as "2026-11-25T10:00:00Z", got "yesterday"\n');
  });
});
