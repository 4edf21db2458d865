/**
 * The few API calls the connector makes, over @kubernetes/client-node's CustomObjectsApi, each bounded by a
 * timeout and turned into KubeApiError (status, method, path, the server's message, Retry-After).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { KubeApiError } from './errors.js';
import type { DynamoVersion, KubeObject } from './graph.js';
import { messageOf } from '../errors.js';

export const GROUP = 'nvidia.com';
export const FIELD_MANAGER = 'pd-planner';

export type DynamoPlural = 'dynamographdeployments' | 'dynamographdeploymentscalingadapters' | 'dynamocomponentdeployments';

export interface KubeClient {
  /** GET /apis/nvidia.com: the served versions we support, preferred first. */
  discoverVersions(): Promise<DynamoVersion[]>;
  get(plural: DynamoPlural, namespace: string, name: string, version: DynamoVersion): Promise<KubeObject>;
  patch(target: { plural: DynamoPlural; namespace: string; name: string; version: DynamoVersion; subresource?: 'scale' }, body: unknown, contentType: string): Promise<KubeObject>;
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

function retryAfter(headers: Record<string, string> | undefined): number | undefined {
  const raw = headers?.['retry-after'] ?? headers?.['Retry-After'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** Any failure of the generated client (ApiException, network error) as a KubeApiError. */
export function toKubeApiError(error: unknown, method: string, path: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof k8s.ApiException) {
    const e = error as k8s.ApiException<unknown>;
    return new KubeApiError(e.code, method, path, statusMessage(e.body) || e.message.split('\n')[0] || 'error', retryAfter(e.headers));
  }
  const message = messageOf(error);
  return new KubeApiError(0, method, path, message);
}

async function bounded<T>(promise: Promise<T>, timeoutMs: number, method: string, path: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new KubeApiError(0, method, path, `timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw toKubeApiError(error, method, path);
  } finally {
    clearTimeout(timer);
  }
}

/** A plain GET with the kubeconfig's credentials, for paths the generated client has no method for. */
async function rawGet(kc: k8s.KubeConfig, path: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeApiError(0, 'GET', path, 'the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  if (url.protocol === 'http:') delete options.agent;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function createKubeClient(kc: k8s.KubeConfig, options: { timeoutMs: number }): KubeClient {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const { timeoutMs } = options;
  return {
    async discoverVersions() {
      const path = `/apis/${GROUP}`;
      const res = await bounded(rawGet(kc, path), timeoutMs, 'GET', path);
      if (res.status === 404) {
        throw new KubeApiError(404, 'GET', path, 'the API group nvidia.com is not served: are the NVIDIA Dynamo CRDs installed?');
      }
      if (res.status !== 200) {
        const ra = res.headers['retry-after'];
        throw new KubeApiError(res.status, 'GET', path, statusMessage(res.body), ra !== undefined ? Number(ra) : undefined);
      }
      const group = JSON.parse(res.body) as { versions?: { version: string }[]; preferredVersion?: { version: string } };
      const served = (group.versions ?? []).map((v) => v.version);
      return (['v1beta1', 'v1alpha1'] as const).filter((v) => served.includes(v));
    },
    async get(plural, namespace, name, version) {
      const path = objectPath(plural, namespace, name, version);
      return (await bounded(api.getNamespacedCustomObject({ group: GROUP, version, namespace, plural, name }), timeoutMs, 'GET', path)) as KubeObject;
    },
    async patch(target, body, contentType) {
      const { plural, namespace, name, version, subresource } = target;
      const path = objectPath(plural, namespace, name, version, subresource);
      const headers = k8s.setHeaderOptions('Content-Type', contentType);
      const param = { group: GROUP, version, namespace, plural, name, body, fieldManager: FIELD_MANAGER };
      const call = subresource === 'scale' ? api.patchNamespacedCustomObjectScale(param, headers) : api.patchNamespacedCustomObject(param, headers);
      return (await bounded(call, timeoutMs, 'PATCH', path)) as KubeObject;
    },
  };
}
