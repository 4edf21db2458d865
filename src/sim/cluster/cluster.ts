/**
 * Discrete-event model of a disaggregated prefill/decode cluster, replaying a trace request by request.
 * The simulator driver calls advanceTo(t) every planner interval, turns the WindowStats into an Observation, runs the
 * real decide(), then setDesired(pool, n, t) for every pool; finish() drains and returns the totals.
 *
 * A request's life (all times in seconds; numbers below use llama2-70b-h100-tp4, transfer 6.5536 ms per 1k tokens):
 *   arrival → FCFS prefill queue → prefill on the first idle prefill replica (one request at a time, time from the
 *   profile at its ISL; see latency.ts) → KV transfer (isl / 1000 x kvTransferMsPerKToken) → FIRST TOKEN:
 *   TTFT = queue wait + prefill + transfer → FCFS decode queue → decode on a decode replica (continuous batching)
 *   → the remaining osl - 1 tokens → done.
 *   Example: isl 2048, osl 128, arriving at 10.000 s to an idle cluster: prefill 200.681 ms, transfer 13.42 ms,
 *   first token at 10.214 s (TTFT 214.1 ms); alone on a decode replica (kv (2048 + 64) / 450000, context 2112) the
 *   ITL is 28.84 ms, so the 127 remaining tokens take 3.66 s and the request's ITL = (done - first token) / (osl - 1)
 *   = 28.84 ms.
 *
 * Modelling choices, each with its reason:
 * - ITL is measured as Dynamo's frontend does: time after the first token / (osl - 1). A one-token output (osl <= 1)
 *   completes at its first token, has ITL 0, never touches decode, and is not checked against the ITL SLO.
 * - Decode, exactly and in O(log n) per event: each decode replica keeps a "token clock" V (tokens produced per
 *   active request since the replica started). Between two batch changes every active request gains one token per
 *   step, and a step takes ITL(kv, ctx) from the profile, so V advances at 1 / ITL. A request admitted when the
 *   clock reads V_a finishes when V reaches V_a + (osl - 1). A per-replica min-heap on that finish value gives the
 *   next completion; its time, now + (V_finish - V) x ITL, is the replica's key in an indexed heap of busy replicas
 *   (one entry per replica, moved in place whenever its batch changes, so nothing goes stale).
 *   Example: ITL 30 ms, V = 1000; A needs V 1100 and B V 1050 → B completes at now + 50 x 0.030 = 1.5 s; if C joins
 *   at +0.6 s (V = 1020) and the ITL becomes 31 ms, B's time is recomputed: 0.6 + 30 x 0.031 = 1.53 s.
 * - KV usage and context for the ITL lookup use each request's lifetime-average context isl + osl / 2, the definition
 *   of the profile's x_kv_usage (concurrency x context / max_kv_tokens) and of Dynamo's planner (ctx = isl + osl/2):
 *   kv = sum(isl + osl/2) / maxKvTokens, ctx = sum(isl + osl/2) / active requests. ITL is constant between batch
 *   changes (the within-request growth of the context is averaged, not stepped).
 *   Example: 40 requests of isl 2000, osl 200 → ctx 2100, kv = 40 x 2100 / 450000 = 0.1867.
 * - Admission: a request reserves isl + osl KV tokens on its decode replica (so it can never be pre-empted); it goes
 *   to the accepting replica with the least reserved KV, if it fits there; otherwise it waits, FCFS (the head blocks
 *   the line). A request with isl + osl > maxKvTokens can never fit: it is dropped at arrival and counted.
 *   Waiting for KV happens after the first token, so it shows in the request's ITL, not its TTFT.
 *   The window's `kvUsage` is the reserved share (1 = nothing more fits), `kvOccupancy` the lifetime-average one.
 *   Example: maxKv 450000, a replica holding 440000 reserved tokens cannot take isl 8000 + osl 2100 = 10100.
 * - The prefill replica is free again when its prefill ends (the transfer is pulled by decode and overlaps).
 * - Replicas: setDesired(pool, n, t) up creates n - current replicas that start taking work startupSeconds later;
 *   they hold (and are billed for) their GPUs from t. Down removes, in this order, replicas not yet ready (newest
 *   first), idle ready ones, then drains busy ones (least loaded first): a draining replica finishes its work, takes
 *   nothing new, and is gone (and no longer billed) when empty. Draining replicas do not count towards `desired`,
 *   as a terminating pod does not count in Kubernetes; a later scale-up starts new replicas rather than reviving them.
 * - Spot: each replica of a Spot pool draws its eviction-notice time at creation, now + Exp(rate / 3600 s) (Poisson,
 *   memoryless, so drawing up front is exact), unless a recorded schedule is given, which replaces the Poisson draws.
 *   At the notice the replica stops taking work and its pool gets a replacement at once (the Deployment recreates
 *   the pod on another node; useful startupSeconds later); after noticeSeconds the replica is gone and whatever it
 *   still holds is re-queued at the head of the prefill queue: a prefill restarts; a decode loses its KV and is
 *   prefilled again over its prompt plus the tokens already produced (as Dynamo's request migration does), then
 *   decodes only the tokens still missing. Its TTFT stays the first one; the stall shows in its ITL.
 *   Example: rate 0.6 / h, notice 30 s: a replica's mean life is 100 min; one holding 50 requests at its eviction
 *   adds 50 to `requeued`.
 * - GPU-seconds integrate (starting + ready + leaving replicas) x gpusPerReplica over time per pool; cost is
 *   gpu-hours x costPerGpuHour of the pool (so Spot vs on-demand is priced by the pool).
 *   Example: 3 replicas x 4 GPUs for 2 h = 24 GPU-hours; at 2.10 $/GPU-h that is 50.40 $.
 *
 * Speed: three time-ordered sources, merged in the loop: the trace's sorted arrivals (a cursor), the busy replicas'
 * next completions (an indexed heap over replica slots: a prefill replica's end of prefill, a decode replica's next
 * finishing request), and an event heap for the rest (KV transfers, startups, eviction notices, evictions; lifecycle
 * events carry the replica's epoch and are ignored if the slot was retired or reused since). All typed arrays;
 * requests are columns (struct of arrays); nothing is allocated per request. Per request: one arrival, one prefill
 * end, one transfer, two decode batch changes, each O(log), placing
 * the request on the least-loaded decode replica (an indexed heap on reserved KV). Ties at one instant: replica
 * completions, then other events, then arrivals.
 */
import type { Percentiles, Trace } from '../types.js';
import { InputError } from '../../errors.js';
import { createRng, exponential, standardNormal, type Rng } from '../random.js';
import { EventQueue } from './eventQueue.js';
import { IndexedMinHeap } from './indexedHeap.js';
import { IntDeque } from './intDeque.js';
import { KeyedMinHeap } from './keyedHeap.js';
import { DecodeItl, PrefillTimes } from './latency.js';
import { latencyStats, reportPercentiles } from './percentiles.js';
import type { ClusterOptions, ClusterTotals, PoolWindowStats, WindowStats } from './types.js';

/**
 * Default KV transfer cost: 320 KiB of KV per token (Llama-2-70B, fp16: 80 layers x 8 KV heads x 128 x 2 x 2 bytes
 * = 327,680 bytes) over a 50 GB/s link (400 Gb/s RDMA): 1000 x 327680 / 50e9 s = 6.5536 ms per 1000 tokens.
 * Example: isl 3000 → 19.7 ms.
 */
export const DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN = 6.5536;
export const DEFAULT_DRAIN_SECONDS = 600;

