import { defaultSpec, familyRows, REAL_ROWS, rowYardsticks } from './matrix.js';
import { simulate } from '../src/sim/run.js';
import type { PolicySpec } from '../src/config/schema.js';
const name = process.argv[2]!;
const rows = [...REAL_ROWS, ...familyRows([1,2,3,4,5,6,7,8,9,10])];
const row = rows.find((r) => r.name === name)!;
const y = await rowYardsticks(row, 1, false);
const { profile } = defaultSpec();
const spec: PolicySpec = structuredClone(y.spec);
for (const s of (process.argv[3] ?? '').split(',').filter(Boolean)) {
  const [path, v] = s.split('=') as [string, string];
  const keys = path.split('.'); let node: any = spec; for (const k of keys.slice(0, -1)) node = node[k];
  node[keys[keys.length - 1]!] = v === 'false' ? false : v === 'true' ? true : Number.isNaN(Number(v)) ? v : Number(v);
}
const details: any[] = [];
const r = (await simulate({ spec, profile, trace: y.trace, baselines: [], seed: 1, start: y.start, bound: y.bound, onDecision: (_k, _i, d) => details.push(d) })).runs[0]!;
const role = (rec: Record<string, number>, p: string) => Object.entries(rec).filter(([k]) => k.startsWith(p)).reduce((a, [, v]) => a + v, 0);
console.log('policy', (r.sloAttainment.both*100).toFixed(1), (r.sloAttainment.ttft*100).toFixed(1), (r.sloAttainment.itl*100).toFixed(1), r.gpuHours.total.toFixed(1), 'hs', y.hindsight.run.gpuHours.total.toFixed(1), (y.hindsight.run.sloAttainment.both*100).toFixed(1), 'target', y.hindsight.target);
console.log(' k   req  fc   | pD pR dD dR | hP hD | att  ttft95 itl95 | hAtt hTtft hItl | pHead dHead burst floor lead sizedFor q thr dNeed');
const every = Number(process.argv[4] ?? 1);
r.intervals.forEach((iv, k) => {
  if (k % every) return;
  const h = y.hindsight.desired[Math.min(k + 1, y.hindsight.desired.length - 1)]!;
  const hi = y.hindsight.run.intervals[k]!;
  const d = details[k];
  const pn = d?.explanation.need.prefill?.detail ?? {};
  const dn = d?.explanation.need.decode?.detail ?? {};
  console.log(String(k).padStart(3), String(iv.requests).padStart(5), String(Math.round(iv.forecastRequests ?? 0)).padStart(5), '|', role(iv.desired,'prefill'), role(iv.ready,'prefill'), role(iv.desired,'decode'), role(iv.ready,'decode'), '|', role(h,'prefill'), role(h,'decode'), '|', iv.attainment?.toFixed(2), Math.round(iv.ttftMs?.p95 ?? 0), Math.round(iv.itlMs?.p95 ?? 0), '|', hi.attainment?.toFixed(2), Math.round(hi.ttftMs?.p95 ?? 0), Math.round(hi.itlMs?.p95 ?? 0), '|', pn.headroom, dn.headroom, pn.burstRatio, Math.round(pn.burstFloorRequests ?? 0), Math.round(pn.leadRequests ?? 0), pn.sizedFor, pn.queueReplicas, pn.throughputReplicas, dn.replicas, pn.headroomRule?.slice(0,30));
});
