import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import type { Evidence } from '../../core/evidence.ts';

/**
 * Per-bucket values of every metric signal of every service, from the three
 * metric tables, whatever the metric names are:
 * - gauges and non-monotonic sums: the average across series;
 * - monotonic sums: the rate per second (deltas of cumulative series, or delta points);
 * - histograms: the mean observation and the observation rate.
 */
export function bucketedSignalsSql(): string {
  const time = `((TimeUnix >= fromUnixTimestamp64Milli({w_from:Int64}) AND TimeUnix < fromUnixTimestamp64Milli({w_to:Int64}))
              OR (TimeUnix >= fromUnixTimestamp64Milli({b_from:Int64}) AND TimeUnix < fromUnixTimestamp64Milli({b_to:Int64})))`;
  const scope = `${IN_WORKSPACE} AND ${time}
           AND ({service:String} = '' OR ServiceName = {service:String})
           AND ({metric:String} = '' OR positionCaseInsensitive(MetricName, {metric:String}) > 0)`;
  const bucket = 'toStartOfInterval(TimeUnix, toIntervalSecond({step:UInt32}))';
  const series = 'cityHash64(ResourceAttributes, Attributes)';
  const delta = (col: string) =>
    `if(AggregationTemporality = 1, toFloat64(${col}), greatest(0, toFloat64(${col}) - lagInFrame(toFloat64(${col}), 1, toFloat64(${col})) OVER (PARTITION BY ServiceName, MetricName, ${series} ORDER BY TimeUnix ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)))`;
  return `
    SELECT ServiceName AS service, MetricName AS signal, any(MetricUnit) AS unit, ${bucket} AS bucket, avg(Value) AS v
    FROM otel_metrics_gauge WHERE ${scope}
    GROUP BY service, signal, bucket
    UNION ALL
    SELECT ServiceName AS service, MetricName AS signal, any(MetricUnit) AS unit, ${bucket} AS bucket, avg(Value) AS v
    FROM otel_metrics_sum WHERE ${scope} AND NOT IsMonotonic
    GROUP BY service, signal, bucket
    UNION ALL
    SELECT service, concat(metric, ' (rate/s)') AS signal, any(unit) AS unit, bucket, sum(d) / {step:UInt32} AS v FROM (
      SELECT ServiceName AS service, MetricName AS metric, MetricUnit AS unit, ${bucket} AS bucket, ${delta('Value')} AS d
      FROM otel_metrics_sum WHERE ${scope} AND IsMonotonic)
    GROUP BY service, signal, bucket
    UNION ALL
    SELECT service, arrayJoin([concat(metric, ' (mean)'), concat(metric, ' (rate/s)'), concat(metric, ' (error ratio)')]) AS signal, any(unit) AS unit, bucket,
           multiIf(signal LIKE '% (mean)', sum(s) / greatest(sum(c), 1),
                   signal LIKE '% (rate/s)', sum(c) / {step:UInt32},
                   sum(e) / greatest(sum(c), 1)) AS v FROM (
      SELECT ServiceName AS service, MetricName AS metric, MetricUnit AS unit, ${bucket} AS bucket,
             ${delta('Count')} AS c, ${delta('Sum')} AS s, if(${FAILED_ATTRIBUTES}, c, 0) AS e
      FROM otel_metrics_histogram WHERE ${scope})
    GROUP BY service, signal, bucket`;
}

/** Data points recorded for failed operations, by the semantic-convention status attributes. */
const FAILED_ATTRIBUTES = `(Attributes['rpc.grpc.status_code'] NOT IN ('', '0')
             OR toUInt16OrZero(Attributes['http.response.status_code']) >= 500
             OR Attributes['error.type'] != '')`;

interface Row {
  service: string;
  signal: string;
  unit: string;
  cur: number;
  base: number;
  mad: number;
  cur_n: number;
  base_n: number;
  score: number;
}

/**
 * The robust score: how many baseline median absolute deviations (scaled to a
 * standard deviation) the window's median moved. The scale has floors, so a
 * flat baseline does not make every wiggle infinite: 5% of the baseline level,
 * 1% of the current level (a rise from zero scores at most 100), and one
 * percentage point for error ratios.
 */
const ROBUST_SCORE_SQL = `(cur - base) / greatest(1.4826 * mad, 0.05 * abs(base), 0.01 * abs(cur), if(signal LIKE '% (error ratio)', 0.01, 1e-9))`;

/** |score| at which a signal counts as anomalous. */
const ANOMALY_SCORE = 5;