const EV_DECODE_ARRIVE = 2;
const EV_READY = 4;
const EV_NOTICE = 5;
const EV_EVICT = 6;
const EV_SCHEDULED_NOTICE = 7;

/** Request states (requestState()). */
export const RQ_NOT_ARRIVED = 0;
export const RQ_PREFILL_QUEUE = 1;
export const RQ_PREFILL = 2;
export const RQ_TRANSFER = 3;
export const RQ_DECODE_QUEUE = 4;
export const RQ_DECODE = 5;
export const RQ_DONE = 6;
export const RQ_DROPPED = 7;

const PREFILL = 0;
const DECODE = 1;
const STAYING = 0;
const DRAINING = 1;
const EVICTING = 2;

/**
 * Initial value of fields that will hold fractions (times, sums). -0 is stored as a double, where 0 is a small
 * integer: a field that starts as a small integer and later holds 0.5 changes the object's hidden class, and every
 * optimised method touching the object is thrown away and recompiled once (a visible share of a long run).
 * Arithmetic is unaffected (-0 + x = x); values leaving the class are normalised with `+ 0`.
 */
const DOUBLE_ZERO = -0;

/** Tokens of slack when popping decode completions that are due at the same instant (float rounding of V). */
const V_EPS = 1e-6;

export class ClusterSim {
  private readonly options: ClusterOptions;
  // ---- trace (columns) and per-request state ----
  private readonly n: number;
  private readonly arrival: Float64Array;
  private readonly isl: Uint32Array;
  private readonly osl: Uint32Array;
  private readonly state: Uint8Array;
  private readonly ttft: Float32Array;
  private readonly itl: Float32Array;
  private readonly firstTokenAt: Float64Array;
  /** Tokens produced so far (the first token included); a re-queued request is prefilled over isl + produced. */
  private readonly produced: Uint32Array;
  /** Decode tokens still to generate. */
  private readonly toDecode: Uint32Array;
  private cursor = 0;

  // ---- model ----
  private readonly maxKv: number;
  private readonly prefillTimes: PrefillTimes;
  private readonly decodeItl: DecodeItl;
  private readonly transferSecPerToken: number;
  private readonly drainSeconds: number;
  private readonly sloTtftMs: number;
  private readonly sloItlMs: number;
  private readonly sloTtftPct: number;
  private readonly sloItlPct: number;
  private readonly rng: Rng;
  private readonly evictionRatePerSec: number;
  private readonly noticeSeconds: number;
  private readonly schedule: { t: number; pool: number; count: number }[];
  /** Startup times: a seeded lognormal per replica (options.startup), else each pool's startupSeconds exactly. */
  private readonly startupRng: Rng | undefined;
  private readonly startupSigma: number;
  private readonly startupFactor: number;

  /** Transfers, replica startups, eviction notices and evictions. */
  private readonly events = new EventQueue(4096);
  /** Each busy replica's next completion (prefill end, or the next decode completion), keyed by replica slot. */
  private readonly due = new IndexedMinHeap(64);
  private readonly prefillQueue = new IntDeque(1024);
  private readonly decodeQueue = new IntDeque(1024);
  private now = DOUBLE_ZERO;
  private finished: ClusterTotals | undefined;

  // ---- pools ----
  private readonly poolIndex = new Map<string, number>();
  private readonly pName: string[] = [];
  private readonly pRole: number[] = [];
  private readonly pSpot: boolean[] = [];
  private readonly pGpus: number[] = [];
  private readonly pStartup: number[] = [];
  private readonly pCostPerGpuSec: number[] = [];
  private readonly pDesired: number[] = [];
  private readonly pStarting: number[] = [];
  private readonly pReady: number[] = [];
  private readonly pAlive: number[] = [];
  private readonly pGpuSec: number[] = [];
  /** GPU-seconds of replicas started and not yet ready, and when that sum was last brought up to date (touchStarting). */
  private readonly pStartingGpuSec: number[] = [];
  private readonly pStartingLastT: number[] = [];
  private readonly pGpuSecAtWindow: number[] = [];
  private readonly pLastT: number[] = [];
  private readonly pEvicted: number[] = [];
  private readonly pNotices: number[] = [];
  /** Startup times (s) of the replicas of each pool that became ready in the current window. */
  private readonly pStartups: number[][] = [];
  /** Ready replicas taking work, per role (a request arriving when either is 0 meets a cold start). */
  private readyTaking = [0, 0];

  // ---- replicas (slots, reused) ----
  private rPool = new Int32Array(0);
  private rRole = new Int32Array(0);
  private rAlive = new Int32Array(0);
  private rReady = new Int32Array(0);
  private rLeaving = new Int32Array(0);
  private rEpoch = new Int32Array(0);
  private rBorn = new Float64Array(0);
  /** Position in the prefill idle list, -1 when not in it. */
  private rListPos = new Int32Array(0);
  /** Prefill: the request being prefilled, -1 when idle. */
  private rCurrent = new Int32Array(0);
  // decode replica state
  private dV = new Float64Array(0);
  private dT = new Float64Array(0);
  private dItlSec = new Float64Array(0);
  private dOcc = new Float64Array(0);
  private dRes = new Float64Array(0);
  private dCount = new Int32Array(0);
  private readonly dHeap: KeyedMinHeap[] = [];
  private dDirty = new Int32Array(0);
  private readonly freeSlots: number[] = [];
  /** Replica slots in use or freed (the typed arrays above hold `slots` entries; capacity doubles as needed). */
  private slots = 0;
  private prefillIdle = new Int32Array(0);
  private prefillIdleN = 0;
  /** Decode replicas taking new work, keyed by their reserved KV tokens (the least loaded on top). */
  private readonly accepting = new IndexedMinHeap(64);
  private dirty = new Int32Array(0);
  private dirtyN = 0;

  // ---- running counters ----
  private inSystem = 0;
  /** Sum over decode replicas of lifetime-average KV occupancy (isl + osl/2 per request) and of reserved KV. */
  private kvOccAll = DOUBLE_ZERO;
  private kvResAll = DOUBLE_ZERO;
  private readyDecode = 0;
  private completed = 0;
  private dropped = 0;
  private droppedTooLarge = 0;
  private requeued = 0;
  private evictions = 0;
  private notices = 0;
  private durationSum = DOUBLE_ZERO;
  private areaTotal = DOUBLE_ZERO;
  /** Requests that arrived while a role had no ready replica (they wait for a startup), in arrival order. */
  private coldIdx = new Int32Array(64);
  private coldN = 0;

  // ---- window accumulators ----
  private wStart = DOUBLE_ZERO;
  private wArrivals = 0;
  private wIslSum = DOUBLE_ZERO;
  private wOslSum = DOUBLE_ZERO;
  private readonly wTtft: Float32Array;
  private wTtftN = 0;
  private readonly wItl: Float32Array;
  private wItlN = 0;
  private wCompleted = 0;
  private wDurSum = DOUBLE_ZERO;
  private wMetTtft = 0;
  private wMetItl = 0;
  private wMetBoth = 0;
  private wDropped = 0;
  private wRequeued = 0;
  private wArea = DOUBLE_ZERO;
  private wKvOcc = DOUBLE_ZERO;
  private wKvRes = DOUBLE_ZERO;
  private wKvCap = DOUBLE_ZERO;

