/**
 * Errors the Kubernetes connector reports. Each message names the object, the endpoint and what to do,
 * because these strings end up in ApplyResult.errors and in the planner's logs.
 */

/** An API call that failed with an HTTP status (or never answered: status 0). */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** The API server's Status.message, or the transport error. */
    readonly detail: string,
    /** Seconds from a Retry-After header, if any. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${method} ${path} -> ${status === 0 ? 'no answer' : `HTTP ${status}`}: ${detail}`);
    this.name = 'KubeApiError';
  }
}

export class DynamoGraphDeploymentNotFoundError extends Error {
  constructor(
    readonly graph: string,
    readonly namespace: string,
  ) {
    super(`DynamoGraphDeployment "${graph}" not found in namespace "${namespace}"; check the pool's target.name and target.namespace`);
    this.name = 'DynamoGraphDeploymentNotFoundError';
  }
}

export class DynamoComponentDeploymentNotFoundError extends Error {
  constructor(
    readonly deployment: string,
    readonly namespace: string,
  ) {
    super(`DynamoComponentDeployment "${deployment}" not found in namespace "${namespace}"; check the pool's target.name and target.namespace`);
    this.name = 'DynamoComponentDeploymentNotFoundError';
  }
}

/** No component of the wanted role (Dynamo: SubComponentNotFoundError). */
export class SubComponentNotFoundError extends Error {
  constructor(
    readonly role: string,
    readonly graph: string,
    readonly available: string[],
    detail?: string,
  ) {
    super(
      detail ??
        `DynamoGraphDeployment "${graph}" must contain a component with type '${role}' (v1beta1 spec.components[].type, v1alpha1 spec.services.*.subComponentType), ` +
          `or one named like the backend default; it has [${available.join(', ')}]; set the pool's target.service to choose one`,
    );
    this.name = 'SubComponentNotFoundError';
  }
}

/** Several components of one role and no name to choose (Dynamo: DuplicateSubComponentError). */
export class DuplicateSubComponentError extends Error {
  constructor(
    readonly role: string,
    readonly graph: string,
    readonly names: string[],
  ) {
    super(`DynamoGraphDeployment "${graph}" has ${names.length} components that could be the ${role} role (${names.join(', ')}); set the pool's target.service to one of them`);
    this.name = 'DuplicateSubComponentError';
  }
}
