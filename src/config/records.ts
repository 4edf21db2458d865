/**
 * Maps keyed by names users choose (pool names, label names, metric fields). A plain object answers for keys it
 * does not hold but its prototype does: `{}["constructor"]` is Object's constructor, so a pool named `constructor`
 * (a valid DNS label) would read "a replica count of function Object()". And `obj["__proto__"] = x` replaces the
 * prototype instead of adding a key, so a `"__proto__"` pool in a JSON file silently vanishes.
 *
 * - `own(record, key)`: the value only when the record itself holds the key.
 * - `nullRecord()` / `toNullRecord()`: objects without a prototype, for records built from user names.
 * - `protoKeyPath(value)`: where a parsed document holds a `__proto__` key, so the loaders can refuse it by name.
 */

/** record[key] when the record itself has the key (not its prototype); undefined otherwise. */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/** An empty record with no prototype: every key is the user's. */
export function nullRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A prototype-less copy of `entries` (an object's own enumerable keys, or [key, value] pairs). */
export function toNullRecord<T>(entries: Readonly<Record<string, T>> | Iterable<readonly [string, T]>): Record<string, T> {
  const out = nullRecord<T>();
  const pairs: Iterable<readonly [string, T]> = Symbol.iterator in Object(entries) ? (entries as Iterable<readonly [string, T]>) : Object.entries(entries);
  for (const [key, value] of pairs) out[key] = value;
  return out;
}

/** The problem line for a `__proto__` key at `path` (formatted by the caller, e.g. `observation.pools.__proto__`). */
export function protoKeyProblem(where: string): string {
  return `${where}: "__proto__" is not allowed as a name (it would change how the data is read instead of adding an entry); rename it`;
}

/** Keys that change what an object is rather than what it holds. */
const FORBIDDEN_KEYS = new Set(['__proto__']);

interface Visit {
  node: unknown;
  key: string | number | undefined;
  parent: Visit | undefined;
}

/**
 * The path (as segments) of the first `__proto__` key anywhere in a parsed JSON/YAML value, or undefined.
 * Iterative with parent links (no path copied per node), so a document nested 200,000 levels deep costs what it
 * holds and does not overflow the stack.
 */
export function protoKeyPath(value: unknown): (string | number)[] | undefined {
  const pathOf = (visit: Visit, last: string): (string | number)[] => {
    const path: (string | number)[] = [last];
    for (let v: Visit | undefined = visit; v?.key !== undefined; v = v.parent) path.unshift(v.key);
    return path;
  };
  const stack: Visit[] = [{ node: value, key: undefined, parent: undefined }];
  while (stack.length > 0) {
    const visit = stack.pop() as Visit;
    const node = visit.node;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ node: node[i], key: i, parent: visit });
      continue;
    }
    const keys = Object.keys(node);
    for (const key of keys) if (FORBIDDEN_KEYS.has(key)) return pathOf(visit, key);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      stack.push({ node: (node as Record<string, unknown>)[key], key, parent: visit });
    }
  }
  return undefined;
}
