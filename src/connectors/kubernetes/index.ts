/** The Kubernetes connector for NVIDIA Dynamo graphs (see connector.ts). */
export { createKubernetesConnector, readTargets, type KubernetesConnector, type KubernetesConnectorOptions, type TargetReadResult } from './connector.js';
export {
  KubeApiError,
  DynamoGraphDeploymentNotFoundError,
  DynamoComponentDeploymentNotFoundError,
  SubComponentNotFoundError,
  DuplicateSubComponentError,
} from './errors.js';
export { resolveComponent, replicaStatus, readyCondition, graphComponents, adapterName, DEFAULT_COMPONENT_NAMES, type DynamoVersion } from './graph.js';
export { FIELD_MANAGER } from './client.js';
