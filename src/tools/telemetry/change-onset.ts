import { z } from 'zod';
import {
  type CallGraph,
  type LogMinute,
  logSignals,
  ONSET,
  type RankedService,
  rankOnsets,
  type ScoredSignal,
  type Signal,
  type SpanMinute,
  traceSignals,
} from '../../analysis/onset.ts';
import type { Evidence } from '../../core/evidence.ts';
import { hhmm } from '../../core/window.ts';
import { defineTool, fmt } from '../definition.ts';
import { between, ERROR_STATUS, IN_WORKSPACE, type ToolRun } from '../run.ts';
import { windowFields } from '../window.ts';

const MIN = 60_000;
/** Observations of span self time and call gap kept per service and minute (a bounded sample). */
const SAMPLES_PER_MINUTE = 64;
/** In the baseline or the window. */
const IN_RANGE = (column: string) => `(${between(column, 'w')} OR ${between(column, 'b')})`;
/** The instance a metric point comes from: the pod, else the service instance, else the host. */
const INSTANCE = `multiIf(ResourceAttributes['k8s.pod.name'] != '', ResourceAttributes['k8s.pod.name'],
  ResourceAttributes['service.instance.id'] != '', ResourceAttributes['service.instance.id'], ResourceAttributes['host.name'])`;

/**
 * Per instance, metric and minute, whatever the metric names: gauges and
 * non-monotonic sums as their average, monotonic sums as a rate per second,
 * histograms as their mean observation.
 */
async function metricSignals(run: ToolRun): Promise<Signal[]> {
  const scope = `${IN_WORKSPACE} AND ${IN_RANGE('TimeUnix')}`;
  const minute = 'toStartOfMinute(TimeUnix)';
  const series = 'cityHash64(ResourceAttributes, Attributes)';
  const delta = (col: string) =>
    `if(AggregationTemporality = 1, toFloat64(${col}), greatest(0, toFloat64(${col}) - lagInFrame(toFloat64(${col}), 1, toFloat64(${col})) OVER (PARTITION BY MetricName, ${series} ORDER BY TimeUnix ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)))`;
  const { rows } = await run.query<{ service: string; instance: string; metric: string; ts: number[]; vs: number[] }>(
    `SELECT service, instance, metric, arrayMap(x -> x.1, s) AS ts, arrayMap(x -> x.2, s) AS vs FROM (
       SELECT service, instance, metric, arraySort(x -> x.1, groupArray((toUnixTimestamp(m) * 1000, v))) AS s FROM (
         SELECT ServiceName AS service, ${INSTANCE} AS instance, MetricName AS metric, ${minute} AS m, avg(Value) AS v
         FROM otel_metrics_gauge WHERE ${scope} AND isFinite(Value) GROUP BY service, instance, metric, m
         UNION ALL
         SELECT ServiceName, ${INSTANCE}, MetricName, ${minute} AS m, avg(Value)
         FROM otel_metrics_sum WHERE ${scope} AND NOT IsMonotonic AND isFinite(Value) GROUP BY ServiceName, 2, MetricName, m
         UNION ALL
         SELECT service, instance, concat(metric, ' (rate/s)'), m, sum(d) / 60 FROM (
           SELECT ServiceName AS service, ${INSTANCE} AS instance, MetricName AS metric, ${minute} AS m, ${delta('Value')} AS d
           FROM otel_metrics_sum WHERE ${scope} AND IsMonotonic)
         GROUP BY service, instance, metric, m
         UNION ALL
         SELECT service, instance, concat(metric, ' (mean)'), m, sum(s) / greatest(sum(c), 1) FROM (
           SELECT ServiceName AS service, ${INSTANCE} AS instance, MetricName AS metric, ${minute} AS m, ${delta('Count')} AS c, ${delta('Sum')} AS s
           FROM otel_metrics_histogram WHERE ${scope})
         GROUP BY service, instance, metric, m
         HAVING sum(c) > 0)
       WHERE isFinite(v)
       GROUP BY service, instance, metric)`,
    run.timeParams,
  );
  return rows.map((r) => ({
    service: r.service,
    source: r.instance || r.service,
    modality: 'metrics',
    name: r.metric,
    points: r.ts.map((t, i) => ({ t: Number(t), v: Number(r.vs[i]) })),
  }));
}

