import type { Store } from '../../clients/clickhouse.ts';
import { between, ERROR_STATUS, IN_WORKSPACE, type ToolContext, ToolRun } from '../run.ts';

/** Who calls whom in a workspace, from parent and child spans across services. */
export interface DependencyGraph {
  /** caller → callees */
  calls: Map<string, Set<string>>;
  edges: { caller: string; callee: string; calls: number; errors: number }[];
}

const SPANS_PER_SAMPLE = 300_000;
/** Per store (a process may open several, e.g. in tests), per workspace and five-minute slot. */
const caches = new WeakMap<Store, Map<string, { at: number; graph: DependencyGraph }>>();
const CACHE_MS = 5 * 60_000;

/**
 * Builds the service dependency graph over a longer lookback than the
 * incident window (the topology outlives the incident). Whole traces are
 * sampled by a hash of the trace id, so the join stays bounded at any volume.
 * Cached per workspace for a few minutes.
 */
export async function dependencyGraph(ctx: ToolContext, to: number, lookbackMs = 6 * 3600_000): Promise<DependencyGraph> {
  const key = `${ctx.workspace}|${Math.floor(to / CACHE_MS)}`;
  let cache = caches.get(ctx.store);
  if (!cache) {
    cache = new Map();
    caches.set(ctx.store, cache);
  }
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.graph;
  const run = new ToolRun(
    ctx,
    'dependency_graph',
    'dg',
    { from: new Date(to - lookbackMs).toISOString(), to: new Date(to).toISOString() },
    '6h',
  );
  const [{ n }] = (
    await run.query<{ n: number }>(
      `SELECT count() AS n FROM otel_traces WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')}`,
      run.timeParams,
    )
  ).rows as [{ n: number }];
  const modulus = Math.max(1, Math.ceil(Number(n) / SPANS_PER_SAMPLE));
  const sample = 'cityHash64(TraceId) % {modulus:UInt32} = 0';
  const { rows } = await run.query<{ caller: string; callee: string; calls: number; errors: number }>(
    `SELECT p.ServiceName AS caller, c.ServiceName AS callee, count() AS calls, countIf(c.is_error) AS errors
     FROM (SELECT TraceId, SpanId, ServiceName FROM otel_traces WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')} AND ${sample}) AS p
     INNER JOIN (SELECT TraceId, ParentSpanId, ServiceName, ${ERROR_STATUS} AS is_error FROM otel_traces
                 WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')} AND ParentSpanId != '' AND ${sample}) AS c
       ON p.TraceId = c.TraceId AND p.SpanId = c.ParentSpanId
     WHERE p.ServiceName != c.ServiceName AND p.ServiceName != '' AND c.ServiceName != ''
     GROUP BY caller, callee`,
    { ...run.timeParams, modulus },
  );
  const graph: DependencyGraph = { calls: new Map(), edges: rows.map((r) => ({ ...r, calls: Number(r.calls), errors: Number(r.errors) })) };
  for (const e of graph.edges) (graph.calls.get(e.caller) ?? graph.calls.set(e.caller, new Set()).get(e.caller)!).add(e.callee);
  cache.set(key, { at: Date.now(), graph });
  return graph;
}

/** Services `s` depends on, directly or through others. */
export function downstream(graph: DependencyGraph, s: string): Set<string> {
  const out = new Set<string>();
  const stack = [...(graph.calls.get(s) ?? [])];
  while (stack.length) {
    const d = stack.pop()!;
    if (out.has(d) || d === s) continue;
    out.add(d);
    stack.push(...(graph.calls.get(d) ?? []));
  }
  return out;
}

/** A call path from `from` to `to` (breadth first), e.g. frontend → checkout → payment. */
export function pathBetween(graph: DependencyGraph, from: string, to: string): string[] | undefined {
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length) {
    const s = queue.shift()!;
    if (s === to) {
      const path = [to];
      for (let p = prev.get(to); p; p = prev.get(p)) path.unshift(p);
      return path;
    }
    for (const d of graph.calls.get(s) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      prev.set(d, s);
      queue.push(d);
    }
  }
  return undefined;
}

/** Services nothing else in the workspace calls: the entry points. */
export function entryPoints(graph: DependencyGraph): string[] {
  const called = new Set(graph.edges.map((e) => e.callee));
  return [...new Set(graph.edges.map((e) => e.caller))].filter((s) => !called.has(s));
}
