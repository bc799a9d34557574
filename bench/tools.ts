/**
 * Telemetry tool latency at 1M and 10M log records (with traces and metrics
 * in proportion) in embedded ClickHouse, next to the same SQL run directly,
 * and the size of each tool's rendered evidence in tokens.
 *
 * The data: the payment-bad-deploy scenario over 6 hours, grown to the
 * target size inside ClickHouse (bench/data.ts).
 *
 *   npm run bench:tools -- [--sizes 1000000,10000000] [--runs 5] [--quick]
 */
import { readRows } from '../src/clients/clickhouse.ts';
import { estimateTokens } from '../src/core/evidence.ts';
import { runTool, type ToolResult } from '../src/tools/definition.ts';
import { findTool, TELEMETRY_TOOLS, type ToolArgs, type ToolName } from '../src/tools/registry.ts';
import { benchService, options, percentile, report, round } from './lib.ts';
import { BenchData } from './data.ts';

const opts = options({ sizes: { type: 'string', default: '1000000,10000000' }, runs: { type: 'string', default: '5' } });
const sizes = opts.quick ? [60_000] : opts.sizes.split(',').map(Number);
const runs = opts.quick ? 2 : Number(opts.runs);
const hours = opts.quick ? 1 : 6;

const { service } = await benchService();
const { store, ingest, policies } = service.deps;
const end = Math.floor(Date.now() / 60_000) * 60_000;
const data = new BenchData(store, ingest);
const seeded = await data.seed('payment-bad-deploy', hours, end);

/** One call per telemetry tool: a tool added to the registry without arguments here does not compile. */
const ARGS: { [N in Exclude<ToolName, 'search_runbooks' | 'similar_incidents'>]: ToolArgs<N> } = {
  service_overview: {},
  log_search: { severity: 'ERROR', limit: 50 },
  log_patterns: {},
  metric_deviation: {},
  metric_series: { service: 'payment', metric: 'rpc.server.duration (error ratio)' },
  trace_hotspots: {},
  recent_changes: { last: '2h' },
  auth_failures: {},
  resource_efficiency: { last: '1h' },
  ranking: { by: 'latency', of: 'operation' },
  service_series: { service: 'payment' },
  change_onset: {},
};

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  await data.grow(size);
  const volume = await data.volume();
  const tools: Record<string, unknown> = {};
  for (const t of TELEMETRY_TOOLS) {
    const ctx = {
      store,
      workspace: 'shop',
      tenantAttribute: 'k8s.namespace.name',
      trackingId: 'bench',
      policy: { ...policies.tools, defaults: { ...policies.tools.defaults, max_execution_time_s: 60, max_result_rows: 10_000_000 } },
      now: end,
      recordQueries: true,
    };
    let last: ToolResult | undefined;
    const toolMs: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const started = performance.now();
      last = await runTool(findTool(t.name)!, ctx, ARGS[t.name as keyof typeof ARGS]);
      if (i > 0) toolMs.push(performance.now() - started);
    }
    const rawMs: number[] = [];
    for (let i = 0; i <= runs; i++) {
      const started = performance.now();
      for (const q of last!.recorded!) await readRows(store, { query: q.sql, params: q.params, settings: q.settings });
      if (i > 0) rawMs.push(performance.now() - started);
    }
    tools[t.name] = {
      ms: round(median(toolMs), 1),
      raw_sql_ms: round(median(rawMs), 1),
      ratio: round(median(toolMs) / Math.max(0.1, median(rawMs)), 2),
      queries: last!.stats.queries,
      evidence: last!.evidence.length,
      rendered_tokens: estimateTokens(last!.rendered),
    };
  }
  results.push({ target_log_records: size, ...volume, tools });
}

await service.close();
report('tools', {
  quick: opts.quick,
  scenario: seeded.scenario,
  runs,
  sizes: results,
  max_ms: Math.max(...results.flatMap((r) => Object.values(r.tools as Record<string, { ms: number }>).map((t) => t.ms))),
  max_rendered_tokens: Math.max(
    ...results.flatMap((r) => Object.values(r.tools as Record<string, { rendered_tokens: number }>).map((t) => t.rendered_tokens)),
  ),
});
