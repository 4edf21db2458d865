/**
 * deploy/ against what the code really does: every API call the connector, the target reader and kube-state make
 * against the fake API server (plus leader election's Lease calls) must be allowed by deploy/base's Role and
 * ClusterRole, and every grant there must be used (or be one the spec asks for, listed below with the reason).
 * Also checks the manifests themselves: the policy ConfigMap validates, the Deployment is hardened, the AKS Spot
 * overlay adds the Spot toleration only to Spot workers, the DGD example validates against Dynamo's CRD, and the
 * Grafana dashboard shows every planner metric.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, parse } from 'yaml';
import { parsePolicyText } from '../../src/config/load.js';
import { createKubernetesConnector } from '../../src/kubernetes/index.js';
import { createKubeState } from '../../src/kubernetes/informers/kube-state.js';
import { startFakeKubeApi, type FakeKubeApi, type RecordedRequest } from '../fixtures/fake-kube-api/index.js';
import { waitFor } from '../fixtures/servers.js';
import { dynamoResources } from '../fixtures/fake-kube-api/crds.js';
import { validateAndPrune } from '../fixtures/fake-kube-api/schema.js';
import { dcd, dgdV1alpha1, dgdV1beta1, dgdsa, node, pod, stable } from '../fixtures/fake-kube-api/objects.js';
import { decisionFor, recordingSleep } from '../unit/connectors/helpers.js';
import { KUBECTLS, kubectlVersion, kustomize } from '../fixtures/kubectl.js';

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Doc = { kind?: string; metadata?: { name?: string; labels?: Record<string, string> }; rules?: Rule[]; [k: string]: unknown };

const docs = (path: string): Doc[] => parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as Doc);
const role = docs('deploy/base/role.yaml').find((d) => d.kind === 'Role') as Doc;
const clusterRole = docs('deploy/base/clusterrole-nodes.yaml').find((d) => d.kind === 'ClusterRole') as Doc;
const configMap = docs('deploy/base/configmap.yaml')[0] as Doc & { data: Record<string, string> };
const policy = parsePolicyText(configMap.data['policy.yaml'] as string, 'deploy/base/configmap.yaml', '.', { checkProfile: false });
const LEASE = `pd-planner-${policy.file.metadata.name}`;

/** Leader election (src/service/leader.ts) reads, creates and replaces its Lease. */
const LEADER_ELECTION: Permission[] = [
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases' },
  { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', name: LEASE },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', name: LEASE },
];
/**
 * Grants no code path uses: `get` on single pods/events/nodes and reading events. The manifests grant pods, events and
 * nodes as one read-only set (get, list, watch), so that an operator's view of what the planner may see is plain.
 */
const READ_ONLY_EXTRAS = new Set(['get /pods', 'get /events', 'list /events', 'watch /events', 'get /nodes']);

interface Permission {
  verb: string;
  group: string;
  /** "plural" or "plural/subresource". */
  resource: string;
  name?: string;
}

function allows(rule: Rule, p: Permission): boolean {
  return (
    rule.apiGroups.includes(p.group) &&
    rule.resources.includes(p.resource) &&
    rule.verbs.includes(p.verb) &&
    (rule.resourceNames === undefined || (p.name !== undefined && rule.resourceNames.includes(p.name)))
  );
}

function permissionOf(r: RecordedRequest): Permission | undefined {
  if (!r.verb || r.resource === undefined || r.group === undefined) return undefined;
  return { verb: r.verb, group: r.group, resource: r.subresource ? `${r.resource}/${r.subresource}` : r.resource, name: r.name };
}

const key = (p: Permission) => `${p.verb} ${p.group}/${p.resource}`;

let api: FakeKubeApi;
let alpha: FakeKubeApi;
const used: Permission[] = [];
const nonResource = new Set<string>();

