/**
 * The one-screen summary `pd-planner validate` prints for a valid policy: what the planner will do with it,
 * in the units the user wrote (durations as "5m", shares as percentages), defaults included.
 */
import { formatDuration } from './duration.js';
import type { LoadedPolicy } from './load.js';
import type { PolicySpec, PoolSpec } from './schema.js';
import { own } from './records.js';

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}

function money(x: number): string {
  return `$${x.toFixed(2)}`;
}

function policyLine(spec: PolicySpec): string {
  switch (spec.policy) {
    case 'sla': {
      const on = Object.entries(spec.sla.improvements).filter(([, v]) => v).map(([k]) => k);
      const off = Object.entries(spec.sla.improvements).filter(([, v]) => !v).map(([k]) => k);
      return (
        `sla: profile-based sizing, correction ${spec.sla.correction ? 'on' : 'off'}, target utilization ${percent(spec.sla.targetUtilization)}; ` +
        `improvements on: ${on.join(', ') || 'none'}${off.length ? `; off: ${off.join(', ')}` : ''}`
      );
    }
    case 'dynamo':
      return `dynamo: Dynamo's SLA formulas exactly (means, one interval ahead, min(1, pCf)), correction ${spec.sla.correction ? 'on' : 'off'}`;
    case 'load': {
      const { prefillQueuePerReplica: q, decodeKvUsage: kv, step } = spec.load;
      return `load: prefill +${step} above ${q.up} queued per replica, -${step} below ${q.down}; decode +${step} above ${percent(kv.up)} KV use, -${step} below ${percent(kv.down)}`;
    }
    case 'hpa':
      return `hpa: ceil(current x observed / target) on requests/s per replica (prefill ${spec.hpa.prefillRequestsPerReplica}, decode ${spec.hpa.decodeRequestsPerReplica}), tolerance ${percent(spec.hpa.tolerance)}`;
    case 'static': {
      const fixed = spec.pools.map((p) => `${p.name}=${own(spec.static.replicas, p.name) ?? `${p.minReplicas} (min)`}`);
      return `static: ${fixed.join(', ')}`;
    }
  }
}

function forecasterLine(spec: PolicySpec): string {
  const f = spec.forecaster;
  switch (f.kind) {
    case 'moving-average':
      return `moving-average over ${f.window} intervals`;
    case 'holt':
      return `holt (alpha ${f.alpha}, beta ${f.beta})`;
    case 'trend':
      return `trend (alpha ${f.alpha}, beta ${f.beta}, upper bound ${f.confidence} sd)`;
    case 'seasonal':
      return `seasonal (season ${formatDuration(f.season)})`;
    case 'kalman':
      return `kalman (process noise ${f.processNoise}, measurement noise ${f.measurementNoise})`;
    default:
      return `${f.kind} (last value)`;
  }
}

function targetText(pool: PoolSpec): string {
  const t = pool.target;
  if (!t) return '(none: simulate/decide only)';
  const ns = t.namespace ? `${t.namespace}/` : '';
  if (t.kind === 'DynamoGraphDeployment') return `DGD ${ns}${t.name}/${t.service ?? `(${pool.role} by type)`}`;
  return `DCD ${ns}${t.name}`;
}

/** Left-aligned text table. */
function table(rows: string[][], indent: string): string[] {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => indent + r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  ').trimEnd());
}

