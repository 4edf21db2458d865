/**
 * What one tick logs, as plain data (tick-runner.ts writes it): a warning per metric source that could not be read,
 * one short line for the decision, and the long detail (the whole observation and the decision's explanation,
 * several KB) at debug.
 *
 * A source that is down fails every query it serves: Prometheus' 14 queries give 14 errors that differ only in the
 * query. They are grouped by what went wrong, so an outage is one warning naming the fields it left unknown.
 * Example: { requests: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND) for query `sum(...)`',
 *            isl: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND) for query `...`',
 *            queueDepth: 'nats nats://n:4222 stream "prefill": getaddrinfo ENOTFOUND n' }
 *   -> [ { source: 'prometheus', problem: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND)', fields: ['requests', 'isl'] },
 *        { source: 'nats', problem: 'nats nats://n:4222 stream "prefill": getaddrinfo ENOTFOUND n', fields: ['queueDepth'] } ]
 */
import type { Observation } from '../planner/types.js';

export interface SourceProblem {
  /** The source's name: the first word of its messages ("prometheus", "nats", "kubernetes"). */
  source: string;
  /** What went wrong, without the query it happened on. */
  problem: string;
  /** The observation fields it left unknown. */
  fields: string[];
}

/** Most fields a warning names before "and N more". */
const FIELDS_SHOWN = 6;

function sourceOf(message: string): string {
  return /^[^\s:]+/.exec(message)?.[0] ?? 'source';
}

/** The observation's errors grouped by what went wrong, in first-seen order. */
export function sourceProblems(errors: Record<string, string> | undefined): SourceProblem[] {
  const out: SourceProblem[] = [];
  for (const [field, message] of Object.entries(errors ?? {})) {
    const problem = message.replace(/ for query `[^`]*`$/, '');
    const known = out.find((p) => p.problem === problem);
    if (known) known.fields.push(field);
    else out.push({ source: sourceOf(message), problem, fields: [field] });
  }
  return out;
}

/** "requests, isl, osl, ... and 8 more unknown this tick". */
export function unknownFields(fields: readonly string[]): string {
  const shown = fields.slice(0, FIELDS_SHOWN).join(', ');
  const more = fields.length > FIELDS_SHOWN ? ` and ${fields.length - FIELDS_SHOWN} more` : '';
  return `${shown}${more} unknown this tick`;
}

/**
 * The observation as the tick's info line carries it: its values, and for each field it could not read only the
 * source's name (the message is in the source's warning, the whole of it in the debug detail).
 */
export function shortObservation(observation: Observation): Observation {
  if (!observation.errors) return observation;
  const errors = Object.fromEntries(Object.entries(observation.errors).map(([field, message]) => [field, sourceOf(message)]));
  return { ...observation, errors };
}

/** A hold reason without the queries its message quotes: "requests missing (prometheus ... (ENOTFOUND)): holding ...". */
export function shortReason(reason: string): string {
  return reason.replace(/ for query `[^`]*`/g, '');
}