beforeAll(async () => {
  // The spot-mixed policy's targets: graph llama-disagg (components prefill, decode) and two Spot DCDs.
  const graph = { name: 'llama-disagg', namespace: 'dynamo', components: [
    { name: 'prefill', type: 'prefill' as const, replicas: 1, status: stable(1) },
    { name: 'decode', type: 'decode' as const, replicas: 1, status: stable(1) },
  ] };
  api = await startFakeKubeApi({
    namespace: 'dynamo',
    objects: [
      dgdV1beta1(graph),
      dgdsa('v1beta1', 'llama-disagg', 'prefill', 1, 'dynamo'),
      dcd('v1beta1', 'llama-disagg-prefill-spot', { type: 'prefill', replicas: 0, status: stable(0), namespace: 'dynamo' }),
      dcd('v1beta1', 'llama-disagg-decode-spot', { type: 'decode', replicas: 0, status: stable(0), namespace: 'dynamo' }),
      node('spot-1', { spot: true }),
      pod('decode-spot-0', { namespace: 'dynamo', labels: { 'nvidia.com/dynamo-component': 'decode-spot' }, phase: 'Pending' }),
    ],
  });
  alpha = await startFakeKubeApi({ namespace: 'dynamo', servedVersions: ['v1alpha1'], objects: [dgdV1alpha1(graph)] });
  const spec = policy.spec;
  for (const fake of [api, alpha]) {
    const kubeConfig = fake.kubeConfig();
    const connector = createKubernetesConnector({ kubeConfig, namespace: 'dynamo', sleep: recordingSleep().sleep });
    // prefill via its adapter, decode via the graph fallback (no adapter), both DCDs by merge patch.
    await connector.apply(decisionFor({ 'prefill-od': 2, 'prefill-spot': 1, 'decode-od': 2, 'decode-spot': 3 }, spec), spec);
    await connector.readTargets(spec);
    const state = createKubeState({ kubeConfig, namespace: 'dynamo', spec });
    if (fake === api) {
      await state.start();
      state.poolObservations(spec, Date.now());
      // start() resolves once every informer has listed; each one's watch follows: let them reach the server.
      const watches = () => new Set(api!.requests.filter((r) => r.verb === 'watch').map((r) => r.resource)).size;
      await waitFor(() => watches() === 4, 5000, 'the watches of pods, nodes, graphs and DCDs', 10);
      state.stop();
    }
    // Leader election's calls, as src/service/leader.ts makes them.
    const leases = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    const created = await leases.createNamespacedLease({ namespace: 'dynamo', body: { metadata: { name: LEASE }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } } });
    const read = await leases.readNamespacedLease({ name: LEASE, namespace: 'dynamo' });
    await leases.replaceNamespacedLease({ name: LEASE, namespace: 'dynamo', body: { ...read, spec: { ...read.spec, holderIdentity: 'b' } } });
    expect(created.metadata?.name).toBe(LEASE);
  }
  for (const r of [...api.requests, ...alpha.requests]) {
    const p = permissionOf(r);
    if (p) used.push(p);
    else nonResource.add(`${r.method} ${r.path}`);
  }
});

afterAll(async () => {
  await api?.close();
  await alpha?.close();
});

