/**
 * The Kubernetes code: the API client, reading Dynamo objects (graph.ts), the connector that patches decisions onto
 * Dynamo targets (connector.ts) and the informers that watch pods, nodes and graphs (informers/kube-state.ts).
 */
export { createKubernetesConnector, type KubernetesConnector, type KubernetesConnectorOptions, type TargetReadResult } from './connector.js';
export {
  KubeApiError,
  DynamoGraphDeploymentNotFoundError,
  DynamoComponentDeploymentNotFoundError,
  SubComponentNotFoundError,
  DuplicateSubComponentError,
} from './errors.js';
export { resolveComponent, replicaStatus, readyCondition, graphComponents, adapterName, DEFAULT_COMPONENT_NAMES, type DynamoVersion } from './graph.js';
export { FIELD_MANAGER } from './client.js';
