/**
 * A loaded policy back as a policy file: the `kind: PlannerPolicy` document whose loading gives the same spec, with
 * every default filled in. Reports carry it (the effective policy, after what-if overrides), so a run can be
 * repeated from its report alone.
 *
 * The only field type that loading changes is a duration: "5m" is loaded as 300 (seconds). Those fields are found
 * by walking the schema beside the value (every schema `duration()` made is in DURATION_SCHEMAS), not by a list of
 * names that a new field could miss, and written back as formatDuration spells them.
 * Example: { interval: 60, stabilization: { scaleDown: 300 }, pools: [{ startupSeconds: 240 }] } ->
 *   { interval: "1m", stabilization: { scaleDown: "5m" }, pools: [{ startupSeconds: "4m" }] }.
 */
import type { z } from 'zod';
import { formatDuration } from './duration.js';
import { DURATION_SCHEMAS, policySpec, type PolicyFile, type PolicySpec } from './schema.js';

export interface PolicyDocument {
  apiVersion: 'pd-planner/v1';
  kind: 'PlannerPolicy';
  metadata: PolicyFile['metadata'];
  spec: Record<string, unknown>;
}

/** The schema's own definition (zod 4 keeps it on `_zod.def`); only the fields the walk reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
}
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Through optional / default / prefault / nullable / readonly wrappers to the schema that holds the value. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let depth = 0; depth < 16; depth++) {
    if (DURATION_SCHEMAS.has(s)) return s;
    const def = defOf(s);
    if (!def.innerType || !['optional', 'default', 'prefault', 'nullable', 'readonly', 'nonoptional', 'catch'].includes(def.type)) return s;
    s = def.innerType;
  }
  return s;
}

/** `value` as the file would spell it under `schema`: durations as strings, everything else as it is. */
function asWritten(schema: z.ZodType, value: unknown): unknown {
  const s = unwrap(schema);
  if (DURATION_SCHEMAS.has(s)) return typeof value === 'number' ? formatDuration(value) : value;
  if (value === null || typeof value !== 'object') return value;
  const def = defOf(s);
  if (Array.isArray(value)) return def.type === 'array' && def.element ? value.map((v) => asWritten(def.element as z.ZodType, v)) : value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const field = def.type === 'object' && def.shape && Object.hasOwn(def.shape, key) ? def.shape[key] : def.type === 'record' ? def.valueType : undefined;
    out[key] = field ? asWritten(field, v) : v;
  }
  return out;
}

/** The policy file that loads to `spec` (durations written with their unit); `metadata` as the file had it. */
export function policyDocument(metadata: PolicyFile['metadata'], spec: PolicySpec): PolicyDocument {
  return {
    apiVersion: 'pd-planner/v1',
    kind: 'PlannerPolicy',
    metadata: { ...metadata },
    spec: asWritten(policySpec, spec) as Record<string, unknown>,
  };
}