  constructor(trace: Trace, options: ClusterOptions) {
    this.options = options;
    const problems = checkOptions(trace, options);
    if (problems.length > 0) throw new InputError(problems, `cluster model: invalid options:\n${problems.join('\n')}`);
    const n = trace.arrival.length;
    this.n = n;
    this.arrival = trace.arrival;
    this.isl = trace.isl;
    this.osl = trace.osl;
    this.state = new Uint8Array(n);
    this.ttft = new Float32Array(n).fill(NaN);
    this.itl = new Float32Array(n).fill(NaN);
    this.firstTokenAt = new Float64Array(n);
    this.produced = new Uint32Array(n);
    this.toDecode = new Uint32Array(n);
    this.wTtft = new Float32Array(Math.max(1, n));
    this.wItl = new Float32Array(Math.max(1, n));

    const { profile } = options;
    this.maxKv = profile.maxKvTokens;
    let maxTokens = 0;
    for (let i = 0; i < n; i++) {
      const t = trace.isl[i]! + trace.osl[i]!;
      if (t > maxTokens) maxTokens = t;
    }
    this.prefillTimes = new PrefillTimes(profile, Math.min(maxTokens, this.maxKv));
    this.decodeItl = new DecodeItl(profile);
    this.transferSecPerToken = (options.kvTransferMsPerKToken ?? DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN) / 1e6;
    this.drainSeconds = options.drainSeconds ?? DEFAULT_DRAIN_SECONDS;
    this.sloTtftMs = options.slo.ttft.ms;
    this.sloItlMs = options.slo.itl.ms;
    this.sloTtftPct = options.slo.ttft.percentile;
    this.sloItlPct = options.slo.itl.percentile;
    this.rng = createRng(options.seed);
    this.noticeSeconds = options.spot?.noticeSeconds ?? 0;
    this.startupSigma = options.startup?.sigma ?? 0;
    this.startupFactor = options.startup?.factor ?? 1;
    // A stream of its own, so drawing startup times moves no eviction.
    this.startupRng = options.startup ? createRng(options.seed ^ 0x5a17ed) : undefined;

    options.pools.forEach((p, i) => {
      this.poolIndex.set(p.name, i);
      this.pName.push(p.name);
      this.pRole.push(p.role === 'prefill' ? PREFILL : DECODE);
      this.pSpot.push(p.capacity === 'spot');
      this.pGpus.push(p.gpusPerReplica);
      this.pStartup.push(p.startupSeconds);
      this.pCostPerGpuSec.push(p.costPerGpuHour / 3600);
      this.pDesired.push(0);
      this.pStarting.push(0);
      this.pReady.push(0);
      this.pAlive.push(0);
      this.pGpuSec.push(0);
      this.pStartingGpuSec.push(0);
      this.pStartingLastT.push(0);
      this.pGpuSecAtWindow.push(0);
      this.pLastT.push(0);
      this.pEvicted.push(0);
      this.pNotices.push(0);
      this.pStartups.push([]);
    });

    const schedule = options.spot?.schedule;
    this.evictionRatePerSec = schedule === undefined ? (options.spot?.evictionRatePerHour ?? 0) / 3600 : 0;
    this.schedule = (schedule ?? []).map((s) => ({ t: s.t, pool: this.poolIndex.get(s.pool)!, count: s.count }));
    this.schedule.forEach((s, k) => this.events.push(s.t, EV_SCHEDULED_NOTICE, k, 0));

    options.pools.forEach((p, i) => {
      const count = Object.hasOwn(options.initialReplicas, p.name) ? (options.initialReplicas[p.name] as number) : 0;
      this.pDesired[i] = count;
      for (let k = 0; k < count; k++) this.createReplica(i, true);
    });
  }

  // ======================= public API =======================

  /** Simulated time reached so far (seconds). */
  get time(): number {
    return this.now;
  }

  /**
   * Set a pool's desired replica count at time t (>= the time reached; events up to t are processed first and
   * belong to the next window). See the module comment for what up and down do.
   */
  setDesired(pool: string, replicas: number, t: number, readyNow = false): void {
    this.assertRunning('setDesired');
    const p = this.poolIndex.get(pool);
    if (p === undefined) throw new RangeError(`setDesired: no pool named "${pool}" (pools: ${this.pName.join(', ')})`);
    if (!Number.isInteger(replicas) || replicas < 0) throw new RangeError(`setDesired(${pool}): replicas must be a whole number >= 0, got ${replicas}`);
    this.moveTo(t, 'setDesired');
    this.pDesired[p] = replicas;
    const current = this.pStarting[p]! + this.pReady[p]!;
    if (replicas > current) {
      for (let k = current; k < replicas; k++) this.createReplica(p, readyNow);
    } else if (replicas < current) {
      this.scaleDown(p, current - replicas);
    }
    this.flushDirty();
    if (readyNow) {
      // New replicas took work at once: hand them the queues now, not at the next event.
      this.dispatchPrefill();
      this.dispatchDecode();
      this.flushDirty();
    }
  }

  /**
   * An independent copy of the running model at its current time: the same requests in the same places, the same
   * replicas, queues and counters. What the copy does later never changes this one (the trace columns, the latency
   * tables and the random generator are shared: the first two are read-only; a copy that draws Spot evictions
   * advances the generator of both, so search copies run without evictions). Costs one copy of the per-request
   * columns (33 bytes per request) and of the replica tables.
   * Used to try several replica counts from the same state (src/sim/yardsticks/hindsight.ts).
   */
  clone(): ClusterSim {
    return this.copyInto(undefined, 0, this.n);
  }

  /**
   * clone() into `into` (a copy made earlier from a model of the same trace, or undefined for a new one), copying the
   * per-request columns of requests [from, to) only: the rest of `into`'s columns keep whatever they held. The copy
   * is exact for a caller that only lets it run while no request outside [from, to) can change: `from` at or below
   * every request still in the system, `to` past every request that arrives before the copy stops. Costs the replica
   * tables plus 33 bytes per request in the range, so trying a count over a short window is cheap in a long trace.
   * Example: 1M requests, 20,000 in the system or arriving in the next 3 minutes: 0.7 MB copied instead of 33 MB.
   */
  copyInto(into: ClusterSim | undefined, from: number, to: number): ClusterSim {
    this.assertRunning('copyInto');
    // Built by the constructor (on an empty trace, so it costs nothing) and then overwritten field by field: the copy
    // keeps the class's own object layout, and the optimised code of every method stays valid for it.
    const copy = into ?? new ClusterSim(EMPTY_TRACE, this.options);
    const fields = copy as unknown as Record<string, unknown>;
    const lo = Math.max(0, from);
    const hi = Math.min(this.n, to);
    for (const [key, value] of Object.entries(this)) {
      if (SHARED_FIELDS.has(key)) fields[key] = value;
      else if (REQUEST_COLUMNS.has(key) || WINDOW_COLUMNS.has(key)) {
        const source = value as Float64Array;
        const [a, b] = REQUEST_COLUMNS.has(key) ? [lo, hi] : [0, key === 'wTtft' ? this.wTtftN : this.wItlN];
        const target = into ? (fields[key] as Float64Array) : undefined;
        if (target && target.length === source.length) target.set(source.subarray(a, b), a);
        else fields[key] = into ? source.slice() : copyRange(source, a, b);
      } else fields[key] = deepCopy(value);
    }
    return copy;
  }

