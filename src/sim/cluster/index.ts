export { ClusterSim, DEFAULT_KV_TRANSFER_MS_PER_K_TOKEN, DEFAULT_DRAIN_SECONDS } from './cluster.js';
export {
  RQ_NOT_ARRIVED,
  RQ_PREFILL_QUEUE,
  RQ_PREFILL,
  RQ_TRANSFER,
  RQ_DECODE_QUEUE,
  RQ_DECODE,
  RQ_DONE,
  RQ_DROPPED,
} from './cluster.js';
export { windowObservation } from './observation.js';
export { PrefillTimes, DecodeItl } from './latency.js';
export { quantileSorted, quantilesInPlace } from './percentiles.js';
export type { ClusterOptions, ClusterTotals, LatencyStats, PoolWindowStats, SpotOptions, WindowStats } from './types.js';