describe('deploy/ RBAC against the calls the planner makes', () => {
  it('the flows exercised every kind of call the planner makes', () => {
    expect([...new Set(used.map(key))].sort()).toEqual(
      [
        'create coordination.k8s.io/leases',
        'get coordination.k8s.io/leases',
        'update coordination.k8s.io/leases',
        'get nvidia.com/dynamographdeployments',
        'patch nvidia.com/dynamographdeployments',
        'list nvidia.com/dynamographdeployments',
        'watch nvidia.com/dynamographdeployments',
        'get nvidia.com/dynamocomponentdeployments',
        'patch nvidia.com/dynamocomponentdeployments',
        'list nvidia.com/dynamocomponentdeployments',
        'watch nvidia.com/dynamocomponentdeployments',
        'patch nvidia.com/dynamographdeploymentscalingadapters/scale',
        'list /pods',
        'watch /pods',
        'list /nodes',
        'watch /nodes',
      ].sort(),
    );
    // Discovery is a non-resource URL, allowed to every authenticated user by the default system:discovery role.
    expect([...nonResource]).toEqual(['GET /apis/nvidia.com']);
  });

  it('every call is allowed: namespaced ones by the Role, nodes by the ClusterRole', () => {
    for (const p of used) {
      const rules = p.resource === 'nodes' ? (clusterRole.rules as Rule[]) : (role.rules as Rule[]);
      expect(rules.some((rule) => allows(rule, p)), `${key(p)}${p.name ? ` (${p.name})` : ''} is not granted`).toBe(true);
    }
  });

  it('nothing is granted that goes unused (except the read-only extras, listed)', () => {
    const needed = [...used, ...LEADER_ELECTION];
    for (const doc of [role, clusterRole]) {
      for (const rule of doc.rules as Rule[]) {
        for (const group of rule.apiGroups) {
          for (const resource of rule.resources) {
            for (const verb of rule.verbs) {
              const grant = `${verb} ${group}/${resource}`;
              const usedIt = needed.some((p) => key(p) === grant && (rule.resourceNames === undefined || (p.name !== undefined && rule.resourceNames.includes(p.name))));
              expect(usedIt || READ_ONLY_EXTRAS.has(grant), `${doc.kind} grants "${grant}" but nothing uses it`).toBe(true);
            }
          }
        }
      }
    }
    // The cluster-wide grant is read-only nodes, nothing else.
    expect(clusterRole.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }]);
  });

  it('no write on adapters other than /scale, and the Lease names match the policy name', () => {
    const rules = role.rules as Rule[];
    expect(rules.filter((r) => r.resources.some((x) => x.startsWith('dynamographdeploymentscalingadapters')))).toEqual([
      { apiGroups: ['nvidia.com'], resources: ['dynamographdeploymentscalingadapters/scale'], verbs: ['patch'] },
    ]);
    expect(rules.find((r) => r.resourceNames)?.resourceNames).toEqual([LEASE]);
  });
});