  /**
   * Whether request i has met the SLO, as far as can be told at the current time: 'open' while it still can;
   * 'met' or 'missed' once that is settled. `ttftOnly` judges the TTFT target alone.
   * A request is settled as missed before it completes when its TTFT is already over the target, or when the time
   * since its first token already exceeds its ITL target x (osl - 1) (its ITL can only grow from there).
   * Example: TTFT SLO 2000 ms, a request that arrived 2.5 s ago and is still queued for prefill: 'missed'.
   */
  requestOutcome(i: number, ttftOnly: boolean): 'open' | 'met' | 'missed' {
    const s = this.state[i]!;
    if (s === RQ_DROPPED) return 'missed';
    if (s === RQ_NOT_ARRIVED) return 'open';
    const firstToken = this.produced[i]! > 0;
    if (!firstToken) return (this.now - this.arrival[i]!) * 1000 > this.sloTtftMs ? 'missed' : 'open';
    if (this.ttft[i]! > this.sloTtftMs) return 'missed';
    if (ttftOnly) return 'met';
    if (s === RQ_DONE) return this.osl[i]! <= 1 || this.itl[i]! <= this.sloItlMs ? 'met' : 'missed';
    const spent = (this.now - this.firstTokenAt[i]!) * 1000;
    return spent > this.sloItlMs * (this.osl[i]! - 1) ? 'missed' : 'open';
  }

  /** Whether request i is still in the system (arrived, not completed, not dropped). */
  isInSystem(i: number): boolean {
    const s = this.state[i]!;
    return s !== RQ_NOT_ARRIVED && s !== RQ_DONE && s !== RQ_DROPPED;
  }

  /** Process every event up to t without closing a window (for search copies that only read request outcomes). */
  runTo(t: number): void {
    this.assertRunning('runTo');
    this.moveTo(t, 'runTo');
  }

  /** Process every event up to t and return the stats of the window since the previous call. */
  advanceTo(t: number): WindowStats {
    this.assertRunning('advanceTo');
    this.moveTo(t, 'advanceTo');
    return this.closeWindow();
  }

