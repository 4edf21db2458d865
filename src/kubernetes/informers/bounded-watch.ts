/**
 * The watch request of an informer (client-node ListWatch), as client-node's Watch makes it (GET <path>?watch=true,
 * one JSON event a line, `done` called once when it ends) with three bounds client-node's has not:
 *   - it answers at once with the handle that ends the request, so ListWatch.stop() closes a watch still connecting
 *     (client-node's returns the handle only once the API server has sent its headers: a watch stopped before then,
 *     or one the server never answers, stays open, and its ListWatch waits on it for good);
 *   - a watch whose headers have not come within `connectTimeoutMs` ends with an error, so the informer is reported,
 *     marked not synced and rebuilt, instead of keeping a cache that no longer follows the cluster;
 *   - it ends when `signal` aborts (the informer retired or the service stopped), and an event line longer than
 *     `maxLineBytes` ends it with an error instead of being buffered.
 * Example: connectTimeoutMs 60000, the API server takes the re-watch but never answers -> 60 s later done(Error "the
 * watch did not answer within 60s; trying again").
 */
import { STATUS_CODES } from 'node:http';
import type * as http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { kubeRequestTarget, MAX_OBJECT_BYTES } from '../client.js';

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;

export class BoundedWatch extends k8s.Watch {
  readonly #signal: AbortSignal;
  readonly #connectTimeoutMs: number;
  readonly #maxLineBytes: number;

  constructor(kc: k8s.KubeConfig, signal: AbortSignal, connectTimeoutMs: number, maxLineBytes = MAX_OBJECT_BYTES) {
    super(kc);
    this.#signal = signal;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.#maxLineBytes = maxLineBytes;
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: WatchCallback,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const controller = new AbortController();
    const query: Record<string, string> = { watch: 'true' };
    for (const [key, value] of Object.entries(queryParams)) if (value !== undefined) query[key] = String(value);
    void this.#run(path, query, callback, done, controller);
    return Promise.resolve(controller);
  }

  async #run(path: string, query: Record<string, string>, callback: WatchCallback, done: (err: unknown) => void, controller: AbortController): Promise<void> {
    let finished = false;
    /** The request once sent, and the timer that gives up waiting for its headers. */
    const live: { request?: http.ClientRequest; timer?: NodeJS.Timeout } = {};
    const onAbort = () => finish(new Error('The user aborted a request.'));
    // Called once, however the watch ends; `done` runs on a later tick, as client-node's does, so that ListWatch has
    // taken the handle before it hears of the end.
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(live.timer);
      controller.signal.removeEventListener('abort', onAbort);
      this.#signal.removeEventListener('abort', onAbort);
      live.request?.destroy();
      controller.abort();
      setImmediate(() => done(err));
    };
    if (this.#signal.aborted || controller.signal.aborted) return finish(new Error('The user aborted a request.'));
    controller.signal.addEventListener('abort', onAbort);
    this.#signal.addEventListener('abort', onAbort);
    live.timer = setTimeout(() => finish(new Error(`the watch did not answer within ${this.#connectTimeoutMs / 1000}s; trying again`)), this.#connectTimeoutMs);
    let target: Awaited<ReturnType<typeof kubeRequestTarget>>;
    try {
      target = await kubeRequestTarget(this.config, 'GET', path, query, { Accept: 'application/json' });
    } catch (error) {
      return finish(error);
    }
    if (finished) return;
    const lines = new LineSplitter(this.#maxLineBytes, (line) => {
      let data: { type?: unknown; object?: unknown };
      try {
        data = JSON.parse(line) as { type?: unknown; object?: unknown };
      } catch {
        return; // A line that is not JSON is skipped, as client-node does.
      }
      callback(String(data.type), data.object, data);
    });
    const request = target.transport.request(target.url, target.options, (res) => {
      clearTimeout(live.timer);
      if (res.statusCode !== 200) {
        res.resume();
        const status = res.statusCode ?? 0;
        return finish(Object.assign(new Error(`${STATUS_CODES[status] ?? 'Internal Server Error'} (HTTP ${status} on the watch of ${path})`), { statusCode: status }));
      }
      res.on('data', (chunk: Buffer) => {
        if (finished) return;
        if (!lines.push(chunk)) finish(new Error(`a watch event of ${path} is longer than ${this.#maxLineBytes / (1024 * 1024)} MB (a Kubernetes object is at most 1.5 MB); trying again`));
      });
      res.on('end', () => {
        lines.end();
        finish(null);
      });
      res.on('close', () => finish(null));
      res.on('error', (error) => finish(error));
    });
    live.request = request;
    // As client-node: TCP keep-alive probes end a watch whose peer has gone without a word.
    request.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    request.on('error', (error) => finish(error));
    request.end();
  }
}

/** Splits a byte stream on "\n" into UTF-8 lines; refuses (push returns false) a line longer than `maxBytes`. */
class LineSplitter {
  #parts: Buffer[] = [];
  #length = 0;

  constructor(
    readonly maxBytes: number,
    readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): boolean {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, newline);
      if (this.#length + piece.length > this.maxBytes) return false;
      const line = this.#length === 0 ? piece : Buffer.concat([...this.#parts, piece], this.#length + piece.length);
      this.#parts = [];
      this.#length = 0;
      start = newline + 1;
      if (line.length > 0) this.onLine(line.toString('utf8'));
    }
    const rest = chunk.subarray(start);
    if (this.#length + rest.length > this.maxBytes) return false;
    if (rest.length > 0) {
      this.#parts.push(rest);
      this.#length += rest.length;
    }
    return true;
  }

  /** The last line, when the stream did not end with a newline. */
  end(): void {
    if (this.#length > 0) this.onLine(Buffer.concat(this.#parts, this.#length).toString('utf8'));
    this.#parts = [];
    this.#length = 0;
  }
}
