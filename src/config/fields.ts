/**
 * The policy file's field paths, read off the zod schema: `spec.pools[].minReplicas`, `spec.sla.improvements.leadTime`.
 * docs/policy.md documents each one; a unit test keeps the two in sync.
 */
import type { z } from 'zod';

type Def = { type: string; shape?: Record<string, unknown>; element?: unknown; innerType?: unknown; in?: unknown; options?: unknown[] };

function defOf(schema: unknown): Def {
  return (schema as { _zod: { def: Def } })._zod.def;
}

/** Strip optional/default/prefault/nullable/pipe wrappers down to the schema that says what the value is. */
function unwrap(schema: unknown): unknown {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (['optional', 'default', 'prefault', 'nullable', 'nonoptional', 'readonly'].includes(def.type)) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else return current;
  }
}

/**
 * Every leaf or record field under `schema`, as dotted paths with `[]` for list items. Objects are walked
 * (a union of objects, such as `target`, contributes the keys of every option); records and scalars are leaves.
 */
export function fieldPaths(schema: z.ZodType, prefix = ''): string[] {
  const paths: string[] = [];
  const walk = (node: unknown, path: string): void => {
    const inner = unwrap(node);
    const def = defOf(inner);
    if (def.type === 'object' && def.shape) {
      for (const [key, child] of Object.entries(def.shape)) walk(child, path ? `${path}.${key}` : key);
    } else if (def.type === 'array') {
      walk(def.element, `${path}[]`);
    } else if (def.type === 'union' && def.options?.every((o) => defOf(unwrap(o)).type === 'object')) {
      const seen = new Set<string>();
      for (const option of def.options) {
        for (const p of fieldPaths(option as z.ZodType, path)) if (!seen.has(p)) seen.add(p);
      }
      paths.push(...seen);
    } else {
      paths.push(path);
    }
  };
  walk(schema, prefix);
  return [...new Set(paths)];
}
