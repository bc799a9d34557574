import { z } from 'zod';
import type { Evidence } from '../../core/evidence.ts';
import { defineTool, fmt } from '../definition.ts';
import { between, ERROR_STATUS, IN_WORKSPACE, SERVER_KIND } from '../run.ts';
import { windowFields } from '../window.ts';
import { Severity, severityFilter } from './severity.ts';

const BY = ['latency', 'errors', 'error_ratio', 'traffic', 'log_volume', 'cpu', 'memory'] as const;
type By = (typeof BY)[number];

/** Latency and error ratios of a handful of requests are noise: a ranking by them needs this many. */
const MIN_REQUESTS = 5;

interface SpanRow {
  service: string;
  operation: string;
  n: number;
  errors: number;
  p50: number;
  p95: number;
}

const VALUE: Record<Exclude<By, 'log_volume' | 'cpu' | 'memory'>, (r: SpanRow, minutes: number) => number> = {
  latency: (r) => r.p95,
  errors: (r) => r.errors,
  error_ratio: (r) => (r.n ? r.errors / r.n : 0),
  traffic: (r, minutes) => r.n / minutes,
};

const UNIT: Record<By, string> = {
  latency: 'ms',
  errors: 'errors',
  error_ratio: '',
  traffic: 'req/min',
  log_volume: 'lines',
  cpu: 'cores',
  memory: 'MiB',
};

const show = (by: By, v: number) =>
  by === 'latency'
    ? fmt.ms(v)
    : by === 'error_ratio'
      ? fmt.pct(v)
      : by === 'memory'
        ? `${fmt.num(v)} MiB`
        : by === 'cpu'
          ? `${fmt.num(v)} cores`
          : `${fmt.num(v)} ${UNIT[by]}`;

/**
 * Rankings people ask for: the slowest operations or services (p95), the
 * most errors or highest error ratio, the busiest (requests per minute), the
 * noisiest logs (lines per service), the top CPU or memory consumers.
 */
