/**
 * WatchedInformer over scripted informers: what reads see while a re-list runs or fails, and that stopping a replaced
 * informer (which aborts its watch) is not taken for a failure.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { WatchedInformer, type CachingInformer, type InformerEvents } from '../../../src/kubernetes/informers/watched-informer.js';

type Obj = k8s.KubernetesObject;
const obj = (name: string): Obj => ({ metadata: { name, namespace: 'default' } });

/** An informer whose list answers `items`, or fails with HTTP 500; its list waits for `release()` when `held`. */
function scripted(items: Obj[] | 'fail', held = false) {
  const handlers: Record<string, ((arg: unknown) => void)[]> = {};
  let cache: Obj[] = [];
  let release: () => void = () => undefined;
  const gate = held ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const state = { stopped: false, watching: false };
  const emit = (verb: string, arg: unknown) => (handlers[verb] ?? []).forEach((fn) => fn(arg));
  const informer = {
    on: (verb: string, fn: (arg: unknown) => void) => void (handlers[verb] ??= []).push(fn),
    off: () => undefined,
    async start() {
      await gate;
      if (items === 'fail') return emit('error', Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
      cache = items;
      state.watching = true;
    },
    async stop() {
      state.stopped = true;
      // client-node aborts the open watch, and its done handler reports the abort through 'error'.
      if (state.watching) emit('error', new Error('The user aborted a request.'));
      state.watching = false;
    },
    get: (name: string) => cache.find((o) => o.metadata?.name === name),
    list: () => cache,
  } as unknown as CachingInformer<Obj>;
  return { informer, state, release: () => release() };
}

function harness(...informers: ReturnType<typeof scripted>[]) {
  const failures: string[] = [];
  const signals: AbortSignal[] = [];
  let builds = 0;
  const events: InformerEvents = {
    running: () => true,
    failed: (_name, message) => (failures.push(message), true),
    startFailed: (_name, message) => void failures.push(message),
    synced: () => undefined,
  };
  const watched = new WatchedInformer<Obj>('pods/default', (signal) => {
    signals.push(signal);
    const next = informers[builds];
    builds += 1;
    if (!next) throw new Error(`build ${builds}: no informer scripted`);
    return next.informer;
  }, events, 5000);
  return { watched, failures, signals, builds: () => builds };
}

const names = (w: WatchedInformer<Obj>) => w.list().map((o) => o.metadata?.name);

afterEach(() => {
  vi.useRealTimers();
});

describe('WatchedInformer', () => {
  it('while a re-list runs, and after it failed, reads still see the last cache (marked not synced), and it is retried', async () => {
    vi.useFakeTimers();
    const first = scripted([obj('a'), obj('b')]);
    const slow = scripted('fail', true);
    const third = scripted([obj('a'), obj('c')]);
    const { watched, failures, builds } = harness(first, slow, third);
    await watched.rebuild();
    expect([names(watched), watched.synced]).toEqual([['a', 'b'], true]);

    // The periodic resync: the new list is still out; reads are not an empty cache.
    const resync = watched.rebuild();
    expect(names(watched)).toEqual(['a', 'b']);
    slow.release();
    await resync;
    // The re-list failed: the old cache stays readable, but is not current any more.
    expect([names(watched), watched.synced, first.state.stopped]).toEqual([['a', 'b'], false, false]);
    expect(watched.get('a')?.metadata?.name).toBe('a');
    expect(failures).toEqual(['Internal Server Error']);

    // Retried after the 1 s backoff: the new cache replaces the old one, which is stopped.
    await vi.advanceTimersByTimeAsync(1000);
    expect(builds()).toBe(3);
    expect([names(watched), watched.synced, first.state.stopped]).toEqual([['a', 'c'], true, true]);
  });

  it('stopping the informer a resync replaced (its watch aborted) is no failure: nothing logged, no extra re-list', async () => {
    vi.useFakeTimers();
    const { watched, failures, builds } = harness(scripted([obj('a')]), scripted([obj('a')]), scripted([obj('a')]), scripted([obj('a')]));
    await watched.rebuild();
    await watched.rebuild();
    // A minute later: still the two lists (it re-listed every second from then on, each stop taken for a failure).
    await vi.advanceTimersByTimeAsync(60_000);
    expect([builds(), failures]).toEqual([2, []]);
    watched.stop();
    expect(failures).toEqual([]);
  });

  it('stopped while a resync lists: that list is aborted too, and the informer is never installed nor left watching', async () => {
    let running = true;
    const signals: AbortSignal[] = [];
    const informers = [scripted([obj('a')]), scripted([obj('b')], true)];
    const events: InformerEvents = { running: () => running, failed: () => true, startFailed: () => undefined, synced: () => undefined };
    const watched = new WatchedInformer<Obj>('pods/default', (signal) => (signals.push(signal), informers[signals.length - 1]!.informer), events, 60_000);
    await watched.rebuild();
    const resync = watched.rebuild();
    running = false;
    watched.stop();
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    // Should its list answer all the same, its watch is closed and reads stay where they were.
    informers[1]!.release();
    await resync;
    expect(informers[1]!.state).toEqual({ stopped: true, watching: false });
    expect(names(watched)).toEqual(['a']);
  });

  it('the list requests of an informer it gives up, replaces or stops are aborted; those of the one it reads from are not', async () => {
    vi.useFakeTimers();
    const hung = scripted([obj('a')], true);
    const good = scripted([obj('b')]);
    const next = scripted([obj('c')]);
    const { watched, signals } = harness(hung, good, next);
    // The first list never answers: given up after the 5 s list timeout, and its request aborted.
    const first = watched.rebuild();
    await vi.advanceTimersByTimeAsync(5000);
    await first;
    expect(signals.map((s) => s.aborted)).toEqual([true]);
    // Retried after 1 s: listed, read from, its requests left alone.
    await vi.advanceTimersByTimeAsync(1000);
    expect([names(watched), signals.map((s) => s.aborted)]).toEqual([['b'], [true, false]]);
    // A resync replaces it: the replaced informer's requests are aborted with its watch.
    await watched.rebuild();
    expect([names(watched), signals.map((s) => s.aborted)]).toEqual([['c'], [true, true, false]]);
    watched.stop();
    expect(signals.map((s) => s.aborted)).toEqual([true, true, true]);
  });
});
