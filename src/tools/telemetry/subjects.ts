import { between, IN_WORKSPACE, type ToolContext, ToolRun } from '../run.ts';

/** Where a name may appear: any resource attribute value (service, host, node, pod, job, instance), or a log line. */
const TABLES = [
  { table: 'otel_logs', time: 'Timestamp', body: true },
  { table: 'otel_traces', time: 'Timestamp', body: false },
  { table: 'otel_metrics_gauge', time: 'TimeUnix', body: false },
  { table: 'otel_metrics_sum', time: 'TimeUnix', body: false },
] as const;

/** What was searched, in words, for an answer that has to say a subject is absent. */
export const SUBJECT_SEARCH =
  'the resource attributes (service, host, node, pod, job and instance names) of logs, traces and metrics, and the log lines';

/**
 * Which of `names` the workspace's telemetry mentions over the lookback: a
 * resource attribute equal to the name (an instance may carry a port), or a
 * log line containing it. Answers about a host or job nothing reports say so
 * instead of blaming something else.
 */
export async function namesInTelemetry(ctx: ToolContext, names: string[], lookbackMs = 24 * 3600_000): Promise<Set<string>> {
  const wanted = [...new Set(names.filter(Boolean))].slice(0, 10);
  if (!wanted.length) return new Set();
  const to = ctx.now ?? Date.now();
  const run = new ToolRun(
    ctx,
    'subject_lookup',
    'sl',
    { from: new Date(to - lookbackMs).toISOString(), to: new Date(to).toISOString() },
    '24h',
  );
  const withPorts = wanted.map((n) => `${n}:`);
  const found = new Set<string>();
  await Promise.all(
    TABLES.map(async ({ table, time, body }) => {
      const values = 'mapValues(ResourceAttributes)';
      const attr = `arrayExists(v -> has({names:Array(String)}, v) OR arrayExists(p -> startsWith(v, p), {ported:Array(String)}), ${values})`;
      const line = body ? ` OR multiSearchAnyCaseInsensitive(Body, {names:Array(String)})` : '';
      const { rows } = await run.query<{ hits: string[] }>(
        `SELECT arrayFilter(n -> has(${values}, n) OR arrayExists(v -> startsWith(v, concat(n, ':')), ${values})${body ? ' OR positionCaseInsensitive(Body, n) > 0' : ''}, {names:Array(String)}) AS hits
         FROM ${table} WHERE ${IN_WORKSPACE} AND ${between(time, 'w')} AND (${attr}${line})
         LIMIT 50`,
        { ...run.timeParams, names: wanted, ported: withPorts },
      );
      for (const r of rows) for (const n of r.hits) found.add(n);
    }),
  );
  return found;
}
