/**
 * Rankings computed straight from the telemetry tables, beside the chat
 * path's: a naive baseline and a prototype. Both know only the workspace and
 * "the incident started at T"; no service, metric or data-set name.
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

export interface Point {
  t: number;
  v: number;
}

/** One series: a metric of one pod (or of the service when no pod is named). */
export interface Series {
  service: string;
  pod: string;
  metric: string;
  points: Point[];
}

/** Every gauge and sum series of the workspace in [from, to), with its points in time order. */
export async function metricSeries(ctx: RankContext, from: number, to: number): Promise<Series[]> {
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

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mad(xs: number[], centre = median(xs)): number {
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

// ---------------------------------------------------------------------------
// The prototype. Every modality becomes per-minute signals of a service (a
// pod's metric, a service's span self time, the network gap of calls into it,
// its server span and error counts, its log and warning counts); each signal
// is scored the same way; a service takes its strongest signal, discounted
// when many services move together on the same signal.

/** A signal of one service, one point per minute (or per scrape). */
export interface Signal {
  service: string;
  /** Where it comes from: a pod, or the traces or logs of the service. */
  source: string;
  modality: 'metrics' | 'traces' | 'logs';
  name: string;
  points: Point[];
  /** Counts follow Poisson noise; levels follow their own. */
  count?: boolean;
  /** Individual observations (one per span), not one value per minute: no trend is fitted. */
  samples?: boolean;
}

export interface SignalScore {
  signal: Signal;
  /** Robust onset score: the change at T over the baseline's noise, after its trend. */
  z: number;
  level: number;
  onset: number;
}

/** Baseline and window lengths: only "the incident started at T" is known, so both are fixed. */
export const PROTOTYPE = { baselineMs: 60 * MIN, windowMs: 5 * MIN, minBaseline: 4, minWindow: 2 };

/** Theil–Sen slope (median of pairwise slopes): a trend that a few outliers do not bend. */
export function theilSen(points: Point[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const dt = points[j]!.t - points[i]!.t;
      if (dt > 0) slopes.push((points[j]!.v - points[i]!.v) / dt);
    }
  return slopes.length ? median(slopes) : 0;
}

/**
 * The onset score of one signal at T. The baseline ends at T; a trend over at
 * least half an hour of it is taken out (a slow leak or a daily cycle is not an
 * incident); the window's median residual is divided by the spread of the
 * baseline residuals on the other side of the change (earlier incidents in the
 * baseline, in the same direction, then do not widen the yardstick), with a
 * floor of 5% of the level, or Poisson noise for counts.
 */
export function onsetScore(signal: Signal, t: number, p = PROTOTYPE): SignalScore | undefined {
  const base = signal.points.filter((x) => x.t < t && x.t >= t - p.baselineMs);
  const cur = signal.points.filter((x) => x.t >= t && x.t < t + p.windowMs);
  if (base.length < p.minBaseline || cur.length < p.minWindow) return undefined;
  const span = base[base.length - 1]!.t - base[0]!.t;
  const slope = !signal.samples && base.length >= 10 && span >= 30 * MIN ? theilSen(base) : 0;
  const at = (x: Point) => x.v - slope * (x.t - t);
  const baseAtT = base.map(at);
  const level = median(baseAtT);
  const residuals = baseAtT.map((v) => v - level);
  const onset = median(cur.map(at)) - level;
  const spread = 1.4826 * median(residuals.map(Math.abs));
  // Beyond a twentyfold change against the noise, bigger is not surer: the scale is at least 5% of the
  // new level, so an artefact that jumps a thousandfold (an empty histogram's top bucket) ties with a
  // real twentyfold change instead of drowning every other signal.
  const floor = signal.count ? Math.sqrt(Math.max(level, 0) + 1) : 0.05 * Math.max(Math.abs(level), Math.abs(level + onset));
  const scale = Math.max(Number.isFinite(spread) ? spread : 0, floor, 1e-9);
  const z = onset / scale;
  return { signal, z, level, onset };
}

/** Minutes since the epoch, as the start of a bucket. */
const minute = (ms: number) => Math.floor(ms / MIN) * MIN;

interface SpanRow {
  trace: string;
  span: string;
  parent: string;
  service: string;
  kind: string;
  t: number;
  duration: number;
  error: number;
}

/**
 * Trace signals of each service, one observation per span: self time (time
 * not spent in children) and the gap of calls into it (the caller's span minus
 * the callee's: time on the wire or in queues); per minute: server spans, and
 * errors when spans carry a status. Sampled traces give a handful of spans of
 * a service per minute, too few for a per-minute percentile, so the spans of
 * the window are compared with those of the baseline as they are. A minute
 * counts only when the workspace sent spans in it, so a service that goes
 * quiet shows as zero, not as missing.
 */
export async function traceSignals(ctx: RankContext, from: number, to: number): Promise<Signal[]> {
  const rows = await readRows<SpanRow>(ctx.store, {
    query: `SELECT TraceId AS trace, SpanId AS span, ParentSpanId AS parent, ServiceName AS service, SpanKind AS kind,
                   toUnixTimestamp64Milli(Timestamp) AS t, Duration / 1e6 AS duration,
                   StatusCode IN ('Error', 'STATUS_CODE_ERROR') AS error
            FROM otel_traces
            WHERE ResourceAttributes[{a:String}] = {w:String}
              AND Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})`,
    params: { a: ctx.tenantAttribute, w: ctx.workspace, from, to },
  });
  if (rows.length === 0) return [];
  const byId = new Map<string, SpanRow>();
  const childTime = new Map<string, number>();
  for (const r of rows) byId.set(`${r.trace}|${r.span}`, r);
  for (const r of rows) {
    if (!r.parent) continue;
    const k = `${r.trace}|${r.parent}`;
    childTime.set(k, (childTime.get(k) ?? 0) + Number(r.duration));
  }
  const perService = new Map<string, { self: Point[]; gap: Point[]; server: Map<number, number>; errors: Map<number, number> }>();
  const of = (service: string) => {
    let c = perService.get(service);
    if (!c) {
      c = { self: [], gap: [], server: new Map(), errors: new Map() };
      perService.set(service, c);
    }
    return c;
  };
  const minutes = new Set<number>();
  let anyError = false;
  for (const r of [...rows].sort((a, b) => Number(a.t) - Number(b.t))) {
    const t = Number(r.t);
    const m = minute(t);
    minutes.add(m);
    const c = of(r.service);
    c.self.push({ t, v: Math.max(0, Number(r.duration) - (childTime.get(`${r.trace}|${r.span}`) ?? 0)) });
    const parent = r.parent ? byId.get(`${r.trace}|${r.parent}`) : undefined;
    if (!parent || parent.service !== r.service) c.server.set(m, (c.server.get(m) ?? 0) + 1);
    if (parent && parent.service !== r.service) c.gap.push({ t, v: Math.max(0, Number(parent.duration) - Number(r.duration)) });
    if (Number(r.error)) {
      c.errors.set(m, (c.errors.get(m) ?? 0) + 1);
      anyError = true;
    }
  }
  const sorted = [...minutes].sort((a, b) => a - b);
  const out: Signal[] = [];
  for (const [service, c] of perService) {
    out.push({ service, source: 'traces', modality: 'traces', name: 'span self time', points: c.self, samples: true });
    out.push({ service, source: 'traces', modality: 'traces', name: 'call gap', points: c.gap, samples: true });
    out.push({
      service,
      source: 'traces',
      modality: 'traces',
      name: 'server spans',
      points: sorted.map((m) => ({ t: m, v: c.server.get(m) ?? 0 })),
      count: true,
    });
    if (anyError)
      out.push({
        service,
        source: 'traces',
        modality: 'traces',
        name: 'span errors',
        points: sorted.map((m) => ({ t: m, v: c.errors.get(m) ?? 0 })),
        count: true,
      });
  }
  return out;
}

/**
 * Per-minute warnings-or-worse of each service, over the minutes the workspace
 * logged at all. Plain log volume follows traffic, so it is left out.
 */
export async function logSignals(ctx: RankContext, from: number, to: number): Promise<Signal[]> {
  const rows = await readRows<{ service: string; m: number; n: number; bad: number }>(ctx.store, {
    query: `SELECT ServiceName AS service, toUnixTimestamp(toStartOfMinute(Timestamp)) * 1000 AS m,
                   count() AS n, countIf(SeverityNumber >= 13) AS bad
            FROM otel_logs
            WHERE ResourceAttributes[{a:String}] = {w:String}
              AND Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND Timestamp < fromUnixTimestamp64Milli({to:Int64})
            GROUP BY service, m`,
    params: { a: ctx.tenantAttribute, w: ctx.workspace, from, to },
  });
  const minutes = [...new Set(rows.map((r) => Number(r.m)))].sort((a, b) => a - b);
  const byKey = new Map(rows.map((r) => [`${r.service}|${Number(r.m)}`, r]));
  const out: Signal[] = [];
  for (const service of new Set(rows.map((r) => r.service))) {
    const at = (f: (r: { n: number; bad: number }) => number) =>
      minutes.map((m) => {
        const r = byKey.get(`${service}|${m}`);
        return { t: m, v: r ? Number(f(r)) : 0 };
      });
    out.push({ service, source: 'logs', modality: 'logs', name: 'warning or worse logs', points: at((r) => r.bad), count: true });
  }
  return out;
}

/** What kind of fault a signal points to, from common words in its name (unknown names: "anomaly"). */
export function kindOfSignal(name: string): string {
  if (/gap/i.test(name)) return 'latency/network';
  if (/cpu|processor|throttl/i.test(name)) return 'cpu';
  if (/mem|heap|rss|working.?set|oom/i.test(name)) return 'memory';
  if (/error|fail|exception|success|warning/i.test(name)) return 'errors';
  if (/latenc|duration|self time|response.?time|p9\d/i.test(name)) return 'latency';
  if (/network|bytes|packet|receive|transmit/i.test(name)) return 'latency/network';
  return 'anomaly';
}

/**
 * Scores every signal at T and ranks services. A signal on which many
 * services move at once (a node's signal seen by its pods, latency felt by
 * every caller) says less about any one of them: a score is divided by the
 * number of services that moved at least half as much on the same signal.
 * Scores are bounded (see onsetScore), so metrics, traces and logs share
 * one scale.
 */
export function rankSignals(signals: Signal[], t: number, p = PROTOTYPE): Ranked[] {
  const scored = signals.map((s) => onsetScore(s, t, p)).filter((x): x is SignalScore => x !== undefined && Number.isFinite(x.z));
  const byName = new Map<string, SignalScore[]>();
  for (const s of scored) {
    const key = `${s.signal.modality}|${s.signal.name}`;
    const list = byName.get(key) ?? [];
    list.push(s);
    byName.set(key, list);
  }
  const perModality = new Map<string, { service: string; score: number; signal: string; kind: string }[]>();
  for (const s of scored) {
    const peers = new Set(
      byName
        .get(`${s.signal.modality}|${s.signal.name}`)!
        .filter((o) => Math.abs(o.z) >= 0.5 * Math.abs(s.z))
        .map((o) => o.signal.service),
    );
    const list = perModality.get(s.signal.modality) ?? [];
    list.push({
      service: s.signal.service,
      score: Math.abs(s.z) / Math.max(1, peers.size),
      signal: `${s.signal.source} ${s.signal.name} z=${s.z.toFixed(1)} peers=${peers.size}`,
      kind: kindOfSignal(s.signal.name),
    });
    perModality.set(s.signal.modality, list);
  }
  // The strongest signal decides: summing a service's signals favours noisy pods with many metrics.
  return rollUp([...perModality.values()].flat());
}

/** The prototype ranking at T from every table of the workspace. */
export async function prototypeRanking(ctx: RankContext, t: number, p = PROTOTYPE): Promise<Ranked[]> {
  const from = t - p.baselineMs;
  const to = t + p.windowMs;
  const [metrics, traces, logs] = await Promise.all([metricSeries(ctx, from, to), traceSignals(ctx, from, to), logSignals(ctx, from, to)]);
  const signals: Signal[] = [
    ...metrics.map(
      (s): Signal => ({ service: s.service, source: s.pod || 'metrics', modality: 'metrics', name: s.metric, points: s.points }),
    ),
    ...traces,
    ...logs,
  ];
  return rankSignals(signals, t, p);
}
