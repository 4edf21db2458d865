/**
 * What one tick logs (logTick, called by tick-runner.ts for a policy and by fleet-round.ts for each graph of a fleet):
 * a warning per metric source that could not be read, one short line for the decision, and the long detail (the whole
 * observation and the decision's explanation, several KB) at debug. The lines name the policy (graph) first when
 * several run, so each graph's problems read apart.
 *
 * A source that is down fails every query it serves: Prometheus' 14 queries give 14 errors that differ only in the
 * query. They are grouped by what went wrong, so an outage is one warning naming the fields it left unknown.
 * Example: { requests: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND) for query `sum(...)`',
 *            isl: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND) for query `...`',
 *            queueDepth: 'nats nats://n:4222 stream "prefill": getaddrinfo ENOTFOUND n' }
 *   -> [ { source: 'prometheus', problem: 'prometheus http://p:9090/api/v1/query could not be reached (ENOTFOUND)', fields: ['requests', 'isl'] },
 *        { source: 'nats', problem: 'nats nats://n:4222 stream "prefill": getaddrinfo ENOTFOUND n', fields: ['queueDepth'] } ]
 */
import type { Logger } from '../log.js';
import type { TickResult } from '../planner/tick.js';
import type { Observation } from '../planner/types.js';
import { decisionReason } from './exporter.js';

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

export interface TickLogContext {
  /** The policy's (graph's) name. */
  name: string;
  /** One policy only: the messages need not name it. */
  single: boolean;
  /** Whether this replica holds the lease (true without an election). */
  leader: boolean;
  /** Fields every line carries besides the policy (e.g. the fleet's name). */
  fields?: Record<string, unknown>;
}

/**
 * One warning per metric source that could not be read, one line for the decision (info; error when the connector
 * failed), and the whole observation and explanation at debug.
 * Example (two graphs, chat's Prometheus down): "chat: prometheus http://p:9090/api/v1/query could not be reached
 * (ECONNREFUSED): requests, isl, ... unknown this tick", then "chat tick: prefill=2 decode=4 (held: ...)".
 */
export function logTick(log: Logger, context: TickLogContext, result: TickResult, durationSeconds: number): void {
  const { name, single, leader } = context;
  const fields = { ...context.fields, policy: name };
  const prefix = single ? '' : `${name}: `;
  const tickName = single ? '' : `${name} `;
  for (const p of sourceProblems(result.observation.errors)) {
    log.warn({ event: 'source-error', ...fields, source: p.source, fields: p.fields }, `${prefix}${p.problem}: ${unknownFields(p.fields)}`);
  }
  const desired = Object.fromEntries(Object.entries(result.decision.pools).map(([pool, d]) => [pool, d.desired]));
  const explanation = result.decision.explanation;
  const applyErrors = Object.entries(result.apply.errors);
  const line = {
    event: 'tick',
    ...fields,
    outcome: decisionReason(result.decision, result.observation),
    leader,
    held: explanation.held === true,
    desired,
    apply: result.apply,
    observation: shortObservation(result.observation),
    durationSeconds,
  };
  const counts = Object.entries(desired).map(([pool, n]) => `${pool}=${n}`).join(' ');
  const held = explanation.held ? ` (held: ${shortReason(explanation.holdReason ?? 'missing metrics')})` : '';
  if (applyErrors.length > 0) {
    log.error(line, `${tickName}tick: ${counts}${held}; not applied: ${applyErrors.map(([pool, e]) => `${pool}: ${e}`).join('; ')}`);
  } else {
    log.info(line, `${tickName}tick: ${counts}${held}`);
  }
  log.debug({ event: 'tick-detail', ...fields, observation: result.observation, explanation }, `${prefix}tick detail: the observation and the decision's explanation`);
}
