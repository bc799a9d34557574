import { z } from 'zod';
import type { Evidence } from '../../core/evidence.ts';
import { hhmm } from '../../core/window.ts';
import { defineTool, fmt } from '../definition.ts';
import { between, ERROR_STATUS, IN_WORKSPACE, SERVER_KIND } from '../run.ts';
import { windowFields } from '../window.ts';

interface Bucket {
  t: string;
  n: number;
  errors: number;
  p95: number;
}

/**
 * A service's requests, error ratio and p95 latency over the window, from
 * server spans, in evenly spaced buckets: the series behind "is checkout
 * slow?", "how many requests…", and the charts answers carry.
 */
export const serviceSeries = defineTool({
  name: 'service_series',
  prefix: 'ss',
  category: 'sre',
  description:
    'Requests per minute, error ratio and p95 latency of a service (or of the whole workspace) over the window, in buckets, from server spans. Use it for the shape of traffic, errors or latency over time.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional().describe('one service; all of the workspace when absent'),
      points: z.number().int().min(5).max(120).default(30),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '1h',
  async run(run, args) {
    const w = run.window;
    const step = Math.max(60, Math.ceil((w.to - w.from) / 1000 / args.points / 60) * 60);
    const { rows, queryId } = await run.query<Bucket>(
      `SELECT toString(toStartOfInterval(Timestamp, toIntervalSecond({step:UInt32}))) AS t,
              count() AS n, countIf(${ERROR_STATUS}) AS errors, quantile(0.95)(Duration / 1e6) AS p95
       FROM otel_traces
       WHERE ${IN_WORKSPACE} AND ${SERVER_KIND} AND ${between('Timestamp', 'w')} AND ({service:String} = '' OR ServiceName = {service:String})
       GROUP BY t ORDER BY t`,
      { ...run.timeParams, step, service: args.service ?? '' },
    );
    const who = args.service ?? 'the workspace';
    if (rows.length === 0) return { evidence: [], notes: [`no server spans of ${who} in the window`] };
    const at = (r: Bucket) => Date.parse(`${r.t.replace(' ', 'T')}Z`);
    const perMin = step / 60;
    const series = {
      requests: rows.map((r): [number, number] => [at(r), Number(r.n) / perMin]),
      error_ratio: rows.map((r): [number, number] => [at(r), Number(r.n) ? Number(r.errors) / Number(r.n) : 0]),
      p95: rows.map((r): [number, number] => [at(r), Number(r.p95)]),
    };
    const stats = (pts: [number, number][]) => {
      const v = pts.map((p) => p[1]);
      return {
        first: v[0]!,
        last: v[v.length - 1]!,
        min: Math.min(...v),
        max: Math.max(...v),
        mean: v.reduce((a, b) => a + b, 0) / v.length,
      };
    };
    const item = (kind: keyof typeof series, label: string, unit: string, show: (v: number) => string): Evidence => {
      const s = stats(series[kind]);
      const peak = series[kind].find((p) => p[1] === s.max)!;
      return run.evidence({
        kind: 'service_series',
        ...(args.service ? { service: args.service } : {}),
        summary: `${who} ${label}: ${show(s.first)} → ${show(s.last)} (mean ${show(s.mean)}, peak ${show(s.max)} at ${hhmm(peak[0])} UTC; ${rows.length} points of ${perMin} min)`,
        numbers: { ...s, points: rows.length, step_seconds: step },
        attributes: { measure: kind, unit },
        query_id: queryId,
        series: { unit, points: series[kind] },
      });
    };
    return {
      evidence: [
        item('requests', 'requests per minute', 'req/min', fmt.num),
        item('error_ratio', 'error ratio', '', fmt.pct),
        item('p95', 'p95 latency', 'ms', fmt.ms),
      ],
    };
  },
});
