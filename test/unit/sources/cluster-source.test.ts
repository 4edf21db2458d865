import { describe, expect, it } from 'vitest';
import { createClusterMetricSource, mergePools } from '../../../src/sources/cluster-source.js';
import { testSpec } from './spec-fixture.js';

const NOW = Date.parse('2026-11-25T10:00:00Z');
const spec = testSpec();

describe('cluster metric source', () => {
  it('observeQueue reads the queue alone (a panic poll): no Prometheus or Kubernetes call; undefined without a queue; throws when the read failed', async () => {
    const calls: string[] = [];
    let queue: Record<string, unknown> = { queueDepth: 14 };
    const source = createClusterMetricSource({
      prometheus: { observe: async () => (calls.push('prometheus'), { requests: 1 }) },
      queue: { observe: async () => (calls.push('queue'), queue) },
      readTargets: async () => (calls.push('targets'), {}),
      kubeState: async () => (calls.push('kubeState'), {}),
    });
    const withQueue = testSpec({ sources: { queue: { nats: 'nats://127.0.0.1:4222', stream: 'prefill' } } });
    expect(await source.observeQueue!(NOW, withQueue)).toBe(14);
    expect(calls).toEqual(['queue']);
    expect(await source.observeQueue!(NOW, spec)).toBeUndefined();
    expect(calls).toEqual(['queue']);
    queue = { errors: { queueDepth: 'nats nats://127.0.0.1:4222 stream "prefill": connection refused; is NATS running?' } };
    await expect(source.observeQueue!(NOW, withQueue)).rejects.toThrow(/connection refused/);
    expect(await createClusterMetricSource({}).observeQueue!(NOW, withQueue)).toBeUndefined();
  });

  it('merges every source into one observation, pools field by field', async () => {
    const source = createClusterMetricSource({
      prometheus: { observe: async () => ({ requests: 720, isl: 3000, ttftMs: { mean: 420 } }) },
      queue: { observe: async () => ({ queueDepth: 3 }) },
      readTargets: async () => ({ 'prefill-od': { desired: 2, ready: 2 }, 'decode-od': { desired: 4, ready: 3 } }),
      kubeState: { poolObservations: async () => ({ 'prefill-od': { pending: 0, evicted: 0 }, 'decode-od': { pending: 1, evicted: 0 } }) },
    });
    const obs = await source.observe(NOW, 60, spec);
    expect(obs).toEqual({
      time: '2026-11-25T10:00:00.000Z',
      windowSeconds: 60,
      requests: 720,
      isl: 3000,
      ttftMs: { mean: 420 },
      queueDepth: 3,
      pools: {
        'prefill-od': { desired: 2, ready: 2, pending: 0, evicted: 0 },
        'decode-od': { desired: 4, ready: 3, pending: 1, evicted: 0 },
      },
    });
  });

  it('a failing source loses only its own fields, with the reason', async () => {
    const source = createClusterMetricSource({
      prometheus: { observe: async () => ({ requests: 10, errors: { isl: 'prometheus returned NaN' } }) },
      queue: {
        observe: async () => {
          throw new Error('boom');
        },
      },
      readTargets: async () => {
        throw new Error('GET dynamographdeployments/llama: 403 Forbidden');
      },
    });
    const obs = await source.observe(NOW, 60, spec);
    expect(obs.requests).toBe(10);
    expect(obs.pools).toBeUndefined();
    expect(obs.errors).toEqual({
      isl: 'prometheus returned NaN',
      queueDepth: 'queue: boom',
      targets: 'kubernetes targets: GET dynamographdeployments/llama: 403 Forbidden',
    });
  });

  it('a Kubernetes reader that hangs is cut off at its timeout; the others still arrive', async () => {
    const source = createClusterMetricSource({
      prometheus: { observe: async () => ({ requests: 0 }) },
      kubeState: () => new Promise(() => undefined),
      kubeTimeoutSeconds: 0.05,
    });
    const obs = await source.observe(NOW, 60, spec);
    expect(obs.requests).toBe(0);
    expect(obs.errors).toEqual({ kubeState: 'kubernetes kubeState: did not answer within 0.05s' });
  });

  it('runs the sources in parallel, not one after another', async () => {
    const started: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = createClusterMetricSource({
      prometheus: {
        observe: async () => {
          started.push('prometheus');
          await gate;
          return { requests: 1 };
        },
      },
      queue: {
        observe: async () => {
          started.push('queue');
          // Prometheus has not finished yet, and the queue has already started.
          expect(started).toEqual(['prometheus', 'queue']);
          release();
          return { queueDepth: 2 };
        },
      },
    });
    const obs = await source.observe(NOW, 60, spec);
    expect([obs.requests, obs.queueDepth]).toEqual([1, 2]);
  });

  it('mergePools keeps both readers fields and undefined when nothing was read', () => {
    expect(mergePools(undefined, undefined)).toBeUndefined();
    expect(mergePools({ a: { desired: 1 } }, { a: { pending: 2 }, b: { evicted: 1 } })).toEqual({ a: { desired: 1, pending: 2 }, b: { evicted: 1 } });
  });
});
