/**
 * The `sla` policy: Dynamo's SLA formulas (dynamo.ts) plus our improvements, each switchable by
 * `spec.sla.improvements.*` so the simulator can show what each buys. With every improvement off and
 * `targetUtilization: 1` it gives exactly the `dynamo` policy's numbers.
 *
 * A pipeline of small steps, one file per improvement:
 *
 *   fast-path.ts    a sharp rise raises the forecasts to what was just observed  improvements.fastPath
 *   burst.ts        burst ratio and floor: the request count sizing uses         improvements.burst
 *                   the floor held longer while the SLO's miss budget is spent   improvements.budgetHold
 *   correction.ts   correction factors pCf, dCf (Dynamo's, or percentile.ts's)    sla.correction
 *   overshoot.ts    the prefill factor from pCf                                   improvements.ttftOvershoot
 *   sizing.ts       Dynamo's formulas for one forecast, with percentile.ts's
 *                   queue-model prefill count                                     improvements.percentile
 *   lead-time.ts    also size for the forecast at the lead time                   improvements.leadTime
 *   queue-aware.ts  extra prefill for an unexpected backlog                       improvements.queueAware
 *   slo-feedback.ts a headroom per role learned from the SLO's misses             improvements.sloFeedback
 *   crowd-hold.ts   the bare need of the highest recent peak, kept once half the
 *                   SLO's miss budget is spent                                    improvements.crowdHold
 *   pause-hold.ts   a share of what runs, kept while no demand is seen (a pause
 *                   is not a trend)                                               improvements.pauseHold
 *   budget-window.ts
 *                   a shorter scale-down window while the SLO's miss budget is
 *                   healthy (read by the constraints' stabilization)              improvements.budgetWindow
 * (correction.ts also holds `correctionGuard`: factors kept while a role is saturated or starting, and bounded;
 * percentile.ts also holds `serviceTimeCorrection`: pCf read as the service-time factor that explains the TTFT tail.)
 *
 * (`budgetSplit` acts in the constraints: src/constraints/budget.ts.) `targetUtilization`: sizing aims at this
 * fraction of profiled throughput (headroom for bursts), both roles.
 * Prefill time beyond the profile's largest ISL is extrapolated at the rate measured there (common.ts prefillMs), not
 * clamped: on Mooncake (p95 ISL 48.8k) the clamped lookup says 954 ms where the prompt takes 5.7 s.
 * TTFT feasibility: when the profiled TTFT at the forecast ISL already exceeds the SLO, no replica count fixes it;
 * we warn.
 */
import type { Role } from '../../config/schema.js';
import type { Forecast, RoleNeed } from '../../planner/types.js';
import { checkForecast, prefillMs, r4, roleReplicaGpus } from '../common.js';
import { heldOutput, infeasibleItl } from '../dynamo.js';
import type { Policy, PolicyInput, PolicyOutput } from '../types.js';
import { burstStep } from './burst.js';
import { budgetWindowStep } from './budget-window.js';
import { slaContext, type SlaContext } from './context.js';
import { correctionStep } from './correction.js';
import { CROWD_HOLD_SPENT, crowdHoldNeed, crowdHoldStep, type CrowdHold } from './crowd-hold.js';
import { fastPathStep } from './fast-path.js';
import { leadTimeStep } from './lead-time.js';
import { prefillFactor } from './overshoot.js';
import { applyPauseHold, pauseHoldReplicas } from './pause-hold.js';
import { observedIslTail } from './percentile.js';
import { queueAwareStep } from './queue-aware.js';
import { bareNeed, sizeFor, type Sized, type SizingInputs } from './sizing.js';
import { sloFeedbackStep, type SloFeedback } from './slo-feedback.js';

export {
  burstRatio,
  burstStep,
  floorMemory,
  BUDGET_HOLD_STARTUPS,
  BURST_CAP,
  BURST_DECAY,
  BURST_MEMORY_STARTUPS,
  BURST_MIN_REQUESTS,
  BURST_SUBWINDOW_SECONDS,
  POISSON_PEAK_Z,
} from './burst.js';
export { slaContext, type SlaContext } from './context.js';
export { correctionStep, disrupted } from './correction.js';
export { CROWD_HOLD_SPENT, crowdHoldStep } from './crowd-hold.js';
export { fastPathStep, PANIC_RATIO, PANIC_Z } from './fast-path.js';
export { leadTimeStep } from './lead-time.js';
export { OVERSHOOT_CAP, PCF_FLOOR, prefillFactor } from './overshoot.js';
export { BUDGET_WINDOW_SHARE, budgetWindowStep } from './budget-window.js';
export { applyPauseHold, PAUSE_HOLD_SECONDS, PAUSE_KEEP, pauseHoldReplicas } from './pause-hold.js';
export { PCF_SMOOTHING, prefillQueueCorrection, SATURATED_RHO } from './percentile.js';
export { queueAwareStep } from './queue-aware.js';
export { bareNeed, sizeFor, type Sized, type SizingInputs } from './sizing.js';
export { budgetSpent, estimateMissFraction, sloFeedbackStep } from './slo-feedback.js';