export const metricDeviation = defineTool({
  name: 'metric_deviation',
  prefix: 'md',
  category: 'sre',
  description:
    'Ranks every metric of every service (whatever the metric names) by how far the window departs from the baseline, as a robust score: the change of the median in units of the baseline median absolute deviation. Use it to find which service and which signal changed, without knowing metric names.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional(),
      metric: z.string().min(1).max(200).optional().describe('substring of the metric name'),
      top: z.number().int().min(1).max(50).default(12),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '30m',
  async run(run, args) {
    const w = run.window;
    // Enough buckets in both ranges for a median and a MAD, never finer than a minute.
    const step = Math.max(60, Math.floor(Math.min(w.to - w.from, w.baselineTo - w.baselineFrom) / 1000 / 15 / 60) * 60);
    const { rows, queryId } = await run.query<Row>(
      `SELECT service, signal, unit, cur, base, mad, cur_n, base_n, ${ROBUST_SCORE_SQL} AS score
       FROM (
         SELECT service, signal, any(unit) AS unit,
                quantileExactIf(0.5)(v, bucket >= fromUnixTimestamp64Milli({w_from:Int64})) AS cur,
                quantileExactIf(0.5)(v, bucket < fromUnixTimestamp64Milli({w_from:Int64})) AS base,
                groupArrayIf(v, bucket < fromUnixTimestamp64Milli({w_from:Int64})) AS base_values,
                arrayReduce('quantileExact(0.5)', arrayMap(x -> abs(x - base), base_values)) AS mad,
                countIf(bucket >= fromUnixTimestamp64Milli({w_from:Int64})) AS cur_n,
                countIf(bucket < fromUnixTimestamp64Milli({w_from:Int64})) AS base_n
         FROM (${bucketedSignalsSql()})
         GROUP BY service, signal
         HAVING cur_n >= 3 AND base_n >= 5
       )
       ORDER BY abs(score) DESC
       LIMIT {limit:UInt32}`,
      { ...run.timeParams, step, service: args.service ?? '', metric: args.metric ?? '', limit: args.top * 4 },
    );
    if (rows.length === 0)
      return { evidence: [], usesBaseline: true, notes: ['no metrics with enough points in both the window and the baseline'] };
    const signals = rows.map((r) => ({
      ...r,
      unit: r.signal.endsWith('(rate/s)') ? '/s' : r.signal.endsWith('(error ratio)') ? '' : r.unit,
      cur: Number(r.cur),
      base: Number(r.base),
      mad: Number(r.mad),
      score: Number(r.score),
    }));
    // Services ranked by their strongest signal.
    const byService = new Map<string, typeof signals>();
    for (const s of signals) (byService.get(s.service) ?? byService.set(s.service, []).get(s.service)!).push(s);
    const ranking = [...byService.entries()].map(([service, ss]) => ({
      service,
      top: ss[0]!,
      anomalous: ss.filter((s) => Math.abs(s.score) >= ANOMALY_SCORE),
    }));
    ranking.sort((a, b) => Math.abs(b.top.score) - Math.abs(a.top.score));
    const evidence: Evidence[] = [];
    for (const r of signals.slice(0, args.top)) {
      const dir = r.cur >= r.base ? 'up' : 'down';
      const change = r.base !== 0 ? ` (${fmt.ratio(Math.abs(r.cur / r.base))})` : '';
      evidence.push(
        run.evidence({
          kind: 'metric_deviation',
          service: r.service,
          summary: `${r.service} ${r.signal} ${dir}: median ${fmt.num(r.cur)}${r.unit ? ` ${r.unit}` : ''} vs baseline ${fmt.num(r.base)}${change}, robust score ${r.score.toFixed(1)}${Math.abs(r.score) >= ANOMALY_SCORE ? ' [anomalous]' : ''}`,
          numbers: {
            median: r.cur,
            baseline_median: r.base,
            baseline_mad: r.mad,
            score: round(r.score),
            window_points: Number(r.cur_n),
            baseline_points: Number(r.base_n),
          },
          attributes: {
            signal: r.signal,
            unit: r.unit,
            direction: dir,
            service_rank: String(ranking.findIndex((x) => x.service === r.service) + 1),
          },
          baseline: run.baselineRange,
          query_id: queryId,
          score: round(Math.abs(r.score)),
        }),
      );
    }
    const anomalous = ranking.filter((r) => r.anomalous.length > 0);
    const notes = [
      anomalous.length
        ? `services by strongest deviation: ${anomalous
            .slice(0, 5)
            .map((r) => `${r.service} (${Math.abs(r.top.score).toFixed(0)})`)
            .join(', ')}`
        : `no metric departs from its baseline by ${ANOMALY_SCORE} or more robust deviations`,
    ];
    return { evidence, usesBaseline: true, notes };
  },
});

const round = (v: number) => Math.round(v * 1000) / 1000;
