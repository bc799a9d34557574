/**
 * The naive baseline ranking, computed straight from the telemetry tables
 * beside the chat path's. It knows only the workspace and "the incident
 * started at T"; no service, metric or data-set name.
 */
import { readRows, type Store } from '../src/clients/clickhouse.ts';

const MIN = 60_000;

export interface RankContext {
  store: Store;
  tenantAttribute: string;
  workspace: string;
}

export interface Ranked {
  service: string;
  score: number;
  kind?: string;
  /** The signal behind the score, for reading the results. */
  signal?: string;
}

interface Point {
  t: number;
  v: number;
}

/** One series: a metric of one pod (or of the service when no pod is named). */
interface Series {
  service: string;
  pod: string;
  metric: string;
  points: Point[];
}

/** Every gauge and sum series of the workspace in [from, to), with its points in time order. */
async function metricSeries(ctx: RankContext, from: number, to: number): Promise<Series[]> {
  const rows = await readRows<{ service: string; pod: string; metric: string; ts: number[]; vs: number[] }>(ctx.store, {
    query: `SELECT service, pod, metric, arrayMap(x -> x.1, s) AS ts, arrayMap(x -> x.2, s) AS vs FROM (
              SELECT ServiceName AS service, ResourceAttributes['k8s.pod.name'] AS pod, MetricName AS metric,
                     arraySort(x -> x.1, groupArray((toUnixTimestamp64Milli(TimeUnix), Value))) AS s
              FROM (SELECT ServiceName, ResourceAttributes, MetricName, TimeUnix, Value FROM otel_metrics_gauge
                    WHERE ResourceAttributes[{a:String}] = {w:String}
                      AND TimeUnix >= fromUnixTimestamp64Milli({from:Int64}) AND TimeUnix < fromUnixTimestamp64Milli({to:Int64})
                      AND isFinite(Value)
                    UNION ALL
                    SELECT ServiceName, ResourceAttributes, MetricName, TimeUnix, Value FROM otel_metrics_sum
                    WHERE ResourceAttributes[{a:String}] = {w:String} AND NOT IsMonotonic
                      AND TimeUnix >= fromUnixTimestamp64Milli({from:Int64}) AND TimeUnix < fromUnixTimestamp64Milli({to:Int64})
                      AND isFinite(Value))
              GROUP BY service, pod, metric)`,
    params: { a: ctx.tenantAttribute, w: ctx.workspace, from, to },
  });
  return rows.map((r) => ({
    service: r.service,
    pod: r.pod,
    metric: r.metric,
    points: r.ts.map((t, i) => ({ t: Number(t), v: Number(r.vs[i]) })),
  }));
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function mad(xs: number[], centre = median(xs)): number {
  return median(xs.map((x) => Math.abs(x - centre)));
}

/** Services ordered by their best score; ties keep the first seen. */
function rollUp(scores: { service: string; score: number; signal: string; kind?: string }[]): Ranked[] {
  const best = new Map<string, Ranked>();
  for (const s of scores) {
    if (!Number.isFinite(s.score) && s.score !== Infinity) continue;
    const b = best.get(s.service);
    if (!b || s.score > b.score) best.set(s.service, { service: s.service, score: s.score, signal: s.signal, kind: s.kind });
  }
  return [...best.values()].sort((a, b) => b.score - a.score);
}

/**
 * The naive baseline: per service, the largest robust z-score of any of its
 * metrics, |median(5 min after T) − median(30 min before T)| / (1.4826·MAD
 * of the 30 min before T).
 */
export async function naiveRanking(ctx: RankContext, t: number): Promise<Ranked[]> {
  const series = await metricSeries(ctx, t - 30 * MIN, t + 5 * MIN);
  const scores = series.map((s) => {
    const base = s.points.filter((p) => p.t < t).map((p) => p.v);
    const cur = s.points.filter((p) => p.t >= t).map((p) => p.v);
    if (base.length < 3 || cur.length < 1) return { service: s.service, score: 0, signal: s.metric };
    const b = median(base);
    const scale = Math.max(1.4826 * mad(base, b), 1e-9);
    return { service: s.service, score: Math.abs(median(cur) - b) / scale, signal: s.metric };
  });
  return rollUp(scores);
}
