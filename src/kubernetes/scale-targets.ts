/**
 * The two kinds of object a pool scales, as ScaleTargets for scale-write.ts:
 *   - a DynamoGraphDeployment component: PATCH its DynamoGraphDeploymentScalingAdapter `/scale` with
 *     `{"spec":{"replicas":N}}`; only on 404 (no adapter), patch the graph itself (merge patch on v1alpha1, JSON patch
 *     with a `test` op on v1beta1, whose failure after a reorder of spec.components is retried like a conflict);
 *   - a DynamoComponentDeployment: merge patch `{"spec":{"replicas":N}}`.
 */
import type { PoolSpec } from '../config/schema.js';
import { objectPath } from './client.js';
import type { DynamoApi } from './dynamo-api.js';
import { KubeApiError } from './errors.js';
import { adapterName, componentDeploymentReplicas, resolveComponent, type DynamoVersion, type GraphComponent } from './graph.js';
import { graphFallbackPatch, MERGE_PATCH, replicasMergePatch } from './patches.js';
import type { ScaleSnapshot, ScaleTarget } from './scale-write.js';
import { serviceOf, type GraphRef, type TargetRef } from './targets.js';

const isConflict = (error: unknown) => error instanceof KubeApiError && error.status === 409;

export class GraphComponentTarget implements ScaleTarget {
  readonly #api: DynamoApi;
  readonly #ref: GraphRef;
  readonly #version: DynamoVersion;
  readonly #pool: PoolSpec;
  readonly #canAct: () => boolean;
  /** Its index in spec.components when first resolved: a failed `test` that finds it there again is not a reorder. */
  readonly #firstIndex: number | undefined;
  #component: GraphComponent;
  /** The graph was read by the caller: the first read() uses that. */
  #fresh = true;
  /** The last write failed its JSON-patch `test`. */
  #moved: KubeApiError | undefined;

  /** `component`: resolved from the graph the caller read. */
  constructor(api: DynamoApi, ref: GraphRef, version: DynamoVersion, pool: PoolSpec, component: GraphComponent, canAct: () => boolean) {
    this.#api = api;
    this.#ref = ref;
    this.#version = version;
    this.#pool = pool;
    this.#canAct = canAct;
    this.#component = component;
    this.#firstIndex = component.index;
  }

  async read(): Promise<ScaleSnapshot> {
    if (!this.#fresh) {
      const dgd = await this.#api.getGraph(this.#ref, this.#version);
      this.#component = resolveComponent(dgd, this.#pool.role, serviceOf(this.#pool));
      if (this.#moved && this.#component.index === this.#firstIndex) throw this.#moved;
    }
    this.#fresh = false;
    return { specReplicas: this.#component.replicas, status: this.#component.status };
  }

  describe(from: number, to: number): string {
    const scalePath = objectPath('dynamographdeploymentscalingadapters', this.#ref.namespace, this.#adapter(), this.#version, 'scale');
    return `PATCH ${scalePath} ${JSON.stringify(replicasMergePatch(to))} (${from}->${to}; on 404 the graph itself)`;
  }

  async send(from: number, to: number): Promise<string> {
    const { namespace, name } = this.#ref;
    const version = this.#version;
    const component = this.#component;
    const adapter = this.#adapter();
    const pool = this.#pool.name;
    try {
      await this.#api.guardedPatch(this.#canAct, { plural: 'dynamographdeploymentscalingadapters', namespace, name: adapter, version, subresource: 'scale' }, replicasMergePatch(to), MERGE_PATCH);
      this.#api.log.info({ pool, adapter, from, to }, 'scaled through DynamoGraphDeploymentScalingAdapter');
      return `patched ${from}->${to} (DynamoGraphDeploymentScalingAdapter ${adapter}/scale)`;
    } catch (error) {
      if (!(error instanceof KubeApiError) || error.status !== 404) throw error;
    }
    // Only a 404 from /scale lands here: no adapter for this component (or no DGDSA CRD).
    const fallback = graphFallbackPatch(version, component, to);
    // guardedPatch asks canAct() first: leadership lost since the 404 -> LeadershipLostError, nothing sent.
    await this.#api.guardedPatch(this.#canAct, { plural: 'dynamographdeployments', namespace, name, version }, fallback.body, fallback.contentType);
    this.#api.log.info({ pool, graph: name, component: component.name, from, to }, 'scaled by patching the DynamoGraphDeployment (no scaling adapter)');
    return `patched ${from}->${to} (DynamoGraphDeployment ${name} component ${component.name}; no scaling adapter)`;
  }

  retryable(error: unknown): boolean {
    // A failed JSON-patch `test` (422) means spec.components moved under us: re-read and retry like a conflict.
    const moved = error instanceof KubeApiError && error.status === 422 && this.#version === 'v1beta1' && /test/i.test(error.detail);
    this.#moved = moved ? error : undefined;
    return isConflict(error) || moved;
  }

  #adapter(): string {
    return adapterName(this.#ref.name, this.#component.name);
  }
}

export class ComponentDeploymentTarget implements ScaleTarget {
  readonly #api: DynamoApi;
  readonly #ref: TargetRef;
  readonly #version: DynamoVersion;
  readonly #pool: string;
  readonly #canAct: () => boolean;

  constructor(api: DynamoApi, ref: TargetRef, version: DynamoVersion, pool: string, canAct: () => boolean) {
    this.#api = api;
    this.#ref = ref;
    this.#version = version;
    this.#pool = pool;
    this.#canAct = canAct;
  }

  async read(): Promise<ScaleSnapshot> {
    return componentDeploymentReplicas(await this.#api.getComponentDeployment(this.#ref, this.#version));
  }

  describe(from: number, to: number): string {
    const path = objectPath('dynamocomponentdeployments', this.#ref.namespace, this.#ref.name, this.#version);
    return `PATCH ${path} ${JSON.stringify(replicasMergePatch(to))} (${from}->${to})`;
  }

  async send(from: number, to: number): Promise<string> {
    const { namespace, name } = this.#ref;
    await this.#api.guardedPatch(this.#canAct, { plural: 'dynamocomponentdeployments', namespace, name, version: this.#version }, replicasMergePatch(to), MERGE_PATCH);
    this.#api.log.info({ pool: this.#pool, dcd: name, from, to }, 'scaled DynamoComponentDeployment');
    return `patched ${from}->${to} (DynamoComponentDeployment ${name})`;
  }

  retryable(error: unknown): boolean {
    return isConflict(error);
  }
}
