/**
 * The few API calls the connector makes (discovery, GET and PATCH of Dynamo objects), as plain HTTPS requests with
 * the kubeconfig's credentials, each bounded by a timeout and a byte cap on the answer, and turned into
 * KubeApiError (status, method, path, the server's message, Retry-After). A caller may end a request early with its
 * own signal (KubeCallAbortedError: not sent, or cut off in flight) and shorten its timeout to what it has left.
 *
 * The byte cap: an object stored in etcd is at most 1.5 MiB (the API server's default request limit), so its JSON is
 * about that size; an answer past MAX_OBJECT_BYTES is not an object of ours and is refused unread past the cap
 * (never buffered whole, and not retried).
 */
import { parseRetryAfter } from '../http/retry-after.js';
import * as http from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import { abortReason, KubeApiError, KubeCallAbortedError } from './errors.js';
import type { DynamoVersion, KubeObject } from './graph.js';
import { messageOf } from '../errors.js';

/** The most one answer of the API server may hold (see above). */
export const MAX_OBJECT_BYTES = 4 * 1024 * 1024;

/** An answer longer than the cap: refused, not retried (the next try would be as long). */
class KubeResponseTooLargeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super(
      `${method} ${path}: the answer is longer than ${maxBytes / (1024 * 1024)} MB and was not read further (a Kubernetes object is at most 1.5 MB); ` +
        'is the kubeconfig pointing at a Kubernetes API server?',
    );
    this.name = 'KubeResponseTooLargeError';
  }
}

const GROUP = 'nvidia.com';
export const FIELD_MANAGER = 'pd-planner';

export type DynamoPlural = 'dynamographdeployments' | 'dynamographdeploymentscalingadapters' | 'dynamocomponentdeployments';

/** What one request may take, set by its caller (retry.ts: the tick's budget). */
export interface RequestLimits {
  /** Ends the request: not sent when already aborted, else cut off (KubeCallAbortedError). */
  signal?: AbortSignal;
  /** At most this long (ms), when shorter than the client's own timeout: what the caller has left. */
  timeoutMs?: number;
}

export interface KubeClient {
  /** GET /apis/nvidia.com: the served versions we support, preferred first. */
  discoverVersions(limits?: RequestLimits): Promise<DynamoVersion[]>;
  get(plural: DynamoPlural, namespace: string, name: string, version: DynamoVersion, limits?: RequestLimits): Promise<KubeObject>;
  patch(
    target: { plural: DynamoPlural; namespace: string; name: string; version: DynamoVersion; subresource?: 'scale' },
    body: unknown,
    contentType: string,
    limits?: RequestLimits,
  ): Promise<KubeObject>;
}

export function objectPath(plural: string, namespace: string, name: string, version: string, subresource?: string): string {
  return `/apis/${GROUP}/${version}/namespaces/${namespace}/${plural}/${name}${subresource ? `/${subresource}` : ''}`;
}

function statusMessage(body: unknown): string {
  let parsed = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 500);
    }
  }
  if (parsed && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string') return (parsed as { message: string }).message;
  return parsed === undefined ? '' : JSON.stringify(parsed).slice(0, 500);
}

/** Any failure of a request (transport error, timeout) as a KubeApiError; KubeApiError and the too-large error pass through. */
function toKubeApiError(error: unknown, method: string, path: string): Error {
  if (error instanceof KubeApiError || error instanceof KubeResponseTooLargeError) return error;
  return new KubeApiError(0, method, path, messageOf(error));
}

interface RawAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

interface RawRequest {
  method: 'GET' | 'PATCH';
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  contentType?: string;
  timeoutMs: number;
  /** `timeoutMs` is what the caller had left, shorter than the client's own timeout. */
  cutShort?: boolean;
  maxBytes: number;
  signal?: AbortSignal;
}

/**
 * Where a request to the API server goes and how: the current cluster's URL for `path` and `query`, and request options
 * carrying the kubeconfig's credentials (token, client certificate, exec plugin) and its CA.
 */
export async function kubeRequestTarget(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string | number>,
): Promise<{ url: URL; options: https.RequestOptions; transport: typeof http | typeof https }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeApiError(0, method, path, 'the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const options: https.RequestOptions = { method, headers };
  await kc.applyToHTTPSOptions(options);
  if (url.protocol === 'http:') delete options.agent;
  return { url, options, transport: url.protocol === 'http:' ? http : https };
}

/**
 * One request with the kubeconfig's credentials (token, client certificate, exec plugin), its answer read up to
 * `maxBytes`; the whole exchange is given up (and the socket closed) after `timeoutMs`, or as soon as `signal` aborts
 * (nothing is sent once it has).
 */
