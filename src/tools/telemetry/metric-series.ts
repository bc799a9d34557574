import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import { bucketedSignalsSql } from './metric-deviation.ts';
import { hhmm } from '../../core/window.ts';

interface Point {
  t: string;
  v: number;
  unit: string;
}

export const metricSeries = defineTool({
  name: 'metric_series',
  prefix: 'ms',
  category: 'sre',
  description:
    'A downsampled series of one metric signal of one service (gauges as averages, counters as rates per second, histograms as mean, rate or error ratio), with its first, last, minimum and maximum. Use it to show how a signal moved over time.',
  args: z
    .object({
      service: z.string().min(1).max(200),
      metric: z
        .string()
        .min(1)
        .max(240)
        .describe('metric name; for counters and histograms add " (rate/s)", " (mean)" or " (error ratio)" as metric_deviation names them'),
      points: z.number().int().min(5).max(120).default(30),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '2h',
  async run(run, args) {
    const w = run.window;
    const step = Math.max(60, Math.ceil((w.to - w.from) / 1000 / args.points / 60) * 60);
    // The series shares the signal definitions of metric_deviation; only the window is read.
    const name = args.metric.replace(/ \((rate\/s|mean|error ratio)\)$/, '');
    const { rows, queryId } = await run.query<Point>(
      `SELECT toString(bucket) AS t, v, unit FROM (${bucketedSignalsSql()})
       WHERE signal = {signal:String} AND bucket >= fromUnixTimestamp64Milli({w_from:Int64})
       ORDER BY bucket`,
      // The baseline range is set empty so only the window is scanned.
      { ...run.timeParams, b_from: w.from, b_to: w.from, step, service: args.service, metric: name, signal: args.metric },
    );
    if (rows.length === 0) {
      const names = await run.query<{ metric: string }>(
        `SELECT DISTINCT MetricName AS metric FROM merge(currentDatabase(), '^otel_metrics_(gauge|sum|histogram)$')
         WHERE ${IN_WORKSPACE} AND ServiceName = {service:String}
           AND TimeUnix >= fromUnixTimestamp64Milli({w_from:Int64}) AND TimeUnix < fromUnixTimestamp64Milli({w_to:Int64})
         ORDER BY metric LIMIT 40`,
        { ...run.timeParams, service: args.service },
      );
      return {
        evidence: [],
        notes: [
          names.rows.length
            ? `no points for "${args.metric}" of ${args.service}; its metrics are: ${names.rows.map((r) => r.metric).join(', ')}`
            : `${args.service} has no metrics in the window`,
        ],
      };
    }
    const values = rows.map((r) => Number(r.v));
    const unit = args.metric.endsWith('(rate/s)') ? '/s' : args.metric.endsWith('(error ratio)') ? '' : (rows[0]?.unit ?? '');
    const first = values[0]!;
    const last = values[values.length - 1]!;
    const min = Math.min(...values);
    const max = Math.max(...values);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const u = unit ? ` ${unit}` : '';
    return {
      evidence: [
        run.evidence({
          kind: 'metric_series',
          service: args.service,
          summary: `${args.service} ${args.metric}: ${fmt.num(first)}${u} → ${fmt.num(last)}${u} (min ${fmt.num(min)}, max ${fmt.num(max)}, mean ${fmt.num(mean)}; ${values.length} points of ${step / 60} min)`,
          numbers: { first, last, min, max, mean, points: values.length, step_seconds: step },
          attributes: { signal: args.metric, unit },
          query_id: queryId,
          examples: [rows.map((r) => `${hhmm(Date.parse(`${r.t}Z`))} ${fmt.num(Number(r.v))}`).join(' | ')],
          series: { unit, points: rows.map((r) => [Date.parse(`${r.t}Z`), Number(r.v)]) },
        }),
      ],
    };
  },
});
