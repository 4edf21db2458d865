/** Where the service finds its Kubernetes credentials and its namespace. */
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { InputError } from '../errors.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** --kubeconfig FILE, else in-cluster, else $KUBECONFIG; undefined when none applies. */
export function loadKubeConfig(path: string | undefined): KubeConfig | undefined {
  const kc = new KubeConfig();
  if (path) {
    if (!existsSync(path)) throw new InputError([`--kubeconfig: ${path} not found`]);
    kc.loadFromFile(path);
    return kc;
  }
  if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    return kc;
  }
  if (process.env.KUBECONFIG) {
    kc.loadFromDefault();
    return kc;
  }
  return undefined;
}

/** metadata.namespace of the policies (when they all name the same one), else the kubeconfig context's, else the pod's, else "default". */
export function plannerNamespace(policyNamespace: string | undefined, kc: KubeConfig | undefined): string {
  if (policyNamespace) return policyNamespace;
  const context = kc?.getContextObject(kc.getCurrentContext());
  if (context?.namespace) return context.namespace;
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
  return 'default';
}