export const slaPolicy: Policy = (given: PolicyInput): PolicyOutput => {
  const warnings: string[] = [];
  const missing: Record<string, string> = {};
  const { gpus } = roleReplicaGpus(given.spec, warnings);
  const fc = checkForecast(given.forecast);
  if (!fc.ok) return heldOutput(given, fc.field, warnings, missing);
  const fast = fastPathStep(given);
  const input = fast.input;
  const ctx = slaContext(input, gpus, warnings, missing);
  const imp = ctx.improvements;

  const burst = burstStep(ctx);
  const corrections = correctionStep(ctx, burst.now);
  const feedback = sloFeedbackStep(ctx);
  const hold = crowdHoldStep(ctx, burst);
  // A hold is carried only while it holds: without `correction` the carry is the input state, last tick's hold in it.
  const base = { ...corrections.carry };
  delete base.crowdHold;
  let carry = imp.burst ? { ...base, burst: burst.ratio, burstFloor: burst.floor, ...(hold.state ? { crowdHold: hold.state } : {}) } : base;
  if (feedback.on) carry = { ...carry, slo: { prefill: feedback.prefill.state, decode: feedback.decode.state } };
  const { factor, rule } = prefillFactor(corrections.pCf, imp.ttftOvershoot);
  const itlSlo = input.spec.slo.itl.ms;
  const sizing: SizingInputs = {
    burst,
    pCf: corrections.pCf,
    dCf: corrections.dCf,
    factor,
    factorRule: rule,
    itlTargetMs: corrections.dCf > 0 ? itlSlo / corrections.dCf : itlSlo,
    islTail: observedIslTail(ctx),
    headroom: { prefill: feedback.prefill.state.headroom, decode: feedback.decode.state.headroom },
  };
  const size = (f: Forecast): Sized => sizeFor(ctx, f, sizing);

  const sized = leadTimeStep(ctx, size(input.forecast), size);
  const chosen: Record<Role, RoleNeed> = { prefill: queueAwareStep(ctx, sized.prefill, factor), decode: sized.decode };
  Object.assign(chosen.prefill.detail, corrections.prefill);
  Object.assign(chosen.decode.detail, corrections.decode);
  if (fast.detail) for (const role of ['prefill', 'decode'] as const) Object.assign(chosen[role].detail, fast.detail);
  // The bare need is shown whether or not the SLO loop runs (what the policy asked for over it are its margins); only
  // the SLO loop, which may trim the sized need, uses it as a floor.
  const floor = bareNeed(ctx, input.forecast, sizing.islTail);
  const lf = input.leadForecast;
  const lead = imp.leadTime && lf && checkForecast(lf).ok ? bareNeed(ctx, pointForecast(lf), sizing.islTail) : floor;
  applyFloor(chosen, { prefill: Math.max(floor.prefill, lead.prefill), decode: Math.max(floor.decode, lead.decode) }, feedback);
  applyHold(
    chosen,
    hold,
    crowdHoldNeed(hold, (requests) => bareNeed(ctx, { ...input.forecast, requests: { ...input.forecast.requests, value: requests, bound: 0 } }, sizing.islTail)),
  );
  applyPauseHold(chosen, pauseHoldReplicas(ctx), input.idleForSeconds);

  finalWarnings(ctx, sized, corrections.pCf, corrections.dCf, chosen.decode);
  const window = budgetWindowStep(ctx);
  return { need: chosen, correction: carry, warnings, missing, ...(window ? { scaleDownWindow: window } : {}) };
};

/** A forecast without the forecaster's allowance for its own error: the load expected, not its upper bound. */
function pointForecast(f: Forecast): Forecast {
  const point = (v: Forecast['requests']) => (v.bound ? { ...v, value: v.value - v.bound } : v);
  return { ...f, requests: point(f.requests), isl: point(f.isl), osl: point(f.osl) };
}

/** The bare need (`bareReplicas`, always shown), and with the SLO loop its explanation and the bare need as the floor of a trimmed need. */
function applyFloor(chosen: Record<Role, RoleNeed>, floor: Record<Role, number>, feedback: SloFeedback): void {
  for (const role of ['prefill', 'decode'] as const) {
    const need = chosen[role];
    need.detail.bareReplicas = floor[role];
    if (!feedback.on) continue;
    Object.assign(need.detail, feedback[role].detail);
    if (need.replicas < floor[role]) {
      need.detail.trimmedReplicas = need.replicas;
      need.replicas = floor[role];
      need.detail.replicas = need.replicas;
    }
  }
}

/** The crowd hold's explanation, and its bare need as a floor. */
function applyHold(chosen: Record<Role, RoleNeed>, hold: CrowdHold, held: Record<Role, number>): void {
  if (!hold.state) return;
  for (const role of ['prefill', 'decode'] as const) {
    const need = chosen[role];
    Object.assign(need.detail, hold.detail, { crowdHoldReplicas: held[role] });
    if (need.replicas < held[role]) {
      need.detail.crowdHeldFrom = need.replicas;
      need.detail.crowdHoldRule = `raised to the bare need of the held peak (budget spent >= ${CROWD_HOLD_SPENT})`;
      need.replicas = held[role];
      need.detail.replicas = need.replicas;
    }
  }
}

function finalWarnings(ctx: SlaContext, sized: Sized, pCf: number, dCf: number, decode: RoleNeed): void {
  const { spec, input, profile, warnings } = ctx;
  const islNext = input.forecast.isl.value;
  const profiledTtft = prefillMs(profile, islNext);
  if (profiledTtft > spec.slo.ttft.ms) {
    warnings.push(
      `profiled TTFT at ISL ${r4(islNext)} is ${r4(profiledTtft)} ms, above the TTFT SLO ${spec.slo.ttft.ms} ms: ` +
        'no prefill replica count meets it (a faster engine or shorter prompts would)',
    );
  } else if (sized.queueInfeasible) {
    warnings.push(
      `prefill time at the ${ctx.ttftKey} ISL times pCf ${r4(pCf)} exceeds the TTFT SLO ${spec.slo.ttft.ms} ms: ` +
        'no replica count meets the percentile; sized for throughput',
    );
  }
  if (!sized.decodeFeasible) warnings.push(infeasibleItl(spec.slo.itl.ms, dCf, decode.detail));
}