  /**
   * Run the drain (until the system is empty, or drainSeconds after the last arrival, whichever comes first; never
   * before the time already reached), count what is left as dropped, and return the totals. Idempotent.
   */
  finish(): ClusterTotals {
    if (this.finished) return this.finished;
    const lastArrival = this.n > 0 ? this.arrival[this.n - 1]! : 0;
    const deadline = Math.max(this.now, lastArrival + this.drainSeconds);
    this.run(deadline, true);
    if (this.inSystem > 0 || this.cursor < this.n) this.advanceClock(deadline);
    const end = this.now + 0;
    // Anything still in the system (or never arrived, which cannot happen past the last arrival) is dropped.
    let unfinished = 0;
    for (let i = 0; i < this.n; i++) {
      const s = this.state[i]!;
      if (s !== RQ_DONE && s !== RQ_DROPPED) {
        this.state[i] = RQ_DROPPED;
        this.ttft[i] = NaN;
        this.itl[i] = NaN;
        unfinished++;
      }
    }
    this.dropped += unfinished;
    this.inSystem = 0;
    this.areaTotal += this.wArea;
    this.wArea = 0;

    let total = 0;
    let spot = 0;
    let starting = 0;
    let cost = 0;
    for (let p = 0; p < this.pName.length; p++) {
      this.touchPool(p);
      this.touchStarting(p);
      starting += this.pStartingGpuSec[p]!;
      const gpuSec = this.pGpuSec[p]!;
      total += gpuSec;
      if (this.pSpot[p]) spot += gpuSec;
      cost += gpuSec * this.pCostPerGpuSec[p]!;
    }

    // Attainment over all requests and percentiles over completed ones.
    // The window buffers (n long, and no window closes after finish) hold them: no second 8 MB at 1M requests.
    const ttftDone = this.wTtft;
    const itlDone = this.wItl;
    let nt = 0;
    let ni = 0;
    let metT = 0;
    let metI = 0;
    let metB = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] !== RQ_DONE) continue;
      const tt = this.ttft[i]!;
      ttftDone[nt++] = tt;
      const okT = tt <= this.sloTtftMs;
      let okI = true;
      if (this.osl[i]! > 1) {
        const it = this.itl[i]!;
        itlDone[ni++] = it;
        okI = it <= this.sloItlMs;
      }
      if (okT) metT++;
      if (okI) metI++;
      if (okT && okI) metB++;
    }
    const coldTtft = new Float32Array(Math.max(1, this.coldN));
    let coldDone = 0;
    let coldMet = 0;
    for (let k = 0; k < this.coldN; k++) {
      const i = this.coldIdx[k]!;
      if (this.state[i] !== RQ_DONE) continue;
      coldTtft[coldDone++] = this.ttft[i]!;
      if (this.ttft[i]! <= this.sloTtftMs) coldMet++;
    }
    let coldMax = NaN;
    for (let k = 0; k < coldDone; k++) if (!(coldTtft[k]! <= coldMax)) coldMax = coldTtft[k]!;
    const n = this.n;
    this.finished = {
      coldStarts: { requests: this.coldN, completed: coldDone, metTtft: coldMet, ttftMs: percentilesOf(coldTtft, coldDone, this.sloTtftPct), maxTtftMs: coldMax },
      requests: n,
      completed: this.completed,
      dropped: this.dropped,
      droppedTooLarge: this.droppedTooLarge,
      droppedUnfinished: unfinished,
      requeued: this.requeued,
      evictions: this.evictions,
      evictionNotices: this.notices,
      ttftMsByRequest: this.ttft,
      itlMsByRequest: this.itl,
      gpuHours: { total: total / 3600, spot: spot / 3600, onDemand: (total - spot) / 3600, starting: starting / 3600 },
      cost,
      attainment: n > 0 ? { ttft: metT / n, itl: metI / n, both: metB / n } : { ttft: NaN, itl: NaN, both: NaN },
      ttftMs: percentilesOf(ttftDone, nt, this.sloTtftPct),
      itlMs: percentilesOf(itlDone, ni, this.sloItlPct),
      endSeconds: end,
      meanInSystem: end > 0 ? this.areaTotal / end : 0,
      meanRequestDurationSeconds: this.completed > 0 ? this.durationSum / this.completed : NaN,
    };
    return this.finished;
  }

  /**
   * What a poll between two windows sees, without closing the window: requests waiting for prefill, and each pool's
   * desired, ready and starting replicas. Example: a graph at zero with 3 requests arrived -> queueDepth 3, all 0.
   */
  peek(): { queueDepth: number; pools: Record<string, { desired: number; ready: number; starting: number }> } {
    const pools: Record<string, { desired: number; ready: number; starting: number }> = {};
    for (let p = 0; p < this.pName.length; p++) pools[this.pName[p]!] = { desired: this.pDesired[p]!, ready: this.pReady[p]!, starting: this.pStarting[p]! };
    return { queueDepth: this.prefillQueue.size, pools };
  }

  /** State of request i (RQ_* constants), for tests and debugging. */
  requestState(i: number): number {
    return this.state[i]!;
  }

  /** Decode replicas' reserved KV tokens and active requests right now, for tests (slot order, alive only). */
  decodeReplicaLoads(): { reservedTokens: number; active: number; pool: string }[] {
    const out: { reservedTokens: number; active: number; pool: string }[] = [];
    for (let r = 0; r < this.slots; r++) {
      if (this.rAlive[r] && this.rRole[r] === DECODE) out.push({ reservedTokens: this.dRes[r]!, active: this.dCount[r]!, pool: this.pName[this.rPool[r]!]! });
    }
    return out;
  }

  // ======================= event loop =======================

  private assertRunning(what: string): void {
    if (this.finished) throw new Error(`ClusterSim.${what}: the run is finished; create a new ClusterSim`);
  }

  private moveTo(t: number, what: string): void {
    if (!(t >= this.now - 1e-9)) throw new RangeError(`ClusterSim.${what}: time ${t} is before the time already reached (${this.now})`);
    this.run(t, false);
    this.advanceClock(t);
  }

  /**
   * Process everything due at or before `limit` in time order. On a tie: replica completions first (they free
   * capacity), then other events, then arrivals.
   */
  private run(limit: number, stopWhenEmpty: boolean): void {
    const arrival = this.arrival;
    const events = this.events;
    const due = this.due;
    const n = this.n;
    for (;;) {
      if (stopWhenEmpty && this.inSystem === 0 && this.cursor >= n) return;
      const ta = this.cursor < n ? arrival[this.cursor]! : Infinity;
      const th = events.peekTime();
      const tr = due.peekKey();
      if (tr <= th && tr <= ta) {
        if (tr > limit) return;
        this.advanceClock(tr);
        const r = due.peekSlot();
        if (this.rRole[r] === PREFILL) this.prefillDone(r);
        else this.decodeDone(r);
      } else if (th <= ta) {
        if (th > limit) return;
        events.pop();
        this.advanceClock(events.popTime);
        this.handle(events.popKind, events.popId, events.popTag);
      } else {
        if (ta > limit) return;
        this.advanceClock(ta);
        this.arrive(this.cursor++);
      }
      if (this.dirtyN > 0) this.flushDirty();
    }
  }

  /** Move the clock to t, integrating the time averages (requests in system, KV occupancy, decode capacity). */
  private advanceClock(t: number): void {
    const dt = t - this.now;
    if (dt > 0) {
      this.wArea += this.inSystem * dt;
      this.wKvOcc += this.kvOccAll * dt;
      this.wKvRes += this.kvResAll * dt;
      this.wKvCap += this.readyDecode * dt;
      this.now = t;
    }
  }

  private handle(kind: number, id: number, tag: number): void {
    switch (kind) {
      case EV_DECODE_ARRIVE:
        this.decodeArrive(id);
        return;
      case EV_READY:
        if (tag === this.rEpoch[id] && this.rAlive[id]) this.becomeReady(id);
        return;
      case EV_NOTICE:
        if (tag === this.rEpoch[id] && this.rAlive[id]) this.notice(id);
        return;
      case EV_EVICT:
        if (tag === this.rEpoch[id] && this.rAlive[id]) this.evict(id);
        return;
      case EV_SCHEDULED_NOTICE:
        this.scheduledNotice(id);
        return;
      default:
        throw new Error(`ClusterSim: unknown event kind ${kind}`);
    }
  }

  // ======================= requests =======================

  private arrive(i: number): void {
    const isl = this.isl[i]!;
    const osl = this.osl[i]!;
    this.wArrivals++;
    this.wIslSum += isl;
    this.wOslSum += osl;
    if (isl + osl > this.maxKv) {
      this.state[i] = RQ_DROPPED;
      this.dropped++;
      this.droppedTooLarge++;
      this.wDropped++;
      return;
    }
    this.inSystem++;
    this.state[i] = RQ_PREFILL_QUEUE;
    if (this.readyTaking[PREFILL] === 0 || this.readyTaking[DECODE] === 0) this.markCold(i);
    if (this.prefillIdleN > 0 && this.prefillQueue.size === 0) this.startPrefill(this.popIdlePrefill(), i);
    else {
      this.prefillQueue.pushBack(i);
      this.dispatchPrefill();
    }
  }

  private dispatchPrefill(): void {
    const q = this.prefillQueue;
    while (q.size > 0 && this.prefillIdleN > 0) this.startPrefill(this.popIdlePrefill(), q.popFront());
  }

  private startPrefill(r: number, i: number): void {
    this.rCurrent[r] = i;
    this.state[i] = RQ_PREFILL;
    const seconds = this.prefillTimes.ms(this.isl[i]! + this.produced[i]!) / 1000;
    this.due.set(r, this.now + seconds);
  }

  private prefillDone(r: number): void {
    const i = this.rCurrent[r]!;
    this.rCurrent[r] = -1;
    this.due.remove(r);
    this.state[i] = RQ_TRANSFER;
    this.events.push(this.now + (this.isl[i]! + this.produced[i]!) * this.transferSecPerToken, EV_DECODE_ARRIVE, i, 0);
    const leaving = this.rLeaving[r]!;
    if (leaving === DRAINING) this.retire(r);
    else if (leaving === STAYING) {
      const q = this.prefillQueue;
      if (q.size > 0) this.startPrefill(r, q.popFront());
      else this.pushIdlePrefill(r);
    }
    // EVICTING: stays idle until the eviction.
  }

  private decodeArrive(i: number): void {
    if (this.produced[i] === 0) {
      // First token: TTFT is fixed now, and stays even if the request is re-queued later.
      this.produced[i] = 1;
      this.firstTokenAt[i] = this.now;
      const ttft = (this.now - this.arrival[i]!) * 1000;
      this.ttft[i] = ttft;
      this.wTtft[this.wTtftN++] = ttft;
      const osl = this.osl[i]!;
      this.toDecode[i] = osl > 1 ? osl - 1 : 0;
    }
    if (this.toDecode[i] === 0) {
      this.complete(i);
      return;
    }
    this.state[i] = RQ_DECODE_QUEUE;
    this.decodeQueue.pushBack(i);
    this.dispatchDecode();
  }

  /** Admit from the head of the decode queue while it fits on the accepting replica with the least reserved KV. */
  private dispatchDecode(): void {
    const q = this.decodeQueue;
    const acc = this.accepting;
    while (q.size > 0 && acc.size > 0) {
      const i = q.peekFront();
      if (acc.peekKey() + this.isl[i]! + this.osl[i]! > this.maxKv) return;
      q.popFront();
      this.admit(i, acc.peekSlot());
    }
  }

  private admit(i: number, r: number): void {
    this.touchDecode(r);
    this.dHeap[r]!.push(this.dV[r]! + this.toDecode[i]!, i);
    const isl = this.isl[i]!;
    const osl = this.osl[i]!;
    const occ = isl + osl * 0.5;
    this.dOcc[r] = this.dOcc[r]! + occ;
    this.dRes[r] = this.dRes[r]! + isl + osl;
    this.accepting.set(r, this.dRes[r]!);
    this.dCount[r] = this.dCount[r]! + 1;
    this.kvOccAll += occ;
    this.kvResAll += isl + osl;
    this.state[i] = RQ_DECODE;
    this.markDirty(r);
  }

  /** Bring replica r's token clock to now. */
  private touchDecode(r: number): void {
    if (this.dCount[r]! > 0) this.dV[r] = this.dV[r]! + (this.now - this.dT[r]!) / this.dItlSec[r]!;
    this.dT[r] = this.now;
  }

  private decodeDone(r: number): void {
    this.touchDecode(r);
    const heap = this.dHeap[r]!;
    // The replica was due for its top entry: finish it even if rounding left V a hair short.
    this.finishDecode(heap.popId(), r);
    const v = this.dV[r]! + V_EPS;
    while (heap.size > 0 && heap.peekKey() <= v) this.finishDecode(heap.popId(), r);
    if (this.dCount[r] === 0 && this.rLeaving[r] === DRAINING) this.retire(r);
    else this.markDirty(r);
    this.dispatchDecode();
  }

  private finishDecode(i: number, r: number): void {
    const isl = this.isl[i]!;
    const osl = this.osl[i]!;
    const occ = isl + osl * 0.5;
    this.dOcc[r] = this.dOcc[r]! - occ;
    this.dRes[r] = this.dRes[r]! - isl - osl;
    if (this.accepting.has(r)) this.accepting.set(r, this.dRes[r]!);
    this.dCount[r] = this.dCount[r]! - 1;
    this.kvOccAll -= occ;
    this.kvResAll -= isl + osl;
    this.complete(i);
  }

  private complete(i: number): void {
    this.state[i] = RQ_DONE;
    this.inSystem--;
    this.completed++;
    this.wCompleted++;
    const duration = this.now - this.arrival[i]!;
    this.durationSum += duration;
    this.wDurSum += duration;
    const okT = this.ttft[i]! <= this.sloTtftMs;
    let okI = true;
    const osl = this.osl[i]!;
    if (osl > 1) {
      const itl = ((this.now - this.firstTokenAt[i]!) * 1000) / (osl - 1);
      this.itl[i] = itl;
      this.wItl[this.wItlN++] = itl;
      okI = itl <= this.sloItlMs;
    } else {
      this.itl[i] = 0;
    }
    if (okT) this.wMetTtft++;
    if (okI) this.wMetItl++;
    if (okT && okI) this.wMetBoth++;
  }

  private markDirty(r: number): void {
    if (this.dDirty[r]) return;
    this.dDirty[r] = 1;
    this.dirty[this.dirtyN++] = r;
  }

  /** Recompute the ITL and next completion of every decode replica whose batch changed at this instant. */
  private flushDirty(): void {
    for (let k = 0; k < this.dirtyN; k++) {
      const r = this.dirty[k]!;
      this.dDirty[r] = 0;
      const count = this.dCount[r]!;
      if (!this.rAlive[r] || count === 0) {
        this.due.remove(r);
        continue;
      }
      const occ = this.dOcc[r]!;
      const itlSec = this.decodeItl.ms(occ / this.maxKv, occ / count) / 1000;
      this.dItlSec[r] = itlSec;
      const heap = this.dHeap[r]!;
      const due = this.dT[r]! + (heap.peekKey() - this.dV[r]!) * itlSec;
      this.due.set(r, due > this.now ? due : this.now);
    }
    this.dirtyN = 0;
  }

  // ======================= replicas =======================

  private createReplica(p: number, readyNow: boolean): number {
    let r: number;
    if (this.freeSlots.length > 0) r = this.freeSlots.pop()!;
    else {
      if (this.slots === this.rPool.length) this.growReplicas();
      r = this.slots++;
      this.dHeap.push(new KeyedMinHeap(64));
    }
    const role = this.pRole[p]!;
    this.rPool[r] = p;
    this.rRole[r] = role;
    this.rAlive[r] = 1;
    this.rReady[r] = 0;
    this.rLeaving[r] = STAYING;
    const epoch = this.rEpoch[r]! + 1;
    this.rEpoch[r] = epoch;
    this.rBorn[r] = this.now;
    this.rListPos[r] = -1;
    this.rCurrent[r] = -1;
    this.dV[r] = 0;
    this.dT[r] = this.now;
    this.dOcc[r] = 0;
    this.dRes[r] = 0;
    this.dCount[r] = 0;
    this.dHeap[r]!.clear();

    this.touchPool(p);
    this.touchStarting(p);
    this.pAlive[p] = this.pAlive[p]! + 1;
    this.pStarting[p] = this.pStarting[p]! + 1;
    if (readyNow) this.becomeReady(r);
    else this.events.push(this.now + this.startupOf(p), EV_READY, r, epoch);
    if (this.pSpot[p] && this.evictionRatePerSec > 0) {
      this.events.push(this.now + exponential(this.rng, this.evictionRatePerSec), EV_NOTICE, r, epoch);
    }
    return r;
  }

  /** Seconds a new replica of pool p takes to become ready: lognormal with median startupSeconds x factor, or exact. */
  private startupOf(p: number): number {
    const base = this.pStartup[p]! * this.startupFactor;
    if (this.startupRng === undefined || this.startupSigma <= 0 || base <= 0) return base;
    return base * Math.exp(this.startupSigma * standardNormal(this.startupRng));
  }

  private markCold(i: number): void {
    if (this.coldN === this.coldIdx.length) {
      const grown = new Int32Array(this.coldIdx.length * 2);
      grown.set(this.coldIdx);
      this.coldIdx = grown;
    }
    this.coldIdx[this.coldN++] = i;
  }

  private becomeReady(r: number): void {
    if (this.rLeaving[r] !== STAYING) return; // under eviction notice before it ever served: never becomes useful
    const p = this.rPool[r]!;
    this.rReady[r] = 1;
    this.touchStarting(p);
    this.pStarting[p] = this.pStarting[p]! - 1;
    this.pReady[p] = this.pReady[p]! + 1;
    this.readyTaking[this.rRole[r]!]! += 1;
    const took = this.now - this.rBorn[r]!;
    if (took > 0) this.pStartups[p]!.push(took);
    if (this.rRole[r] === PREFILL) {
      const q = this.prefillQueue;
      if (q.size > 0) this.startPrefill(r, q.popFront());
      else this.pushIdlePrefill(r);
    } else {
      this.readyDecode++;
      this.touchDecode(r);
      this.addAccepting(r);
      this.dispatchDecode();
    }
  }

  /** Stop r taking new work (drain after scale-down, or eviction notice); it no longer counts towards desired. */
  private beginLeaving(r: number, how: number): void {
    const p = this.rPool[r]!;
    if (this.rLeaving[r] === STAYING) {
      if (this.rReady[r]) {
        this.pReady[p] = this.pReady[p]! - 1;
        this.readyTaking[this.rRole[r]!]! -= 1;
      } else {
        this.touchStarting(p);
        this.pStarting[p] = this.pStarting[p]! - 1;
      }
    }
    this.rLeaving[r] = how;
    this.removeFromList(r);
  }

  /** Free slot r now: it stops holding GPUs. */
  private retire(r: number): void {
    const p = this.rPool[r]!;
    this.touchPool(p);
    this.pAlive[p] = this.pAlive[p]! - 1;
    if (this.rLeaving[r] === STAYING) {
      if (this.rReady[r]) {
        this.pReady[p] = this.pReady[p]! - 1;
        this.readyTaking[this.rRole[r]!]! -= 1;
      } else {
        this.touchStarting(p);
        this.pStarting[p] = this.pStarting[p]! - 1;
      }
    }
    this.removeFromList(r);
    if (this.rRole[r] === DECODE && this.rReady[r]) this.readyDecode--;
    this.rAlive[r] = 0;
    this.rReady[r] = 0;
    this.rEpoch[r] = this.rEpoch[r]! + 1;
    this.due.remove(r);
    this.dCount[r] = 0;
    this.dHeap[r]!.clear();
    this.freeSlots.push(r);
  }

  private scaleDown(p: number, count: number): void {
    let left = count;
    // 1. Not yet ready, newest first.
    while (left > 0) {
      const r = this.findReplica(p, (r) => !this.rReady[r], (r) => this.rBorn[r]!);
      if (r < 0) break;
      this.retire(r);
      left--;
    }
    // 2. Ready and idle.
    while (left > 0) {
      const r = this.findReplica(p, (r) => this.rReady[r] === 1 && this.isIdle(r), () => 0);
      if (r < 0) break;
      this.retire(r);
      left--;
    }
    // 3. Busy: drain the least loaded.
    while (left > 0) {
      const r = this.findReplica(p, (r) => this.rReady[r] === 1, (r) => -this.load(r));
      if (r < 0) break;
      this.beginLeaving(r, DRAINING);
      left--;
    }
  }

  private isIdle(r: number): boolean {
    return this.rRole[r] === PREFILL ? this.rCurrent[r]! < 0 : this.dCount[r] === 0;
  }

  private load(r: number): number {
    return this.rRole[r] === PREFILL ? (this.rCurrent[r]! < 0 ? 0 : 1) : this.dCount[r]!;
  }

  /** The staying replica of pool p matching `ok` with the highest score (ties: the highest slot). -1 if none. */
  private findReplica(p: number, ok: (r: number) => boolean, score: (r: number) => number): number {
    let best = -1;
    let bestScore = -Infinity;
    for (let r = 0; r < this.slots; r++) {
      if (!this.rAlive[r] || this.rPool[r] !== p || this.rLeaving[r] !== STAYING || !ok(r)) continue;
      const s = score(r);
      if (s >= bestScore) {
        bestScore = s;
        best = r;
      }
    }
    return best;
  }

  private pushIdlePrefill(r: number): void {
    this.rListPos[r] = this.prefillIdleN;
    this.prefillIdle[this.prefillIdleN++] = r;
  }

  private popIdlePrefill(): number {
    const r = this.prefillIdle[--this.prefillIdleN]!;
    this.rListPos[r] = -1;
    return r;
  }

  private addAccepting(r: number): void {
    this.accepting.set(r, this.dRes[r]!);
  }

  /** Take r out of the prefill idle list (swap with the last entry) or the accepting decode replicas. */
  private removeFromList(r: number): void {
    if (this.rRole[r] === DECODE) {
      this.accepting.remove(r);
      return;
    }
    const pos = this.rListPos[r]!;
    if (pos < 0) return;
    const last = --this.prefillIdleN;
    const moved = this.prefillIdle[last]!;
    this.prefillIdle[pos] = moved;
    this.rListPos[moved] = pos;
    this.rListPos[r] = -1;
  }

  private growReplicas(): void {
    const old = this.rPool.length;
    const cap = Math.max(64, old * 2);
    const i32 = (a: Int32Array, fill = 0) => {
      const b = new Int32Array(cap).fill(fill);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.rPool = i32(this.rPool);
    this.rRole = i32(this.rRole);
    this.rAlive = i32(this.rAlive);
    this.rReady = i32(this.rReady);
    this.rLeaving = i32(this.rLeaving);
    this.rEpoch = i32(this.rEpoch);
    this.rListPos = i32(this.rListPos, -1);
    this.rCurrent = i32(this.rCurrent, -1);
    this.dCount = i32(this.dCount);
    this.dDirty = i32(this.dDirty);
    this.prefillIdle = i32(this.prefillIdle);
    this.dirty = i32(this.dirty);
    this.rBorn = f64(this.rBorn);
    this.dV = f64(this.dV);
    this.dT = f64(this.dT);
    // Never 0: touchDecode divides by it (with a zero interval) before the first flush of a new batch.
    this.dItlSec = f64(this.dItlSec).fill(1, old);
    this.dOcc = f64(this.dOcc);
    this.dRes = f64(this.dRes);
  }

  private touchPool(p: number): void {
    const dt = this.now - this.pLastT[p]!;
    if (dt > 0) {
      this.pGpuSec[p] = this.pGpuSec[p]! + this.pAlive[p]! * this.pGpus[p]! * dt;
      this.pLastT[p] = this.now;
    }
  }

  /** Bring pool p's GPU-seconds of starting replicas up to now; called before its starting count changes. */
  private touchStarting(p: number): void {
    const dt = this.now - this.pStartingLastT[p]!;
    if (dt > 0) {
      this.pStartingGpuSec[p] = this.pStartingGpuSec[p]! + this.pStarting[p]! * this.pGpus[p]! * dt;
      this.pStartingLastT[p] = this.now;
    }
  }

  // ======================= spot =======================

  private notice(r: number): void {
    const leaving = this.rLeaving[r]!;
    if (leaving === EVICTING) return;
    const p = this.rPool[r]!;
    this.pNotices[p] = this.pNotices[p]! + 1;
    this.notices++;
    this.beginLeaving(r, EVICTING);
    // A replica that counted towards desired is replaced at once (the pod is rescheduled on another node).
    if (leaving === STAYING) this.createReplica(p, false);
    this.events.push(this.now + this.noticeSeconds, EV_EVICT, r, this.rEpoch[r]!);
  }

  private scheduledNotice(k: number): void {
    const s = this.schedule[k]!;
    let left = s.count;
    // Ready replicas first (lowest slot first), then starting ones.
    for (const wantReady of [1, 0]) {
      for (let r = 0; r < this.slots && left > 0; r++) {
        if (this.rAlive[r] && this.rPool[r] === s.pool && this.rLeaving[r] === STAYING && this.rReady[r] === wantReady) {
          this.notice(r);
          left--;
        }
      }
    }
  }

  private evict(r: number): void {
    const p = this.rPool[r]!;
    this.pEvicted[p] = this.pEvicted[p]! + 1;
    this.evictions++;
    if (this.rRole[r] === PREFILL) {
      const i = this.rCurrent[r]!;
      if (i >= 0) {
        this.rCurrent[r] = -1;
        this.requeue(i);
      }
    } else {
      this.touchDecode(r);
      const heap = this.dHeap[r]!;
      const v = this.dV[r]!;
      for (let k = 0; k < heap.size; k++) {
        const i = heap.idAt(k);
        const left = this.toDecode[i]!;
        // Tokens produced on this replica: V - V_admit, where V_admit = finish - left.
        let done = Math.floor(v - (heap.keyAt(k) - left) + V_EPS);
        if (done < 0) done = 0;
        if (done > left - 1) done = left - 1;
        this.toDecode[i] = left - done;
        this.produced[i] = this.produced[i]! + done;
        this.kvOccAll -= this.isl[i]! + this.osl[i]! * 0.5;
        this.kvResAll -= this.isl[i]! + this.osl[i]!;
        this.requeue(i);
      }
      heap.clear();
      this.dOcc[r] = 0;
      this.dRes[r] = 0;
      this.dCount[r] = 0;
    }
    this.retire(r);
    this.dispatchPrefill();
  }

  private requeue(i: number): void {
    this.state[i] = RQ_PREFILL_QUEUE;
    this.prefillQueue.pushFront(i);
    this.requeued++;
    this.wRequeued++;
  }

  // ======================= windows =======================

  private closeWindow(): WindowStats {
    const end = this.now;
    const seconds = end - this.wStart;
    const pools: Record<string, PoolWindowStats> = {};
    let gpus = 0;
    let costPerHour = 0;
    let gpuSeconds = 0;
    let cost = 0;
    for (let p = 0; p < this.pName.length; p++) {
      this.touchPool(p);
      const poolGpus = this.pAlive[p]! * this.pGpus[p]!;
      const gpuSec = this.pGpuSec[p]! - this.pGpuSecAtWindow[p]!;
      this.pGpuSecAtWindow[p] = this.pGpuSec[p]!;
      const poolCost = gpuSec * this.pCostPerGpuSec[p]!;
      pools[this.pName[p]!] = {
        desired: this.pDesired[p]!,
        ready: this.pReady[p]!,
        starting: this.pStarting[p]!,
        leaving: this.pAlive[p]! - this.pReady[p]! - this.pStarting[p]!,
        evicted: this.pEvicted[p]!,
        evictionNotices: this.pNotices[p]!,
        startupSeconds: this.pStartups[p]!.splice(0),
        gpus: poolGpus,
        gpuSeconds: gpuSec,
        cost: poolCost,
      };
      gpus += poolGpus;
      costPerHour += poolGpus * this.pCostPerGpuSec[p]! * 3600;
      gpuSeconds += gpuSec;
      cost += poolCost;
      this.pEvicted[p] = 0;
      this.pNotices[p] = 0;
    }
    const done = this.wCompleted;
    const stats: WindowStats = {
      start: this.wStart + 0,
      end: end + 0,
      windowSeconds: seconds,
      arrived: this.wArrivals,
      meanIsl: this.wArrivals > 0 ? this.wIslSum / this.wArrivals : NaN,
      meanOsl: this.wArrivals > 0 ? this.wOslSum / this.wArrivals : NaN,
      ttft: latencyStats(this.wTtft, this.wTtftN, this.sloTtftPct),
      itl: latencyStats(this.wItl, this.wItlN, this.sloItlPct),
      completed: done,
      dropped: this.wDropped,
      requeued: this.wRequeued,
      meanRequestDurationSeconds: done > 0 ? this.wDurSum / done : NaN,
      queueDepth: this.prefillQueue.size,
      decodeQueueDepth: this.decodeQueue.size,
      inSystem: this.inSystem,
      meanInSystem: seconds > 0 ? this.wArea / seconds : this.inSystem,
      kvUsage: this.wKvCap > 0 ? this.wKvRes / (this.wKvCap * this.maxKv) : NaN,
      kvOccupancy: this.wKvCap > 0 ? this.wKvOcc / (this.wKvCap * this.maxKv) : NaN,
      pools,
      gpus,
      costPerHour,
      gpuSeconds,
      cost,
      attainment: done > 0 ? this.wMetBoth / done : NaN,
      attainmentTtft: done > 0 ? this.wMetTtft / done : NaN,
      attainmentItl: done > 0 ? this.wMetItl / done : NaN,
    };
    this.areaTotal += this.wArea;
    this.wStart = end;
    this.wArrivals = 0;
    this.wIslSum = 0;
    this.wOslSum = 0;
    this.wTtftN = 0;
    this.wItlN = 0;
    this.wCompleted = 0;
    this.wDurSum = 0;
    this.wMetTtft = 0;
    this.wMetItl = 0;
    this.wMetBoth = 0;
    this.wDropped = 0;
    this.wRequeued = 0;
    this.wArea = 0;
    this.wKvOcc = 0;
    this.wKvRes = 0;
    this.wKvCap = 0;
    return stats;
  }
}

