import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { between, ERROR_STATUS, IN_WORKSPACE, SERVER_KIND } from '../run.ts';
import { windowFields } from '../window.ts';
import type { Evidence } from '../../core/evidence.ts';

interface Row {
  service: string;
  operation: string;
  n: number;
  errors: number;
  q: number[];
  bn: number;
  berrors: number;
  bq: number[];
}

interface Red {
  service: string;
  operation: string;
  n: number;
  rate: number;
  errorRatio: number;
  p50: number;
  p95: number;
  p99: number;
  bn: number;
  bRate: number;
  bErrorRatio: number;
  bP95: number;
  /** What changed and how much it stands out (0 when nothing does). */
  signals: string[];
  score: number;
}

/** When a change in errors, latency or traffic counts as standing out. */
export function classify(r: Omit<Red, 'signals' | 'score'>): { signals: string[]; score: number } {
  const signals: string[] = [];
  let score = 0;
  // A rise of two points counts; so does a smaller one that is far outside chance, which is how a busy
  // service looks when one of its many operations fails (the frontend's checkout page among its pages).
  const rise = r.errorRatio - r.bErrorRatio;
  const errorsUp =
    r.n * r.errorRatio >= 5 &&
    r.errorRatio >= 2 * r.bErrorRatio &&
    (rise >= 0.02 || (rise >= 0.005 && riseZ(r.n, r.errorRatio, r.bn, r.bErrorRatio) >= 4));
  if (errorsUp) {
    signals.push('errors_up');
    score += 10 * (r.errorRatio - r.bErrorRatio) * 10;
  } else if (r.errorRatio >= 0.05 && r.n * r.errorRatio >= 10) {
    // Failing as much as in the baseline: an ongoing problem is still a problem.
    signals.push('errors_high');
    score += 10 * r.errorRatio * 5;
  }
  const latencyRatio = r.bP95 > 0 ? r.p95 / r.bP95 : 1;
  if (r.n >= 20 && r.bn >= 20 && latencyRatio >= 1.5 && r.p95 - r.bP95 >= 5) {
    signals.push('latency_up');
    score += Math.log2(latencyRatio) * 3;
  }
  const trafficRatio = r.bRate > 0 ? r.rate / r.bRate : r.rate > 0 ? Infinity : 1;
  if (r.n + r.bn >= 100 && (trafficRatio >= 2.5 || trafficRatio <= 0.4)) {
    signals.push(trafficRatio > 1 ? 'traffic_up' : 'traffic_down');
    score += 1 + Math.abs(Math.log2(Math.min(trafficRatio, 64)));
  }
  if (r.bn === 0 && r.n > 0) signals.push('new_operation');
  return { signals, score };
}

