import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { between, ERROR_STATUS, IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import { mask, tokenize } from '../patterns/miner.ts';
import type { Evidence } from '../../core/evidence.ts';

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_id: string;
  service: string;
  operation: string;
  kind: string;
  duration_ms: number;
  error: number;
  message: string;
  peer: string;
}

interface Hotspot {
  service: string;
  operation: string;
  selfMs: number;
  traces: Set<string>;
}

interface Origin {
  service: string;
  operations: Set<string>;
  /** For an unreachable service: who failed to reach it. */
  callers: Set<string>;
  message: string;
  paths: Map<string, number>;
  count: number;
  traces: Set<string>;
  example: string;
}

const isClient = (kind: string) => kind === 'Client' || kind === 'SPAN_KIND_CLIENT';

/**
 * Where time goes and where errors start in a set of traces. Self time is a
 * span's duration minus its children's (clamped at zero). An error starts at
 * a failed span none of whose children failed; a failed client call with no
 * server span under it started at the peer it called (it refused or was
 * unreachable).
 */
function analyseTraces(spans: SpanRow[], slowTraces: Set<string>) {
  const byTrace = new Map<string, SpanRow[]>();
  for (const s of spans) (byTrace.get(s.trace_id) ?? byTrace.set(s.trace_id, []).get(s.trace_id)!).push(s);
  const hotspots = new Map<string, Hotspot>();
  const origins = new Map<string, Origin>();
  let slowTotalMs = 0;
  for (const [traceId, list] of byTrace) {
    const children = new Map<string, SpanRow[]>();
    const byId = new Map(list.map((s) => [s.span_id, s]));
    for (const s of list) if (s.parent_id) (children.get(s.parent_id) ?? children.set(s.parent_id, []).get(s.parent_id)!).push(s);
    if (slowTraces.has(traceId)) {
      for (const s of list) {
        const childMs = (children.get(s.span_id) ?? []).reduce((a, c) => a + Number(c.duration_ms), 0);
        const self = Math.max(0, Number(s.duration_ms) - childMs);
        slowTotalMs += self;
        const key = `${s.service}|${s.operation}`;
        let h = hotspots.get(key);
        if (!h) {
          h = { service: s.service, operation: s.operation, selfMs: 0, traces: new Set() };
          hotspots.set(key, h);
        }
        h.selfMs += self;
        h.traces.add(traceId);
      }
    }
    for (const s of list) {
      if (!Number(s.error)) continue;
      const kids = children.get(s.span_id) ?? [];
      if (kids.some((k) => Number(k.error))) continue;
      // The chain of services above the origin, nearest first.
      const chain: string[] = [];
      for (let p = byId.get(s.parent_id); p; p = byId.get(p.parent_id)) if (chain[chain.length - 1] !== p.service) chain.push(p.service);
      let service = s.service;
      let caller: string | undefined;
      if (isClient(s.kind) && kids.length === 0 && s.peer) {
        if (chain[0] !== s.service) chain.unshift(s.service);
        service = s.peer;
        caller = s.service;
      }
      const message = mask(tokenize(s.message.slice(0, 200))).join(' ');
      const path = [service, ...chain.filter((c, i) => !(i === 0 && c === service))].reverse().join(' → ');
      const key = `${service}|${message}`;
      let o = origins.get(key);
      if (!o) {
        o = {
          service,
          operations: new Set(),
          callers: new Set(),
          message,
          paths: new Map(),
          count: 0,
          traces: new Set(),
          example: s.message.slice(0, 200),
        };
        origins.set(key, o);
      }
      o.operations.add(s.operation);
      if (caller) o.callers.add(caller);
      o.paths.set(path, (o.paths.get(path) ?? 0) + 1);
      o.count++;
      o.traces.add(traceId);
    }
  }
  return {
    hotspots: [...hotspots.values()].sort((a, b) => b.selfMs - a.selfMs),
    origins: [...origins.values()].sort((a, b) => b.traces.size - a.traces.size),
    slowTotalMs,
  };
}