export const ranking = defineTool({
  name: 'ranking',
  prefix: 'rk',
  category: 'sre',
  description:
    'Ranks services or operations in the window: by latency (p95 of server spans), errors, error_ratio, traffic (requests/min), log_volume (log lines), cpu or memory (usage). Use it for "slowest endpoints", "most errors", "noisiest logs", "top CPU consumers".',
  args: z
    .object({
      by: z.enum(BY).describe('what to rank by'),
      of: z.enum(['service', 'operation']).default('service').describe('rank services, or operations (spans) within them'),
      order: z.enum(['desc', 'asc']).default('desc').describe('desc: highest first (slowest, most errors); asc: lowest first'),
      top: z.number().int().min(1).max(20).default(5),
      service: z.string().min(1).max(200).optional().describe('only this service'),
      severity: Severity.optional().describe('log_volume only: minimum severity of the lines counted'),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '1h',
  async run(run, args) {
    const w = run.window;
    const minutes = Math.max(1, (w.to - w.from) / 60_000);
    const entries: { service: string; operation?: string; value: number; numbers: Record<string, number> }[] = [];
    let queryId = '';
    if (args.by === 'log_volume') {
      const severity = severityFilter(args.severity);
      const r = await run.query<{ service: string; n: number; errors: number }>(
        `SELECT ServiceName AS service, count() AS n, countIf(SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL')) AS errors
         FROM otel_logs WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')}
           AND ${severity.sql} AND ({service:String} = '' OR ServiceName = {service:String})
         GROUP BY service ORDER BY n DESC LIMIT 200`,
        { ...run.timeParams, ...severity.params, service: args.service ?? '' },
      );
      queryId = r.queryId;
      for (const x of r.rows)
        entries.push({ service: x.service, value: Number(x.n), numbers: { lines: Number(x.n), error_lines: Number(x.errors) } });
    } else if (args.by === 'cpu' || args.by === 'memory') {
      const names = args.by === 'cpu' ? run.ctx.policy.resource_metrics.cpu_usage : run.ctx.policy.resource_metrics.memory_usage;
      const r = await run.query<{ service: string; v: number; peak: number; metric: string }>(
        `SELECT service, sum(pod_mean) AS v, sum(pod_peak) AS peak, any(metric) AS metric FROM (
           SELECT ServiceName AS service, ResourceAttributes['k8s.pod.name'] AS pod, any(MetricName) AS metric,
                  avg(Value) AS pod_mean, max(Value) AS pod_peak
           FROM otel_metrics_gauge
           WHERE ${IN_WORKSPACE} AND ${between('TimeUnix', 'w')} AND MetricName IN {names:Array(String)}
             AND ({service:String} = '' OR ServiceName = {service:String})
           GROUP BY service, pod)
         GROUP BY service ORDER BY v DESC LIMIT 200`,
        { ...run.timeParams, names, service: args.service ?? '' },
      );
      queryId = r.queryId;
      const scale = args.by === 'memory' ? 1 / 1048576 : 1;
      for (const x of r.rows) {
        entries.push({
          service: x.service,
          value: Number(x.v) * scale,
          numbers: { mean: Number(x.v) * scale, peak: Number(x.peak) * scale },
        });
      }
      if (!entries.length) return { evidence: [], notes: [`no ${args.by} usage metrics (${names.join(', ')}) in the window`] };
    } else {
      const byOperation = args.of === 'operation';
      const r = await run.query<SpanRow>(
        `SELECT ServiceName AS service, ${byOperation ? 'SpanName' : "''"} AS operation, count() AS n, countIf(${ERROR_STATUS}) AS errors,
                quantile(0.5)(Duration / 1e6) AS p50, quantile(0.95)(Duration / 1e6) AS p95
         FROM otel_traces
         WHERE ${IN_WORKSPACE} AND ${SERVER_KIND} AND ${between('Timestamp', 'w')} AND ({service:String} = '' OR ServiceName = {service:String})
         GROUP BY service, operation LIMIT 5000`,
        { ...run.timeParams, service: args.service ?? '' },
      );
      queryId = r.queryId;
      const value = VALUE[args.by];
      for (const x of r.rows) {
        const row = { ...x, n: Number(x.n), errors: Number(x.errors), p50: Number(x.p50), p95: Number(x.p95) };
        if ((args.by === 'latency' || args.by === 'error_ratio') && row.n < MIN_REQUESTS) continue;
        entries.push({
          service: row.service,
          ...(byOperation ? { operation: row.operation } : {}),
          value: value(row, minutes),
          numbers: {
            requests: row.n,
            errors: row.errors,
            error_ratio: row.n ? row.errors / row.n : 0,
            p50_ms: row.p50,
            p95_ms: row.p95,
            rate_per_min: row.n / minutes,
          },
        });
      }
      if (!entries.length) return { evidence: [], notes: ['no server spans (with enough requests) in the window'] };
    }
    // Ties go to the larger share of failed requests (23 errors of 32 requests before 23 of 570).
    entries.sort(
      (a, b) =>
        (args.order === 'asc' ? a.value - b.value : b.value - a.value) || (b.numbers.error_ratio ?? 0) - (a.numbers.error_ratio ?? 0),
    );
    const shown = entries.slice(0, args.top);
    const evidence: Evidence[] = shown.map((e, i) =>
      run.evidence({
        kind: 'ranked',
        service: e.service,
        summary: `#${i + 1} by ${args.by.replace('_', ' ')}: ${e.operation ? `${e.service} ${e.operation}` : e.service}, ${show(args.by, e.value)}${
          e.numbers.requests !== undefined
            ? ` (${fmt.num(e.numbers.requests)} requests, ${fmt.pct(e.numbers.error_ratio ?? 0)} errors, p95 ${fmt.ms(e.numbers.p95_ms ?? 0)})`
            : ''
        }`,
        numbers: { rank: i + 1, value: e.value, ...e.numbers },
        attributes: { by: args.by, of: args.of, unit: UNIT[args.by], ...(e.operation ? { operation: e.operation } : {}) },
        query_id: queryId,
        score: e.value,
      }),
    );
    const notes = [
      `${entries.length} ${args.by === 'log_volume' || args.by === 'cpu' || args.by === 'memory' ? 'services' : `${args.of}s`} ranked`,
    ];
    return { evidence, notes };
  },
});