/**
 * Per service and minute: server spans, errors that start there (a failed
 * span none of whose child spans failed: a caller's error that only passes a
 * callee's on is the callee's), and a sample of span self
 * times and of the gaps of calls into the service; and who calls whom.
 */
async function spanMinutes(run: ToolRun): Promise<{ rows: SpanMinute[]; graph: CallGraph }> {
  const spans = `SELECT TraceId AS trace, SpanId AS span, ParentSpanId AS parent, ServiceName AS service,
                        toUnixTimestamp64Milli(Timestamp) AS t, Duration / 1e6 AS d, ${ERROR_STATUS} AS err
                 FROM otel_traces WHERE ${IN_WORKSPACE} AND ${IN_RANGE('Timestamp')}`;
  const { rows } = await run.query<{
    service: string;
    minute: number;
    server: number;
    errors: number;
    self: number[];
    gap: number[];
    callers: string[];
  }>(
    `SELECT c.service AS service, intDiv(c.t, 60000) * 60000 AS minute,
            countIf(p.service = '' OR p.service != c.service) AS server, countIf(c.err AND NOT k.child_err) AS errors,
            groupArraySample({k:UInt32}, 1)(greatest(0, c.d - k.child)) AS self,
            groupArraySampleIf({k:UInt32}, 1)(greatest(0, p.d - c.d), p.service != '' AND p.service != c.service) AS gap,
            groupUniqArrayIf(p.service, p.service != '' AND p.service != c.service) AS callers
     FROM (${spans}) AS c
     LEFT JOIN (${spans}) AS p ON c.trace = p.trace AND c.parent = p.span
     LEFT JOIN (SELECT trace, parent, sum(d) AS child, max(err) AS child_err FROM (${spans}) WHERE parent != '' GROUP BY trace, parent) AS k
       ON c.trace = k.trace AND c.span = k.parent
     GROUP BY service, minute`,
    { ...run.timeParams, k: SAMPLES_PER_MINUTE },
  );
  const graph: CallGraph = new Map();
  for (const r of rows) for (const caller of r.callers) (graph.get(caller) ?? graph.set(caller, new Set()).get(caller)!).add(r.service);
  return {
    rows: rows.map((r) => ({
      service: r.service,
      minute: Number(r.minute),
      server: Number(r.server),
      errors: Number(r.errors),
      selfMs: r.self.map(Number),
      gapMs: r.gap.map(Number),
    })),
    graph,
  };
}

async function logMinutes(run: ToolRun): Promise<LogMinute[]> {
  const { rows } = await run.query<{ service: string; minute: number; bad: number }>(
    `SELECT ServiceName AS service, toUnixTimestamp(toStartOfMinute(Timestamp)) * 1000 AS minute,
            countIf(SeverityNumber >= 13 OR (SeverityNumber = 0 AND upper(SeverityText) IN ('WARN', 'WARNING', 'ERROR', 'FATAL', 'CRITICAL'))) AS bad
     FROM otel_logs WHERE ${IN_WORKSPACE} AND ${IN_RANGE('Timestamp')}
     GROUP BY service, minute`,
    run.timeParams,
  );
  return rows.map((r) => ({ service: r.service, minute: Number(r.minute), bad: Number(r.bad) }));
}

/**
 * Every signal of the run's workspace over its baseline and window, the
 * onset (the window's start, to the minute) and the call graph when there
 * are traces: what change_onset ranks (benchmarks rank it with other settings).
 */
