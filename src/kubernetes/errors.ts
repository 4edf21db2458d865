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

/**
 * A call given up because the planner no longer wants its answer: the tick it belongs to was given up (its timeout),
 * had no time left, or the planner is stopping. Never retried. `inFlight`: the request had been sent and was cut off,
 * so a write may or may not have reached the API server; it is reported as not applied, and the next tick reads the
 * object back and decides again (counts are absolute: a write that did land is found in place, not sent twice).
 */
export class KubeCallAbortedError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    /** Why the call was given up (the abort's reason). */
    readonly why: string,
    readonly inFlight: boolean,
    /** The failed try before the wait that was cut short, if any. */
    readonly after?: KubeApiError,
  ) {
    super(
      inFlight
        ? `${method} ${path}: cut off while in flight: ${why}${method === 'GET' ? '' : '; not counted as applied (the API server may or may not have applied it; the next tick reads the count back)'}`
        : after
          ? `${after.message}; not retried: ${why}`
          : `${method} ${path}: not sent: ${why}`,
    );
    this.name = 'KubeCallAbortedError';
  }
}

export { abortReason } from '../errors.js';

/**
 * A write not sent, or cut off in flight, because this replica stopped leading: `canAct()` was false before a try, or
 * the term of leadership the write began in ended (during a retry's wait, before the request went out, or while it
 * was in flight). Never retried. `inFlight`: as for KubeCallAbortedError, the API server may or may not have applied it.
 */
export class LeadershipLostError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    /** Why: the term's end ("not the leader any more: lease held by planner-1"). */
    readonly why: string,
    readonly inFlight: boolean,
  ) {
    super(inFlight ? `${method} ${path}: cut off while in flight: ${why}; not counted as applied` : `${method} ${path}: not sent: ${why}`);
    this.name = 'LeadershipLostError';
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