export function summarizePolicy(loaded: LoadedPolicy): string {
  const { spec, file } = loaded;
  const lines: string[] = [];
  const ns = file.metadata.namespace ? ` (namespace ${file.metadata.namespace})` : '';
  lines.push(`${loaded.path}: valid PlannerPolicy "${file.metadata.name}"${ns}`);
  const field = (name: string, value: string) => lines.push(`  ${name.padEnd(13)}${value}`);

  field('policy', policyLine(spec));
  field('interval', formatDuration(spec.interval));
  field(
    'SLO',
    `TTFT p${spec.slo.ttft.percentile} <= ${spec.slo.ttft.ms} ms, ITL p${spec.slo.itl.percentile} <= ${spec.slo.itl.ms} ms`,
  );
  field('forecaster', forecasterLine(spec));
  const p = loaded.profile;
  field(
    'profile',
    p
      ? `${spec.profile} (prefill ISL ${p.prefill.isl[0]}-${p.prefill.isl[p.prefill.isl.length - 1]}, decode context ${p.decode.rows[0]?.ctx}-${p.decode.rows[p.decode.rows.length - 1]?.ctx}, max KV ${p.maxKvTokens} tokens)`
      : `${spec.profile} (not loaded)`,
  );

  lines.push('  pools');
  const rows = [['name', 'role', 'capacity', 'replicas', 'GPUs/rep', 'GPUs', '$/GPU-h', 'startup', 'target']];
  for (const pool of spec.pools) {
    rows.push([
      pool.name,
      pool.role,
      pool.capacity,
      `${pool.minReplicas}-${pool.maxReplicas}`,
      String(pool.gpusPerReplica),
      `${pool.minReplicas * pool.gpusPerReplica}-${pool.maxReplicas * pool.gpusPerReplica}`,
      pool.costPerGpuHour.toFixed(2),
      formatDuration(pool.startupSeconds),
      targetText(pool),
    ]);
  }
  lines.push(...table(rows, '    '));

  const minGpus = spec.pools.reduce((s, q) => s + q.minReplicas * q.gpusPerReplica, 0);
  const maxGpus = spec.pools.reduce((s, q) => s + q.maxReplicas * q.gpusPerReplica, 0);
  const minCost = spec.pools.reduce((s, q) => s + q.minReplicas * q.gpusPerReplica * q.costPerGpuHour, 0);
  const maxCost = spec.pools.reduce((s, q) => s + q.maxReplicas * q.gpusPerReplica * q.costPerGpuHour, 0);
  const caps = [
    spec.budget.maxGpus !== undefined ? `${spec.budget.maxGpus} GPUs` : 'no GPU cap',
    spec.budget.maxCostPerHour !== undefined ? `${money(spec.budget.maxCostPerHour)}/h (reported, not enforced)` : 'no cost ceiling',
  ];
  field('budget', `${caps.join(', ')}; pools span ${minGpus}-${maxGpus} GPUs, ${money(minCost)}-${money(maxCost)}/h`);
  field(
    'limits',
    `step up ${spec.limits.maxStepUp}, down ${spec.limits.maxStepDown} per tick; stabilization down ${formatDuration(spec.stabilization.scaleDown)}, up ${formatDuration(spec.stabilization.scaleUp)}`,
  );
  if (spec.pools.some((q) => q.capacity === 'spot')) {
    const s = spec.spot;
    field(
      'spot',
      `max share ${percent(s.maxShare)}, on-demand floor ${s.onDemandFloor}/role, ${s.evictionRatePerHour} evictions/h per replica, notice ${formatDuration(s.noticeSeconds)}, pending grace ${formatDuration(s.pendingGrace)}, cool-down ${formatDuration(s.evictionCooldown)}, placement ${s.placement}`,
    );
  } else {
    field('spot', 'no Spot pools');
  }
  const zero = (['prefill', 'decode'] as const).filter((role) => spec.pools.some((q) => q.role === role) && spec.pools.filter((q) => q.role === role).every((q) => q.minReplicas === 0));
  const poll = spec.scaleToZero.pollInterval;
  field(
    'to zero',
    zero.length === 0
      ? 'no (a pool of each role has minReplicas >= 1)'
      : `${zero.join(' and ')} after ${formatDuration(spec.scaleToZero.idleSeconds)} without requests; at zero, demand is looked for every ${formatDuration(poll !== undefined && poll < spec.interval ? poll : spec.interval)}`,
  );
  if (spec.schedules.length === 0) field('schedules', 'none');
  spec.schedules.forEach((s, i) => {
    const mins = Object.entries(s.minReplicas).map(([name, n]) => `${name} >= ${n}`).join(', ');
    field(i === 0 ? 'schedules' : '', `"${s.cron}" ${s.timezone} for ${formatDuration(s.duration)}: ${mins || '(nothing)'}`);
  });
  const sources: string[] = [];
  const { prometheus, queue, virtual } = spec.sources;
  if (prometheus) {
    const labels = Object.entries(prometheus.labels).map(([k, v]) => `${k}=${v}`).join(',');
    const overrides = Object.keys(prometheus.queries).length;
    sources.push(`prometheus ${prometheus.url}${labels ? ` {${labels}}` : ''}${overrides ? ` (${overrides} query overrides)` : ''}`);
  }
  if (queue) sources.push(`queue ${queue.nats} stream ${queue.stream}${queue.consumer ? ` consumer ${queue.consumer}` : ''}`);
  if (virtual) sources.push(`virtual ${virtual.nats} bucket ${virtual.bucket}`);
  field('sources', sources.join('; ') || 'none (fine for simulate and decide; run needs prometheus)');
  if (loaded.warnings.length === 0) field('warnings', 'none');
  else {
    lines.push(`  warnings (${loaded.warnings.length})`);
    for (const w of loaded.warnings) lines.push(`    ${w}`);
  }
  return lines.join('\n');
}