/** Per-request columns, copied by copyInto over its range only; and the window buffers, over their filled part. */
const REQUEST_COLUMNS = new Set(['state', 'ttft', 'itl', 'firstTokenAt', 'produced', 'toDecode']);
const WINDOW_COLUMNS = new Set(['wTtft', 'wItl']);

/** A new array of the same type and length as `source`, holding `source`'s values over [a, b) (the rest as new). */
function copyRange(source: Float64Array, a: number, b: number): Float64Array {
  const out = new (source.constructor as new (n: number) => Float64Array)(source.length);
  out.set(source.subarray(a, b), a);
  return out;
}

/** Fields clone() shares with the copy: read-only after construction (or, for `rng`, see clone()). */
const SHARED_FIELDS = new Set([
  'options', 'arrival', 'isl', 'osl', 'prefillTimes', 'decodeItl', 'rng', 'schedule', 'poolIndex',
  'pName', 'pRole', 'pSpot', 'pGpus', 'pStartup', 'pCostPerGpuSec',
]);

const EMPTY_TRACE: Trace = {
  name: '', format: '', arrival: new Float64Array(0), isl: new Uint32Array(0), osl: new Uint32Array(0), durationSeconds: 0,
  skipped: { count: 0, examples: [] },
};

/**
 * A deep copy of a model field: typed arrays and arrays copied; helper objects (heaps, queues) made by their own
 * constructor, then their fields copied (same object layout as the original's).
 */
