/**
 * Security checks over every manifest in deploy/ (base, overlays, examples; the files as written and as
 * `kubectl kustomize` renders them, with every kubectl in test/fixtures/kubectl.ts). Every pod template found anywhere (Deployment, the
 * DynamoGraphDeployment components' podTemplate, DynamoComponentDeployments) is checked:
 *   - every container, the planner's or a worker example's: not privileged, no added capabilities, no privilege
 *     escalation allowed, no hostPath volume, no hostNetwork / hostPID / hostIPC;
 *   - every pd-planner container (image .../pd-planner): runs as non-root (runAsNonRoot, a non-zero UID), read-only
 *     root filesystem, allowPrivilegeEscalation false, capabilities drop ALL, RuntimeDefault seccomp, and its pod has
 *     no Spot toleration (no toleration at all).
 * The Role's least privilege (every grant used, every call allowed) is test/integration/kube-rbac.test.ts.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KUBECTLS, kustomize } from '../../fixtures/kubectl.js';

type Obj = Record<string, unknown>;
interface Container {
  name?: string;
  image?: string;
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type?: string };
  };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: Obj[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  tolerations?: { key?: string; value?: string }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type?: string } };
}
interface FoundPod {
  where: string;
  spec: PodSpec;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** Every object with a `containers` array, anywhere in the document, with a path for messages. */
function podSpecs(doc: unknown, where: string): FoundPod[] {
  const found: FoundPod[] = [];
  const walk = (node: unknown, path: string) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Obj;
    if (Array.isArray(obj.containers)) found.push({ where: `${where} ${path}`, spec: obj as unknown as PodSpec });
    for (const [key, value] of Object.entries(obj)) walk(value, path ? `${path}.${key}` : key);
  };
  walk(doc, '');
  return found;
}

function docsOf(text: string, where: string): { where: string; doc: Obj }[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((d): d is Obj => d !== null && typeof d === 'object')
    .map((doc) => ({ where: `${where} ${String(doc.kind)}/${String((doc.metadata as Obj | undefined)?.name)}`, doc }));
}

const FILES = yamlFiles('deploy');
const WRITTEN = FILES.flatMap((file) => docsOf(readFileSync(file, 'utf8'), file));

const KUSTOMIZATIONS = ['deploy', 'deploy/overlays/aks-spot'];
const RENDERED = KUBECTLS.flatMap((kubectl) => KUSTOMIZATIONS.flatMap((dir) => docsOf(kustomize(kubectl, dir), `kustomize(${kubectl}) ${dir}:`)));

const PODS = [...WRITTEN, ...RENDERED].flatMap(({ where, doc }) => podSpecs(doc, where));
const isPlanner = (c: Container) => /(^|\/)pd-planner(:|@|$)/.test(c.image ?? '');
const PLANNER_PODS = PODS.filter((p) => p.spec.containers.some(isPlanner));
const allContainers = (p: PodSpec) => [...(p.initContainers ?? []), ...p.containers];

describe('security: deploy/ manifests', () => {
  it('finds the pod templates: the planner Deployment, the planner inside the DGD example, the workers', () => {
    expect(FILES.length).toBeGreaterThanOrEqual(10);
    // base Deployment + DGD example (as written) and the Deployment in each kustomize render, with each kubectl.
    expect(PLANNER_PODS.filter((p) => !p.where.startsWith('kustomize')).map((p) => p.where.split(' ')[1])).toEqual(
      expect.arrayContaining(['Deployment/pd-planner', 'DynamoGraphDeployment/vllm-disagg-planner']),
    );
    expect(PLANNER_PODS.filter((p) => p.where.startsWith('kustomize') && p.where.includes('Deployment/pd-planner'))).toHaveLength(KUBECTLS.length * KUSTOMIZATIONS.length);
    expect(PODS.length).toBeGreaterThan(PLANNER_PODS.length);
  });

  it('no container anywhere is privileged, adds capabilities or may escalate privileges; no host namespaces or hostPath', () => {
    const problems: string[] = [];
    for (const pod of PODS) {
      for (const flag of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (pod.spec[flag] === true) problems.push(`${pod.where}: ${flag}: true`);
      for (const volume of pod.spec.volumes ?? []) if ('hostPath' in volume) problems.push(`${pod.where}: hostPath volume ${String(volume.name)}`);
      for (const c of allContainers(pod.spec)) {
        const sc = c.securityContext ?? {};
        if (sc.privileged === true) problems.push(`${pod.where} container ${c.name}: privileged`);
        if (sc.allowPrivilegeEscalation === true) problems.push(`${pod.where} container ${c.name}: allowPrivilegeEscalation: true`);
        if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${pod.where} container ${c.name}: adds capabilities ${sc.capabilities?.add?.join(',')}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every pd-planner container runs as non-root with a read-only root filesystem, no privilege escalation, all capabilities dropped', () => {
    expect(PLANNER_PODS.length).toBeGreaterThanOrEqual(2);
    const problems: string[] = [];
    for (const pod of PLANNER_PODS) {
      const podSc = pod.spec.securityContext ?? {};
      for (const c of allContainers(pod.spec).filter(isPlanner)) {
        const sc = c.securityContext ?? {};
        const at = `${pod.where} container ${c.name}`;
        if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`);
        const uid = sc.runAsUser ?? podSc.runAsUser;
        if (uid === 0) problems.push(`${at}: runAsUser 0`);
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${at}: allowPrivilegeEscalation is not false`);
        if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${at}: capabilities.drop lacks ALL`);
        if ((sc.seccompProfile ?? podSc.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${at}: seccompProfile is not RuntimeDefault`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the planner pod tolerates nothing (no Spot toleration), as written and as rendered with the AKS Spot overlay', () => {
    for (const pod of PLANNER_PODS) expect(pod.spec.tolerations ?? [], pod.where).toEqual([]);
    // The overlay's Spot toleration exists in every render of the overlay, on the two Spot workers only (so the check
    // above is not vacuous).
    const spotTolerating = PODS.filter((p) => (p.spec.tolerations ?? []).some((t) => t.key === 'kubernetes.azure.com/scalesetpriority' && t.value === 'spot'));
    for (const kubectl of KUBECTLS) {
      expect(spotTolerating.filter((p) => p.where.startsWith(`kustomize(${kubectl}) deploy/overlays/aks-spot:`)).map((p) => p.where.split(' ')[2]).sort()).toEqual([
        'DynamoComponentDeployment/llama-disagg-decode-spot',
        'DynamoComponentDeployment/llama-disagg-prefill-spot',
      ]);
    }
    expect(spotTolerating.filter((p) => p.spec.containers.some(isPlanner))).toEqual([]);
  });

  it('the planner needs no writable root: its only writable mount is an emptyDir at /tmp; the policy is mounted read-only', () => {
    for (const pod of PLANNER_PODS) {
      const volumes = new Map((pod.spec.volumes ?? []).map((v) => [String(v.name), v]));
      for (const c of pod.spec.containers.filter(isPlanner)) {
        for (const mount of ((c as { volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }).volumeMounts ?? [])) {
          const volume = volumes.get(mount.name);
          if (mount.readOnly === true) continue;
          expect(volume && 'emptyDir' in volume, `${pod.where}: writable mount ${mount.name} at ${mount.mountPath} is not an emptyDir`).toBe(true);
        }
      }
    }
  });
});
