/**
 * The embedded default for `pd-planner simulate` with no --policy: Llama-2-70B on 4 x H100 per replica
 * (the bundled Splitwise-derived profile), prefill and decode each on an on-demand and a Spot pool,
 * Azure-like prices (on-demand ND H100 v5 about 12.29 USD per GPU-hour list, Spot about 3.69).
 */
export const DEFAULT_POLICY_YAML = `apiVersion: pd-planner/v1
kind: PlannerPolicy
metadata: { name: default-what-if }
spec:
  interval: 60s
  slo: { ttft: { percentile: 95, ms: 2000 }, itl: { percentile: 95, ms: 60 } }
  policy: sla
  profile: builtin:llama2-70b-h100-tp4
  budget: { maxGpus: 128 }
  limits: { maxStepUp: 8, maxStepDown: 2 }
  stabilization: { scaleDown: 300s }
  spot: { maxShare: 0.6, onDemandFloor: 1, evictionRatePerHour: 0.05, noticeSeconds: 30s }
  pools:
    - { name: prefill-od,   role: prefill, capacity: on-demand, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, costPerGpuHour: 12.29, startupSeconds: 180s }
    - { name: prefill-spot, role: prefill, capacity: spot,      gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16, costPerGpuHour: 3.69,  startupSeconds: 180s }
    - { name: decode-od,    role: decode,  capacity: on-demand, gpusPerReplica: 4, minReplicas: 1, maxReplicas: 16, costPerGpuHour: 12.29, startupSeconds: 180s }
    - { name: decode-spot,  role: decode,  capacity: spot,      gpusPerReplica: 4, minReplicas: 0, maxReplicas: 16, costPerGpuHour: 3.69,  startupSeconds: 180s }
`;
