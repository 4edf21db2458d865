/**
 * The budget the calls of a tick run under, shared by every adapter that talks to the outside world for the service
 * (the Kubernetes connector, the virtual connector, the metric sources): the tick's signal and time left, and for a
 * write the term of leadership it began in. What a write given up while under way is reported as (WriteAbandoned).
 */
import { abortReason } from './errors.js';

/**
 * The time and the stop a call runs under (the service's tick: its deadline, its timeout, the planner's stop).
 * Neither set: no bound beyond the call's own timeouts.
 */
export interface CallBudget {
  /** Aborted when the call must end now: its tick was given up, or the planner is stopping. Its reason says which. */
  signal?: AbortSignal;
  /** What is left of the time the call may take, its tries and waits included (ms); read before each try and wait. */
  remainingMs?: () => number;
  /**
   * The term of leadership the call is made in (leader.ts `term()`): aborted the moment this replica stops leading.
   * Writes run within it too (writeBudget): their waits and tries end at once. Reads do not: every replica reads.
   */
  leadership?: AbortSignal;
}

/**
 * The budget of a write: `budget`, with a signal that also aborts when its term of leadership ends (the reason of
 * whichever came first). `release()` drops the links once the write is done (the planner's stop and the term live
 * long; a write must not stay attached to them). Without a term: `budget` as it is.
 */
export function writeBudget(budget: CallBudget): { budget: CallBudget; release: () => void } {
  const { signal, leadership } = budget;
  if (!leadership) return { budget, release: () => undefined };
  const both = new AbortController();
  const sources = signal ? [signal, leadership] : [leadership];
  const onAbort = (event: Event) => both.abort((event.target as AbortSignal).reason);
  const release = () => {
    for (const s of sources) s.removeEventListener('abort', onAbort);
  };
  const first = sources.find((s) => s.aborted);
  if (first) both.abort(first.reason);
  else for (const s of sources) s.addEventListener('abort', onAbort, { once: true });
  return { budget: { ...budget, signal: both.signal }, release };
}

/** Why a write under way was given up: its term of leadership ended, or its tick's budget did. */
export type WriteAbandonedReason = 'leadership-lost' | 'tick-ended';

/**
 * What ended a write whose budget (`write`, from writeBudget) has aborted: `leadership-lost` when the term of `own`
 * ended first (the write's signal carries the term's reason), else `tick-ended` (the tick given up, out of time, the
 * planner stopping). Example: the term aborted with "not the leader any more: lease held by planner-1" and the write's
 * signal with the same reason -> leadership-lost; the tick's timeout aborted it first -> tick-ended, whatever the term
 * did after.
 */
export function abandonReason(own: CallBudget, write: CallBudget): WriteAbandonedReason {
  const term = own.leadership;
  return term?.aborted === true && write.signal?.aborted === true && write.signal.reason === term.reason ? 'leadership-lost' : 'tick-ended';
}

/**
 * A write given up while under way: `leadership-lost` when its term of leadership ended (a wait, a request not yet out
 * or in flight), `tick-ended` when its tick's budget did (the tick given up at its timeout, out of time, the planner
 * stopping). Not one of them: a standby's "not leader" (it never began a write).
 */
export interface WriteAbandoned {
  pool: string;
  /**
   * The request: "PATCH /apis/nvidia.com/v1alpha1/namespaces/default/dynamographdeploymentscalingadapters/llama-vllmprefillworker/scale",
   * "KV update $KV.pd-planner.prefill-od".
   */
  request: string;
  reason: WriteAbandonedReason;
  /** Cut off in flight: the server may or may not have applied it. */
  inFlight: boolean;
  why: string;
}

/**
 * Rejects after `ms` with `message` (a client's own timeouts may be longer, or per request; this bounds the whole
 * call), or as soon as `signal` aborts ("cut off: <its reason>"). The slow promise is left to settle on its own (its
 * rejection handled).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    if (!signal) return;
    onAbort = () => reject(new Error(`cut off: ${abortReason(signal)}`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
