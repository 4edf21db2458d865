/**
 * The Dynamo frontend's metrics as the twin exposes them: `dynamo_frontend_requests_total` and the five histograms
 * the planner reads, with Dynamo's names, labels and default bucket boundaries (buckets.ts), rendered in the
 * Prometheus text format (version 0.0.4) that the real `prometheus` scrapes.
 *
 * Labels as the frontend sets them: histograms carry `model`; the request counter carries `model`, `endpoint`,
 * `request_type`, `status` and `error_type` (pd-planner's default queries `sum(...)` over all of them).
 *
 * Until `expose()` is called the page has no Dynamo series at all, so a planner tick before the twin starts finds
 * an empty result and holds (a missing count), rather than reading "zero traffic" and scaling down.
 */
import { DYNAMO_FRONTEND_BUCKETS, type FrontendHistogram } from './buckets.js';

interface Histogram {
  bounds: readonly number[];
  /** Non-cumulative counts per bound, plus one for +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

function histogram(bounds: readonly number[]): Histogram {
  return { bounds, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

/** Index of the first bound >= value (Prometheus `le` semantics); bounds.length for +Inf. */
function bucketIndex(bounds: readonly number[], value: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (value <= (bounds[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A label value in the text format: backslash, quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Floats the way Prometheus reads them back exactly (shortest round-trip), integers without a dot. */
function formatNumber(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  return String(value);
}

export class FrontendMetrics {
  private readonly model: string;
  private requests = 0;
  private readonly histograms: Record<FrontendHistogram, Histogram>;
  private exposed = false;

  constructor(model: string) {
    this.model = model;
    this.histograms = {
      request_duration_seconds: histogram(DYNAMO_FRONTEND_BUCKETS.request_duration_seconds),
      input_sequence_tokens: histogram(DYNAMO_FRONTEND_BUCKETS.input_sequence_tokens),
      output_sequence_tokens: histogram(DYNAMO_FRONTEND_BUCKETS.output_sequence_tokens),
      time_to_first_token_seconds: histogram(DYNAMO_FRONTEND_BUCKETS.time_to_first_token_seconds),
      inter_token_latency_seconds: histogram(DYNAMO_FRONTEND_BUCKETS.inter_token_latency_seconds),
    };
  }

  /** From now on the page carries the Dynamo series (at their current values, zero at first). */
  expose(): void {
    this.exposed = true;
  }

  countRequest(): void {
    this.requests += 1;
  }

  observe(name: FrontendHistogram, value: number): void {
    const h = this.histograms[name];
    h.counts[bucketIndex(h.bounds, value)]! += 1;
    h.sum += value;
    h.count += 1;
  }

  /** Totals so far, for tests: requests counted and each histogram's count and sum. */
  totals(): { requests: number } & Record<FrontendHistogram, { count: number; sum: number }> {
    const out = { requests: this.requests } as { requests: number } & Record<FrontendHistogram, { count: number; sum: number }>;
    for (const [name, h] of Object.entries(this.histograms) as [FrontendHistogram, Histogram][]) out[name] = { count: h.count, sum: h.sum };
    return out;
  }

  /** The /metrics page. */
  render(): string {
    if (!this.exposed) return '';
    const model = `model="${escapeLabel(this.model)}"`;
    const lines: string[] = [
      '# HELP dynamo_frontend_requests_total Total number of LLM requests processed',
      '# TYPE dynamo_frontend_requests_total counter',
      `dynamo_frontend_requests_total{${model},endpoint="chat_completions",request_type="stream",status="success",error_type="none"} ${this.requests}`,
    ];
    for (const [name, h] of Object.entries(this.histograms) as [FrontendHistogram, Histogram][]) {
      const metric = `dynamo_frontend_${name}`;
      lines.push(`# HELP ${metric} ${name.replace(/_/g, ' ')}`, `# TYPE ${metric} histogram`);
      let cumulative = 0;
      h.bounds.forEach((le, i) => {
        cumulative += h.counts[i] as number;
        lines.push(`${metric}_bucket{${model},le="${formatNumber(le)}"} ${cumulative}`);
      });
      lines.push(`${metric}_bucket{${model},le="+Inf"} ${h.count}`, `${metric}_sum{${model}} ${formatNumber(h.sum)}`, `${metric}_count{${model}} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
