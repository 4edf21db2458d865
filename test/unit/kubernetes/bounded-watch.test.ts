/**
 * BoundedWatch against a plain HTTP server: events as lines however the bytes are cut, an error status, and the
 * three ways a watch is ended from our side (no headers in time, the handle ListWatch.stop() aborts, the informer's
 * signal), each of which closes the request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { BoundedWatch } from '../../../src/kubernetes/informers/bounded-watch.js';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server answering each request with `handle`; `seen` records each request and whether its client closed it unanswered. */
async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: { url: string; closedByClient: boolean }[] = [];
  server = createServer((req, res) => {
    const record = { url: req.url ?? '', closedByClient: false };
    seen.push(record);
    res.on('close', () => (record.closedByClient = !res.writableEnded));
    handle(req, res);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { kc, seen };
}

/** Starts a watch; `ended` resolves with what `done` was given (once: a second call fails the test). */
async function watch(w: BoundedWatch, path = '/api/v1/namespaces/default/pods', query: Record<string, string> = { resourceVersion: '7' }) {
  const events: [string, unknown][] = [];
  let calls = 0;
  let end: (err: unknown) => void = () => undefined;
  const ended = new Promise<unknown>((resolve) => (end = resolve));
  const handle = await w.watch(path, query, (phase, obj) => events.push([phase, obj]), (err) => {
    calls += 1;
    if (calls > 1) throw new Error('done called twice');
    end(err);
  });
  return { events, ended, handle };
}

const waitFor = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('BoundedWatch', () => {
  it('delivers one event a line however the answer is cut into chunks, skips a line that is not JSON, and ends with done(null)', async () => {
    const { kc, seen } = await serve((req, res) => {
      expect(req.headers.authorization).toBe('Bearer secret-token');
      res.writeHead(200, { 'content-type': 'application/json' });
      const a = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } });
      const b = JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'b' } } });
      const c = JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'c' } } });
      res.write(a.slice(0, 10));
      setTimeout(() => {
        res.write(`${a.slice(10)}\nnot json\n${b}\n${c.slice(0, 5)}`);
        // The last event without a newline before the end.
        setTimeout(() => res.end(c.slice(5)), 20);
      }, 20);
    });
    const { events, ended } = await watch(new BoundedWatch(kc, new AbortController().signal, 5000));
    expect(await ended).toBeNull();
    expect(events).toEqual([
      ['ADDED', { metadata: { name: 'a' } }],
      ['MODIFIED', { metadata: { name: 'b' } }],
      ['DELETED', { metadata: { name: 'c' } }],
    ]);
    expect(seen[0]!.url).toBe('/api/v1/namespaces/default/pods?watch=true&resourceVersion=7');
  });

  it('an error status ends it with that status (a 410 makes ListWatch re-list), naming the path', async () => {
    const { kc } = await serve((_req, res) => {
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":410}');
    });
    const err = (await (await watch(new BoundedWatch(kc, new AbortController().signal, 5000))).ended) as Error & { statusCode: number };
    expect(err.statusCode).toBe(410);
    expect(err.message).toBe('Gone (HTTP 410 on the watch of /api/v1/namespaces/default/pods)');
  });

  it('a watch whose headers do not come in time is given up and its request closed', async () => {
    const { kc, seen } = await serve(() => undefined);
    const err = (await (await watch(new BoundedWatch(kc, new AbortController().signal, 200))).ended) as Error;
    expect(err.message).toBe('the watch did not answer within 0.2s; trying again');
    await waitFor(() => seen[0]?.closedByClient === true);
  });

  it('the handle it gives at once (what ListWatch.stop() aborts) closes a watch still connecting', async () => {
    const { kc, seen } = await serve(() => undefined);
    const { ended, handle } = await watch(new BoundedWatch(kc, new AbortController().signal, 60_000));
    await waitFor(() => seen.length === 1);
    handle.abort();
    expect(((await ended) as Error).message).toBe('The user aborted a request.');
    await waitFor(() => seen[0]?.closedByClient === true);
  });

  it('the informer\'s signal closes an open watch, and one started after it aborted is never sent', async () => {
    const { kc, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
    });
    const lists = new AbortController();
    const w = new BoundedWatch(kc, lists.signal, 60_000);
    const { events, ended } = await watch(w);
    await waitFor(() => events.length === 1);
    lists.abort();
    expect(((await ended) as Error).message).toBe('The user aborted a request.');
    await waitFor(() => seen[0]?.closedByClient === true);
    expect(((await watch(w).then((x) => x.ended)) as Error).message).toBe('The user aborted a request.');
    expect(seen).toHaveLength(1);
  });

  it('an event line longer than the cap ends the watch with an error instead of being buffered', async () => {
    const { kc, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n');
      res.write(`{"type":"ADDED","object":{"metadata":{"name":"${'x'.repeat(1024 * 1024)}`);
    });
    const { events, ended } = await watch(new BoundedWatch(kc, new AbortController().signal, 5000, 1024 * 1024));
    expect(((await ended) as Error).message).toBe(
      'a watch event of /api/v1/namespaces/default/pods is longer than 1 MB (a Kubernetes object is at most 1.5 MB); trying again',
    );
    expect(events).toHaveLength(1);
    await waitFor(() => seen[0]?.closedByClient === true);
  });
});