/** Self time per trace of each operation (service|operation) in a baseline's slowest traces. */
function usualSelfTime(spans: SpanRow[], slowTraces: Set<string>): Map<string, number> {
  return new Map(
    analyseTraces(spans, slowTraces).hotspots.map((h) => [`${h.service}|${h.operation}`, h.selfMs / Math.max(1, h.traces.size)]),
  );
}

export const traceHotspots = defineTool({
  name: 'trace_hotspots',
  prefix: 'th',
  category: 'sre',
  description:
    "Follows parent and child spans across services in the slowest and the failed traces of the window: which operations take the time (self time, excluding children, against the same in the baseline's slowest traces) and where errors start, with the path they travel to the entry point. Use it to tell a failing dependency from the callers that only see it.",
  args: z
    .object({
      service: z.string().min(1).max(200).optional().describe('only traces that pass through this service'),
      traces: z.number().int().min(10).max(2000).default(300).describe('how many slow and how many failed traces to read'),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '30m',
  async run(run, args) {
    const service = args.service ?? '';
    const p = { ...run.timeParams, service, n: args.traces };
    const inService = (range: 'w' | 'b') =>
      `({service:String} = '' OR TraceId IN (SELECT TraceId FROM otel_traces WHERE ${IN_WORKSPACE} AND ${between('Timestamp', range)} AND ServiceName = {service:String}))`;
    const slowestTraces = (range: 'w' | 'b', limit: number) =>
      run.query<{ trace_id: string; ms: number }>(
        `SELECT TraceId AS trace_id, Duration / 1e6 AS ms FROM otel_traces
         WHERE ${IN_WORKSPACE} AND ${between('Timestamp', range)} AND ParentSpanId = '' AND ${inService(range)}
         ORDER BY Duration DESC LIMIT {limit:UInt32}`,
        { ...p, limit },
      );
    // The baseline is longer than the window: its slowest traces of the same tail share, thinned to as many.
    const w = run.window;
    const stride = Math.max(1, Math.min(50, Math.round((w.baselineTo - w.baselineFrom) / (w.to - w.from))));
    const [slow, failed, baselineSlow] = await Promise.all([
      slowestTraces('w', args.traces),
      run.query<{ trace_id: string }>(
        `SELECT DISTINCT TraceId AS trace_id FROM otel_traces
         WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')} AND ${ERROR_STATUS} AND ${inService('w')}
         LIMIT {n:UInt32}`,
        p,
      ),
      // The same tail of traces before the window: what their operations usually cost.
      slowestTraces('b', args.traces * stride),
    ]);
    const ids = [...new Set([...slow.rows.map((r) => r.trace_id), ...failed.rows.map((r) => r.trace_id)])];
    if (ids.length === 0) return { evidence: [], usesBaseline: true, notes: ['no traces in the window'] };
    // Spans of those traces; a trace may start a little before the window.
    const spanQuery = (traceIds: string[], range: 'w' | 'b') =>
      run.query<SpanRow>(
        `SELECT TraceId AS trace_id, SpanId AS span_id, ParentSpanId AS parent_id, ServiceName AS service, SpanName AS operation,
              SpanKind AS kind, Duration / 1e6 AS duration_ms, ${ERROR_STATUS} AS error, substring(StatusMessage, 1, 300) AS message,
              SpanAttributes['server.address'] AS peer
       FROM otel_traces
       WHERE ${IN_WORKSPACE} AND TraceId IN {ids:Array(String)}
         AND Timestamp >= fromUnixTimestamp64Milli({${range}_from:Int64}) - INTERVAL 10 MINUTE
         AND Timestamp < fromUnixTimestamp64Milli({${range}_to:Int64}) + INTERVAL 10 MINUTE`,
        { ...run.timeParams, ids: traceIds },
      );
    const baselineIds = baselineSlow.rows.filter((_, i) => i % stride === 0).map((r) => r.trace_id);
    const [spans, baselineSpans] = await Promise.all([spanQuery(ids, 'w'), baselineIds.length ? spanQuery(baselineIds, 'b') : undefined]);
    const slowSet = new Set(slow.rows.map((r) => r.trace_id));
    const { hotspots, origins, slowTotalMs } = analyseTraces(spans.rows, slowSet);
    const usual = usualSelfTime(baselineSpans?.rows ?? [], new Set(baselineIds));
    const evidence: Evidence[] = [];
    const slowest = slow.rows[0]?.ms ?? 0;
    // What takes more time than before comes first; a call that was always slow follows.
    const ranked = hotspots
      .map((h) => {
        const perTrace = h.selfMs / Math.max(1, h.traces.size);
        const before = usual.get(`${h.service}|${h.operation}`);
        // An operation missing from the baseline's slowest traces is unknown there, not new.
        const grew = before !== undefined && perTrace >= 1.5 * before && perTrace - before >= 2;
        return {
          h,
          perTrace,
          before,
          grew,
          share: slowTotalMs > 0 ? h.selfMs / slowTotalMs : 0,
          excess: grew ? h.selfMs - before! * h.traces.size : 0,
        };
      })
      .filter((x) => x.share >= 0.03)
      .sort((a, b) => Number(b.grew) - Number(a.grew) || b.excess - a.excess || b.share - a.share)
      .slice(0, 6);
    for (const { h, perTrace, before, share, grew } of ranked) {
      const growth = before !== undefined && before > 0 ? perTrace / before : undefined;
      const was =
        before === undefined
          ? "not among the baseline's slowest"
          : `baseline ${fmt.ms(before)}${growth !== undefined && growth >= 1.2 ? `, ${fmt.ratio(growth)}` : ''}`;
      evidence.push(
        run.evidence({
          kind: 'latency_hotspot',
          service: h.service,
          summary: `${h.service} ${h.operation}: ${fmt.pct(share)} of the time in the ${slowSet.size} slowest traces (${fmt.ms(perTrace)} self time per trace; ${was})`,
          numbers: {
            self_time_share: round(share),
            self_ms_per_trace: round(perTrace),
            ...(before !== undefined ? { baseline_self_ms_per_trace: round(before) } : {}),
            ...(growth !== undefined ? { self_time_growth: round(growth) } : {}),
            traces: h.traces.size,
            slowest_trace_ms: round(slowest),
          },
          attributes: { operation: h.operation, grew: String(grew) },
          baseline: run.baselineRange,
          query_id: spans.queryId,
          score: round(share * 10 * Math.min(4, Math.max(1, growth ?? 1))),
        }),
      );
    }
    const failedTraces = new Set(failed.rows.map((r) => r.trace_id));
    for (const o of origins.slice(0, 6)) {
      const paths = [...o.paths.entries()].sort((a, b) => b[1] - a[1]).map(([p]) => p);
      const ops = [...o.operations];
      evidence.push(
        run.evidence({
          kind: 'error_origin',
          service: o.service,
          summary: `errors start in ${o.service} ${ops.slice(0, 2).join(', ')}${ops.length > 2 ? ` (+${ops.length - 2})` : ''}${o.callers.size ? ` (unreachable from ${[...o.callers].join(', ')})` : ''} in ${o.traces.size} of ${failedTraces.size} failed traces: "${o.message}" (path ${paths.slice(0, 2).join('; ')})`,
          numbers: {
            traces: o.traces.size,
            failed_traces: failedTraces.size,
            spans: o.count,
            share: round(o.traces.size / Math.max(1, failedTraces.size)),
          },
          attributes: {
            operation: ops.join(', '),
            path: paths[0]!,
            paths: paths.join('; '),
            message: o.message,
            unreachable: String(o.callers.size > 0),
            example_trace: [...o.traces][0]!,
          },
          query_id: spans.queryId,
          score: round((10 * o.traces.size) / Math.max(1, failedTraces.size)),
          examples: [o.example],
        }),
      );
    }
    const notes = [
      `read ${slowSet.size} slowest and ${failedTraces.size} failed traces (${spans.rows.length} spans), and ${baselineIds.length} as slow from the baseline`,
    ];
    if (failedTraces.size === 0) notes.push('no failed traces in the window');
    return { evidence, usesBaseline: true, notes };
  },
});

const round = (v: number) => Math.round(v * 1000) / 1000;