export const serviceOverview = defineTool({
  name: 'service_overview',
  prefix: 'so',
  category: 'sre',
  description:
    'Request rate, error ratio and latency percentiles (p50/p95/p99) per service and operation from server spans, for the window and a baseline, with the change between them. Use it first to see which services are failing or slow.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional().describe('only this service'),
      top: z.number().int().min(1).max(50).default(10).describe('services to report'),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '30m',
  async run(run, args) {
    const { rows, queryId } = await run.query<Row>(
      `SELECT ServiceName AS service, SpanName AS operation,
              countIf(in_w) AS n, countIf(in_w AND is_err) AS errors,
              quantilesIf(0.5, 0.95, 0.99)(Duration / 1e6, in_w) AS q,
              countIf(in_b) AS bn, countIf(in_b AND is_err) AS berrors,
              quantilesIf(0.5, 0.95, 0.99)(Duration / 1e6, in_b) AS bq
       FROM (
         SELECT ServiceName, SpanName, Duration, ${ERROR_STATUS} AS is_err,
                ${between('Timestamp', 'w')} AS in_w, ${between('Timestamp', 'b')} AS in_b
         FROM otel_traces
         WHERE ${IN_WORKSPACE} AND ${SERVER_KIND}
           AND Timestamp >= fromUnixTimestamp64Milli(least({w_from:Int64}, {b_from:Int64}))
           AND Timestamp < fromUnixTimestamp64Milli(greatest({w_to:Int64}, {b_to:Int64}))
           AND ({service:String} = '' OR ServiceName = {service:String})
       )
       WHERE in_w OR in_b
       GROUP BY service, operation WITH ROLLUP
       HAVING service != ''`,
      { ...run.timeParams, service: args.service ?? '' },
    );
    const w = run.window;
    const wSec = (w.to - w.from) / 1000;
    const bSec = (w.baselineTo - w.baselineFrom) / 1000;
    const reds: Red[] = rows.map((r) => {
      const base = {
        service: r.service,
        operation: r.operation,
        n: Number(r.n),
        rate: Number(r.n) / wSec,
        errorRatio: Number(r.n) ? Number(r.errors) / Number(r.n) : 0,
        p50: Number(r.q[0] ?? 0),
        p95: Number(r.q[1] ?? 0),
        p99: Number(r.q[2] ?? 0),
        bn: Number(r.bn),
        bRate: Number(r.bn) / bSec,
        bErrorRatio: Number(r.bn) ? Number(r.berrors) / Number(r.bn) : 0,
        bP95: Number(r.bq[1] ?? 0),
      };
      return { ...base, ...classify(base) };
    });
    const services = reds.filter((r) => r.operation === '' && r.n + r.bn > 0);
    const operations = reds.filter((r) => r.operation !== '' && r.n > 0);
    if (services.length === 0) {
      return { evidence: [], usesBaseline: true, notes: ['no server spans in the window or the baseline'] };
    }
    const byInterest = (a: Red, b: Red) => b.score - a.score || b.errorRatio - a.errorRatio || b.n - a.n;
    services.sort(byInterest);
    const evidence: Evidence[] = [];
    const describe = (r: Red, label: string) => {
      const parts = [
        `${label}: ${fmt.pct(r.errorRatio)} errors (baseline ${fmt.pct(r.bErrorRatio)})`,
        `p95 ${fmt.ms(r.p95)} (baseline ${fmt.ms(r.bP95)}${r.bP95 > 0 && r.p95 / r.bP95 >= 1.2 ? `, ${fmt.ratio(r.p95 / r.bP95)}` : ''})`,
        `${fmt.num(r.rate * 60)} req/min (baseline ${fmt.num(r.bRate * 60)})`,
        `${Math.round(r.n * r.errorRatio)} of ${r.n} failed`,
      ];
      return parts.join(', ') + (r.signals.length ? ` [${r.signals.join(', ')}]` : '');
    };
    const numbers = (r: Red) => ({
      requests: r.n,
      errors: Math.round(r.n * r.errorRatio),
      error_ratio: round(r.errorRatio),
      rate_per_min: round(r.rate * 60),
      p50_ms: round(r.p50),
      p95_ms: round(r.p95),
      p99_ms: round(r.p99),
      baseline_requests: r.bn,
      baseline_error_ratio: round(r.bErrorRatio),
      baseline_rate_per_min: round(r.bRate * 60),
      baseline_p95_ms: round(r.bP95),
    });
    for (const r of services.slice(0, args.top)) {
      evidence.push(
        run.evidence({
          kind: r.signals.length ? 'service_change' : 'service_red',
          service: r.service,
          summary: describe(r, r.service),
          numbers: numbers(r),
          attributes: { signals: r.signals.join(',') },
          baseline: run.baselineRange,
          query_id: queryId,
          score: round(r.score),
        }),
      );
    }
    // The operations behind a change, most striking first.
    for (const r of operations
      .filter((o) => o.signals.length)
      .sort(byInterest)
      .slice(0, 5)) {
      evidence.push(
        run.evidence({
          kind: 'operation_change',
          service: r.service,
          summary: describe(r, `${r.service} ${r.operation}`),
          numbers: numbers(r),
          attributes: { operation: r.operation, signals: r.signals.join(',') },
          baseline: run.baselineRange,
          query_id: queryId,
          score: round(r.score),
        }),
      );
    }
    const changed = services.filter((s) => s.signals.length > 0);
    const notes = [
      changed.length === 0
        ? `no service changed in errors, latency or traffic against the baseline (${services.length} services)`
        : `${changed.length} of ${services.length} services changed`,
    ];
    if (services.length > args.top) notes.push(`${services.length - args.top} quieter services not listed`);
    return { evidence, usesBaseline: true, notes };
  },
});

/** Two-proportion z statistic of the window's error ratio against the baseline's (0 without a baseline). */
export function riseZ(n: number, ratio: number, bn: number, bRatio: number): number {
  if (n === 0 || bn === 0) return 0;
  const pooled = (n * ratio + bn * bRatio) / (n + bn);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / bn));
  return se > 0 ? (ratio - bRatio) / se : 0;
}

const round = (v: number) => Math.round(v * 10000) / 10000;