async function rawRequest(kc: k8s.KubeConfig, r: RawRequest): Promise<RawAnswer> {
  const { signal } = r;
  const notSent = () => new KubeCallAbortedError(r.method, r.path, abortReason(signal as AbortSignal), false);
  if (signal?.aborted) throw notSent();
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload) {
    headers['Content-Type'] = r.contentType ?? 'application/json';
    headers['Content-Length'] = payload.length;
  }
  const { url, options, transport } = await kubeRequestTarget(kc, r.method, r.path, r.query ?? {}, headers);
  // The credentials may have taken a while (an exec plugin): the caller may have given up meanwhile.
  if (signal?.aborted) throw notSent();
  return new Promise<RawAnswer>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, answer?: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(answer as RawAnswer);
    };
    const req = transport.request(url, options, (res) => {
      const declared = Number(res.headers['content-length'] ?? Number.NaN);
      if (declared > r.maxBytes) {
        req.destroy();
        finish(new KubeResponseTooLargeError(r.method, r.path, r.maxBytes));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > r.maxBytes) {
          req.destroy();
          finish(new KubeResponseTooLargeError(r.method, r.path, r.maxBytes));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks, total).toString('utf8'), headers: res.headers }));
      res.on('error', (error) => finish(toKubeApiError(error, r.method, r.path)));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(new KubeApiError(0, r.method, r.path, `timed out after ${Math.round(r.timeoutMs)} ms${r.cutShort ? ' (all the tick had left)' : ''}`));
    }, r.timeoutMs);
    const onAbort = () => {
      req.destroy();
      finish(new KubeCallAbortedError(r.method, r.path, abortReason(signal as AbortSignal), true));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (error) => finish(toKubeApiError(error, r.method, r.path)));
    req.end(payload);
  });
}

/** The answer's JSON when it is a 2xx, else a KubeApiError with the server's Status message and Retry-After. */
function objectOf(answer: RawAnswer, method: string, path: string): unknown {
  if (answer.status < 200 || answer.status > 299) {
    // Seconds or an HTTP date; an empty or junk value is no Retry-After (Number('') would read it as "retry at once").
    const header = (name: string) => {
      const v = answer.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const retryAfter = parseRetryAfter(header('retry-after'), Date.now(), header('date'));
    throw new KubeApiError(answer.status, method, path, statusMessage(answer.body) || 'error', retryAfter?.kind === 'delay' ? retryAfter.seconds : undefined);
  }
  try {
    return JSON.parse(answer.body) as unknown;
  } catch {
    throw new KubeApiError(answer.status, method, path, `the answer is not JSON (${answer.body.slice(0, 100).trim() || 'empty'}); is the kubeconfig pointing at a Kubernetes API server?`);
  }
}

export function createKubeClient(kc: k8s.KubeConfig, options: { timeoutMs: number; maxBytes?: number }): KubeClient {
  const maxBytes = options.maxBytes ?? MAX_OBJECT_BYTES;
  /** The client's timeout, or what the caller has left when that is shorter; the caller's signal. */
  const bounded = (limits: RequestLimits = {}) => {
    const cutShort = limits.timeoutMs !== undefined && limits.timeoutMs < options.timeoutMs;
    return { timeoutMs: cutShort ? Math.max(1, limits.timeoutMs as number) : options.timeoutMs, cutShort, maxBytes, ...(limits.signal ? { signal: limits.signal } : {}) };
  };
  return {
    async discoverVersions(limits) {
      const path = `/apis/${GROUP}`;
      const res = await rawRequest(kc, { method: 'GET', path, ...bounded(limits) });
      if (res.status === 404) {
        throw new KubeApiError(404, 'GET', path, 'the API group nvidia.com is not served: are the NVIDIA Dynamo CRDs installed?');
      }
      const group = objectOf(res, 'GET', path) as { versions?: { version: string }[] };
      const served = (group.versions ?? []).map((v) => v.version);
      return (['v1beta1', 'v1alpha1'] as const).filter((v) => served.includes(v));
    },
    async get(plural, namespace, name, version, limits) {
      const path = objectPath(plural, namespace, name, version);
      return objectOf(await rawRequest(kc, { method: 'GET', path, ...bounded(limits) }), 'GET', path) as KubeObject;
    },
    async patch(target, body, contentType, limits) {
      const { plural, namespace, name, version, subresource } = target;
      const path = objectPath(plural, namespace, name, version, subresource);
      const answer = await rawRequest(kc, { method: 'PATCH', path, query: { fieldManager: FIELD_MANAGER }, body, contentType, ...bounded(limits) });
      return objectOf(answer, 'PATCH', path) as KubeObject;
    },
  };
}
