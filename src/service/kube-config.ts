/**
 * Where the service finds its Kubernetes credentials and its namespace. A kubeconfig is read with a byte cap, and
 * one that is empty, not YAML, or names no cluster is refused at start with a message naming the file and what to do
 * (rather than a YAML parser excerpt, or "No active cluster!" at the first request).
 */
import { existsSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { readCapped } from '../config/read.js';
import { InputError, messageOf } from '../errors.js';

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The largest kubeconfig read: one with embedded certificates for a few clusters is tens of KB. */
const MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024;

const HOW = 'give the file `kubectl config view --raw --minify` writes, or run in a pod (in-cluster credentials)';

/** Reads one kubeconfig file into a KubeConfig; `from` says where its path came from ("--kubeconfig", "$KUBECONFIG"). */
function loadFile(path: string, from: string): KubeConfig {
  let text: string;
  try {
    text = readCapped(path, { bytes: MAX_KUBECONFIG_BYTES, what: 'a kubeconfig is a few KB' }).toString('utf8');
  } catch (error) {
    throw new InputError([`${from}: ${messageOf(error)}`]);
  }
  if (text.trim() === '') throw new InputError([`${from}: ${path} is empty, not a kubeconfig; ${HOW}`]);
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (error) {
    const reason = (messageOf(error).split('\n')[0] ?? '').replace(/^Cannot read properties of undefined.*$/, 'not a kubeconfig mapping');
    throw new InputError([`${from}: ${path} is not a valid kubeconfig (${reason}); check it with \`kubectl --kubeconfig ${path} config view\`, or ${HOW}`]);
  }
  kc.makePathsAbsolute(dirname(path));
  if (!kc.getCurrentCluster()) {
    const context = kc.getCurrentContext();
    const why = context ? `its current-context "${context}" names no cluster in the file` : 'it has no current-context (or no clusters)';
    throw new InputError([`${from}: ${path} has no cluster to talk to: ${why}; pick one with \`kubectl --kubeconfig ${path} config use-context NAME\`, or ${HOW}`]);
  }
  return kc;
}

/** --kubeconfig FILE, else in-cluster, else $KUBECONFIG; undefined when none applies. */
export function loadKubeConfig(path: string | undefined): KubeConfig | undefined {
  if (path) {
    if (!existsSync(path)) throw new InputError([`--kubeconfig: ${path} not found`]);
    return loadFile(path, '--kubeconfig');
  }
  if (process.env.KUBERNETES_SERVICE_HOST) {
    const kc = new KubeConfig();
    kc.loadFromCluster();
    return kc;
  }
  const fromEnv = process.env.KUBECONFIG;
  if (fromEnv) {
    const files = fromEnv.split(delimiter).filter((f) => f !== '' && existsSync(f));
    if (files.length === 0) throw new InputError([`$KUBECONFIG: none of ${fromEnv} exists; set KUBECONFIG to a kubeconfig file, or pass --kubeconfig FILE`]);
    if (files.length === 1) return loadFile(files[0] as string, '$KUBECONFIG');
    // Several files: each is checked (and read capped) first, then merged as kubectl merges them.
    for (const file of files) readCapped(file, { bytes: MAX_KUBECONFIG_BYTES, what: 'a kubeconfig is a few KB' });
    const kc = new KubeConfig();
    try {
      kc.loadFromDefault();
    } catch (error) {
      throw new InputError([`$KUBECONFIG: ${fromEnv}: not valid kubeconfigs (${messageOf(error).split('\n')[0]}); check them with \`kubectl config view\``]);
    }
    if (!kc.getCurrentCluster()) throw new InputError([`$KUBECONFIG: ${fromEnv}: no current cluster; pick one with \`kubectl config use-context NAME\``]);
    return kc;
  }
  return undefined;
}

/** metadata.namespace of the policies (when they all name the same one), else the kubeconfig context's, else the pod's, else "default". */
export function plannerNamespace(policyNamespace: string | undefined, kc: KubeConfig | undefined): string {
  if (policyNamespace) return policyNamespace;
  const context = kc?.getContextObject(kc.getCurrentContext());
  if (context?.namespace) return context.namespace;
  if (existsSync(SA_NAMESPACE_FILE)) return readCapped(SA_NAMESPACE_FILE, { bytes: 4096, what: 'it holds a namespace name' }).toString('utf8').trim();
  return 'default';
}