describe('deploy/ manifests', () => {
  const deployment = docs('deploy/base/deployment.yaml')[0] as Doc & { spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0] as Record<string, unknown> & { securityContext: Record<string, unknown> };

  it('the policy ConfigMap is a valid policy with the spot-mixed pools', () => {
    expect(policy.spec.pools.map((p) => `${p.name}:${p.target?.kind}`)).toEqual([
      'prefill-od:DynamoGraphDeployment',
      'prefill-spot:DynamoComponentDeployment',
      'decode-od:DynamoGraphDeployment',
      'decode-spot:DynamoComponentDeployment',
    ]);
  });

  it('the Deployment is hardened, probed, runs as planner-serviceaccount, prefers on-demand nodes and tolerates nothing', () => {
    expect(pod.serviceAccountName).toBe('planner-serviceaccount');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    // No command: the image's ENTRYPOINT (tini as PID 1, then node dist/cli/main.js) runs it and forwards SIGTERM.
    expect(container.command).toBeUndefined();
    expect(container.image).toBe('ghcr.io/example/pd-planner:0.1.0');
    expect(container.args).toEqual(['run', '--policy', '/etc/pd-planner/policy.yaml']);
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'metrics' } });
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/readyz', port: 'metrics' } });
    expect(container.resources).toMatchObject({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
    expect(pod.tolerations).toBeUndefined();
    expect(JSON.stringify(pod.affinity)).toContain('{"key":"kubernetes.azure.com/scalesetpriority","operator":"NotIn","values":["spot"]}');
  });

  it('the AKS Spot overlay\'s workers tolerate Spot and require Spot nodes; they are valid DCDs', () => {
    const overlay = parse(readFileSync('deploy/overlays/aks-spot/kustomization.yaml', 'utf8')) as { bases: string[]; resources: string[] };
    expect(overlay.bases).toEqual(['../../base']);
    expect(overlay.resources).toEqual(['spot-workers.yaml']);
    const workers = docs('deploy/overlays/aks-spot/spot-workers.yaml');
    expect(workers.map((w) => w.kind)).toEqual(['DynamoComponentDeployment', 'DynamoComponentDeployment']);
    for (const w of workers) {
      const spec = (w as { spec: { podTemplate: { spec: { tolerations?: unknown; affinity?: unknown } } } }).spec.podTemplate.spec;
      expect(spec.tolerations).toEqual([{ key: 'kubernetes.azure.com/scalesetpriority', operator: 'Equal', value: 'spot', effect: 'NoSchedule' }]);
      expect(JSON.stringify(spec.affinity)).toContain('"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.azure.com/scalesetpriority","operator":"In","values":["spot"]}]}]}');
    }
    // Valid DCDs for Dynamo's v1beta1 CRD.
    const schema = dynamoResources(['v1alpha1', 'v1beta1']).get('dynamocomponentdeployments')?.schema('v1beta1');
    for (const w of workers) expect(validateAndPrune(structuredClone(w), schema as object).errors).toEqual([]);
    // The policy's Spot pools target exactly these DCDs.
    expect(policy.spec.pools.filter((p) => p.capacity === 'spot').map((p) => p.target?.name).sort()).toEqual(workers.map((w) => w.metadata?.name).sort());
  });

  it.each(KUBECTLS.map((kubectl) => [`${kubectl} (${kubectlVersion(kubectl)})`, kubectl]))('kubectl kustomize with %s renders the overlay with the toleration on the two Spot DCDs and none on the planner', (_name, kubectl) => {
    const rendered = kustomize(kubectl, 'deploy/overlays/aks-spot');
    const objects = parseAllDocuments(rendered).map((d) => d.toJS() as Doc & { spec?: Record<string, unknown> });
    const tolerating = objects.filter((o) => JSON.stringify(o).includes('"tolerations"')).map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(tolerating.sort()).toEqual(['DynamoComponentDeployment/llama-disagg-decode-spot', 'DynamoComponentDeployment/llama-disagg-prefill-spot']);
    expect(objects.every((o) => (o.metadata as { namespace?: string } | undefined)?.namespace === 'dynamo' || o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toBe(true);
    // The base's objects carry the part-of label; the Deployment runs the image kustomization.yaml's `images:` names.
    const base = objects.filter((o) => o.kind !== 'DynamoComponentDeployment');
    expect(base.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    for (const o of base) expect(o.metadata?.labels, `${o.kind}/${o.metadata?.name}`).toMatchObject({ 'app.kubernetes.io/part-of': 'pd-planner' });
    const deployment = base.find((o) => o.kind === 'Deployment') as { spec: { template: { spec: { containers: { image: string }[] } } } };
    expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual(['ghcr.io/example/pd-planner:0.1.0']);
  });

  it('the DGD-with-planner example validates against the HEAD CRD and its policy targets its components', () => {
    const [cm, dgd] = docs('deploy/examples/dgd-with-planner.yaml') as [Doc & { data: Record<string, string> }, Doc];
    const schema = dynamoResources(['v1alpha1', 'v1beta1']).get('dynamographdeployments')?.schema('v1beta1');
    const result = validateAndPrune(structuredClone(dgd), schema as object);
    expect(result.errors).toEqual([]);
    expect(result.pruned).toEqual([]);
    const inner = parsePolicyText(cm.data['policy.yaml'] as string, 'dgd-with-planner.yaml', '.', { checkProfile: false });
    const components = (dgd.spec as { components: { name: string; type: string }[] }).components;
    for (const pool of inner.spec.pools) {
      const service = (pool.target as { service: string }).service;
      expect(components.find((c) => c.name === service)?.type).toBe(pool.role);
    }
    expect(components.find((c) => c.type === 'planner')).toMatchObject({ name: 'Planner' });
  });

  it('the Grafana dashboard plots every planner metric (each name the service registers in src/)', () => {
    const text = readFileSync('deploy/grafana/pd-planner-dashboard.json', 'utf8');
    JSON.parse(text);
    const registered = new Set<string>();
    for (const file of ['src/service/exporter.ts', 'src/service/fleet-metrics.ts']) {
      for (const m of readFileSync(file, 'utf8').matchAll(/name: '(pd_planner_[a-z_]+)'/g)) registered.add(m[1] as string);
    }
    // 22 today: the check cannot pass on a list the pattern failed to find.
    expect(registered.size).toBeGreaterThanOrEqual(22);
    for (const metric of registered) expect(text, metric).toContain(metric);
  });
});
