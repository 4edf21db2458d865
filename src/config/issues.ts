/**
 * Turns zod issues into the one-line-per-problem shape every input error uses:
 *
 *   spec.pools[0].colour: unknown field (allowed: name, role, capacity, ...)
 *   spec.policy: expected one of sla, dynamo, load, hpa, static, got "slaa"; did you mean "sla"?
 *   observation.ttftMs.p95: expected a number ≥ 0, got -3
 *
 * Messages written on a schema (`.regex(re, 'use lower-case ...')`, `ctx.addIssue(...)`) win over these;
 * this error map only replaces zod's generic wording, which names neither the value nor what to do.
 */
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type RawIssue = z.core.$ZodRawIssue;
type PathSegment = PropertyKey;

/** `spec.pools[1].maxReplicas` for ['spec', 'pools', 1, 'maxReplicas']; `prefix` names the root. */
export function formatPath(path: readonly PathSegment[], prefix = ''): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** A short, quoted rendering of a value the user wrote, for "got ..." clauses. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list (${value.length} item${value.length === 1 ? '' : 's'})`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

/**
 * The closest candidate to `word`, if it is close enough to be a likely typo:
 * at most 1 edit for words up to 4 characters, else at most a third of the length (e.g. "prefil" -> "prefill").
 */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = word.length <= 4 ? 1 : Math.max(2, Math.floor(word.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

export function didYouMean(word: unknown, candidates: readonly string[]): string {
  if (typeof word !== 'string') return '';
  const match = closest(word, candidates);
  return match !== undefined && match !== word ? `; did you mean "${match}"?` : '';
}

const TYPE_NOUNS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

function comparison(inclusive: boolean | undefined, below: boolean): string {
  if (below) return inclusive ? '≥' : '>';
  return inclusive ? '≤' : '<';
}

/** Allowed keys of the strict object that reported unknown keys (zod hands the schema to the error map as `inst`). */
function shapeKeys(inst: unknown): string[] {
  const def = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def;
  return def?.shape ? Object.keys(def.shape) : [];
}

/** Separator between the per-key lines an unknown-keys issue carries (see formatIssues). */
const KEY_LINE = '\u0000';

/**
 * zod error map (pass as `schema.safeParse(data, { error: errorMap })`). Returns undefined for issues whose
 * default message is already specific (custom issues carry their own message).
 */
export function errorMap(issue: RawIssue): string | undefined {
  const input = issue.input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = TYPE_NOUNS[issue.expected] ?? issue.expected;
      if (input === undefined) return `required field is missing (expected ${expected})`;
      if (issue.expected === 'int' && typeof input === 'number') return `expected a whole number, got ${describeValue(input)}`;
      if (typeof input === 'number' && Number.isNaN(input)) return `expected ${expected}, got NaN`;
      return `expected ${expected}, got ${describeValue(input)}`;
    }
    case 'too_small':
    case 'too_big': {
      const below = issue.code === 'too_small';
      const bound = below ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum;
      const inclusive = (issue as { inclusive?: boolean }).inclusive;
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `expected a number ${comparison(inclusive, below)} ${bound}, got ${describeValue(input)}`;
      }
      if (issue.origin === 'string') {
        return below && Number(bound) === 1 ? 'must not be empty' : `expected ${below ? 'at least' : 'at most'} ${bound} characters`;
      }
      if (issue.origin === 'array' || issue.origin === 'set') {
        return `expected ${below ? 'at least' : 'at most'} ${bound} item${Number(bound) === 1 ? '' : 's'}`;
      }
      return undefined;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
      const strings = issue.values.filter((v): v is string => typeof v === 'string');
      if (values.length === 1) return `expected ${JSON.stringify(issue.values[0])}, got ${describeValue(input)}`;
      return `expected one of ${values.join(', ')}, got ${describeValue(input)}${didYouMean(input, strings)}`;
    }
    case 'invalid_format': {
      if (issue.format === 'url') return `expected an http(s) URL such as "http://prometheus:9090", got ${describeValue(input)}`;
      if (issue.format === 'datetime') return `expected an ISO 8601 time such as "2026-11-25T10:00:00Z", got ${describeValue(input)}`;
      return `expected ${issue.format} format, got ${describeValue(input)}`;
    }
    case 'invalid_union': {
      const discriminated = issue as { discriminator?: string; options?: unknown[] };
      if (discriminated.discriminator !== undefined && discriminated.options) {
        const options = discriminated.options.map(String);
        const got = (input as Record<string, unknown> | undefined)?.[discriminated.discriminator];
        if (got === undefined) return `required field is missing (expected one of ${options.join(', ')})`;
        return `expected one of ${options.join(', ')}, got ${describeValue(got)}${didYouMean(got, options)}`;
      }
      return `does not match any allowed form (got ${describeValue(input)})`;
    }
    case 'unrecognized_keys': {
      const allowed = shapeKeys(issue.inst);
      const list = allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : '';
      return issue.keys.map((key) => `${key}: unknown field${didYouMean(key, allowed)}${list}`).join(KEY_LINE);
    }
    case 'invalid_key':
      return `invalid key ${describeValue(input)}`;
    default:
      return undefined;
  }
}

/**
 * One line per problem, `path: message`. An unknown-keys issue becomes one line per key, so that
 * `{ colour: red, size: 3 }` in a pool reports both `spec.pools[0].colour` and `spec.pools[0].size`.
 */
export function formatIssues(issues: readonly Issue[], prefix = ''): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const base = issue.path.length > 0 || prefix !== '' ? `${formatPath(issue.path, prefix)}.` : '';
      // Parsed without errorMap: zod's own message is "Unrecognized keys: ...", so say it per key ourselves.
      const perKey = issue.message.includes('unknown field')
        ? issue.message.split(KEY_LINE)
        : issue.keys.map((key) => `${key}: unknown field`);
      for (const line of perKey) lines.push(`${base}${line}`);
      continue;
    }
    lines.push(`${formatPath(issue.path, prefix)}: ${issue.message}`);
  }
  return lines;
}