export async function onsetSignals(run: ToolRun): Promise<{ t: number; signals: Signal[]; graph?: CallGraph; modalities: string[] }> {
  const t = Math.floor(run.window.from / MIN) * MIN;
  const [metrics, traces, logs] = await Promise.all([metricSignals(run), spanMinutes(run), logMinutes(run)]);
  // Telemetry without a service name cannot be a candidate.
  const signals = [...metrics, ...traceSignals(traces.rows), ...logSignals(logs)].filter((s) => s.service !== '');
  const modalities = [metrics.length ? 'metrics' : '', traces.rows.length ? 'traces' : '', logs.length ? 'logs' : ''].filter(Boolean);
  return { t, signals, ...(traces.graph.size ? { graph: traces.graph } : {}), modalities };
}

const KIND_TEXT: Record<string, string> = {
  cpu: 'CPU',
  memory: 'memory',
  'latency/network': 'latency or network',
  errors: 'errors',
  anomaly: 'an unclassified signal',
};

const describe = (s: ScoredSignal) =>
  `${s.name}${s.modality === 'metrics' ? ` of ${s.source}` : ''} ${s.change >= 0 ? 'up' : 'down'} ${fmt.num(Math.abs(s.change))} from ${fmt.num(s.level)} (onset score ${s.z.toFixed(1)}${s.peers > 1 ? `, ${s.peers} services moved with it` : ''})`;

/**
 * Which services changed at the moment an incident started: every signal of
 * every service (pod metrics whatever their names, span self time and call
 * gaps, server spans and errors, warning logs) scored by its change at the
 * onset against the baseline before it, after any slow trend; pods rolled up
 * to their service; callers whose change a callee explains weighted down.
 */
export const changeOnset = defineTool({
  name: 'change_onset',
  prefix: 'co',
  category: 'sre',
  description:
    'Ranks services by how sharply their signals changed when the window starts (the incident start) against the baseline before it, over metrics (any name, per pod), traces (span self time, call gaps, requests, errors) and warning logs, after slow trends; callers whose change a called service explains rank lower. Give the first minutes of the incident as the window. Says the kind of change (cpu, memory, latency/network, errors).',
  args: z
    .object({
      top: z.number().int().min(1).max(30).default(10),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '5m',
  defaultBaseline: '1h',
  async run(run, args) {
    const { t, signals, graph, modalities } = await onsetSignals(run);
    if (signals.length === 0) return { evidence: [], usesBaseline: true, notes: ['no metrics, spans or logs in the window and baseline'] };
    const ranked = rankOnsets(signals, t, graph);
    const changed = ranked.filter((r) => r.own >= ONSET.changed);
    const evidence: Evidence[] = ranked.slice(0, args.top).map((r: RankedService, i) => {
      const best = r.signals[0]!;
      const also = r.signals.slice(1, 3).map(describe);
      return run.evidence({
        kind: 'change_onset',
        service: r.service,
        summary: `#${i + 1} ${r.service} changed at ${hhmm(t)} UTC (${KIND_TEXT[r.kind]}): ${describe(best)}${
          r.explainedBy ? `; it calls ${r.explainedBy}, which changed as much or more` : ''
        }${r.own < ONSET.changed ? ' [within noise]' : ''}`,
        numbers: {
          rank: i + 1,
          score: round(r.score),
          own_score: round(r.own),
          z: round(best.z),
          level: best.level,
          change: best.change,
          peers: best.peers,
        },
        attributes: {
          signal: best.name,
          source: best.source,
          modality: best.modality,
          fault_kind: r.kind,
          changed: String(r.own >= ONSET.changed),
          ...(r.explainedBy ? { explained_by: r.explainedBy } : {}),
          ...(also.length ? { also: also.join('; ') } : {}),
        },
        baseline: run.baselineRange,
        query_id: run.queryIds[0]!,
        score: round(r.score),
      });
    });
    const notes = [
      `${changed.length} of ${ranked.length} services changed at the onset (score ${ONSET.changed} or more), from ${modalities.join(', ') || 'no data'}`,
    ];
    return { evidence, usesBaseline: true, notes };
  },
});

const round = (v: number) => Math.round(v * 1000) / 1000;