function deepCopy(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return (value as unknown as Float64Array).slice();
  if (Array.isArray(value)) return value.map(deepCopy);
  const Make = (value as { constructor: new () => object }).constructor;
  const copy = new Make() as Record<string, unknown>;
  for (const [key, v] of Object.entries(value)) copy[key] = deepCopy(v);
  return copy;
}

/** p50, p90, p95, p99 and the SLO's own percentile (0..100) of values[0..n), as reports carry them. */
function percentilesOf(values: Float32Array, n: number, sloPercent: number): Percentiles {
  return reportPercentiles(latencyStats(values, n, sloPercent));
}

/** Every problem with the options, one `field: message` line each. */
function checkOptions(trace: Trace, o: ClusterOptions): string[] {
  const problems: string[] = [];
  const n = trace.arrival.length;
  if (trace.isl.length !== n || trace.osl.length !== n) problems.push(`trace: isl/osl/arrival columns differ in length (${trace.isl.length}/${trace.osl.length}/${n})`);
  for (let i = 1; i < n; i++) {
    if (!(trace.arrival[i]! >= trace.arrival[i - 1]!)) {
      problems.push(`trace: arrivals must be sorted; request ${i} arrives at ${trace.arrival[i]} s after ${trace.arrival[i - 1]} s`);
      break;
    }
  }
  if (n > 0 && !(trace.arrival[0]! >= 0)) problems.push(`trace: arrivals must be >= 0 s, request 0 arrives at ${trace.arrival[0]} s`);
  if (!(o.profile.maxKvTokens > 0)) problems.push(`profile: maxKvTokens must be > 0, got ${o.profile.maxKvTokens}`);
  if (o.pools.length === 0) problems.push('pools: at least one pool is needed');
  const names = new Set<string>();
  o.pools.forEach((p, i) => {
    if (names.has(p.name)) problems.push(`pools[${i}].name: "${p.name}" is used twice`);
    names.add(p.name);
    if (!(p.gpusPerReplica > 0)) problems.push(`pools[${i}].gpusPerReplica: must be > 0, got ${p.gpusPerReplica}`);
    if (!(p.startupSeconds >= 0)) problems.push(`pools[${i}].startupSeconds: must be >= 0, got ${p.startupSeconds}`);
    if (!(p.costPerGpuHour >= 0)) problems.push(`pools[${i}].costPerGpuHour: must be >= 0, got ${p.costPerGpuHour}`);
  });
  for (const [name, count] of Object.entries(o.initialReplicas)) {
    if (!names.has(name)) problems.push(`initialReplicas.${name}: no pool named "${name}" (pools: ${[...names].join(', ')})`);
    if (!Number.isInteger(count) || count < 0) problems.push(`initialReplicas.${name}: must be a whole number >= 0, got ${count}`);
  }
  const kv = o.kvTransferMsPerKToken;
  if (kv !== undefined && !(kv >= 0)) problems.push(`kvTransferMsPerKToken: must be >= 0, got ${kv}`);
  if (o.drainSeconds !== undefined && !(o.drainSeconds >= 0)) problems.push(`drainSeconds: must be >= 0, got ${o.drainSeconds}`);
  if (o.spot) {
    if (!(o.spot.evictionRatePerHour >= 0)) problems.push(`spot.evictionRatePerHour: must be >= 0, got ${o.spot.evictionRatePerHour}`);
    if (!(o.spot.noticeSeconds >= 0)) problems.push(`spot.noticeSeconds: must be >= 0, got ${o.spot.noticeSeconds}`);
    o.spot.schedule?.forEach((s, k) => {
      const pool = o.pools.find((p) => p.name === s.pool);
      if (!pool) problems.push(`spot.schedule[${k}].pool: no pool named "${s.pool}" (pools: ${[...names].join(', ')})`);
      else if (pool.capacity !== 'spot') problems.push(`spot.schedule[${k}].pool: pool "${s.pool}" is on-demand; only Spot pools are evicted`);
      if (!(s.t >= 0)) problems.push(`spot.schedule[${k}].t: must be >= 0 s, got ${s.t}`);
      if (!Number.isInteger(s.count) || s.count < 1) problems.push(`spot.schedule[${k}].count: must be a whole number >= 1, got ${s.count}`);
    });
  }
  return problems;
}
