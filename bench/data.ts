import { command, readRows, type Store } from '../src/clients/clickhouse.ts';
import { seedDemo } from '../src/demo/seed.ts';
import type { TelemetryIngest } from '../src/otlp/ingest.ts';

/**
 * Benchmark data: a scenario from the simulator, then copied inside
 * ClickHouse until the log table holds the target count. A copy keeps
 * timestamps and content (so the fault stays visible) and gets its own trace
 * and span ids; traces are copied at a quarter of the log rate (as if
 * sampled) and metrics by adding pods.
 */
export class BenchData {
  private copies = 1;
  baseLogs = 0;

  constructor(
    private readonly store: Store,
    private readonly ingest: TelemetryIngest,
  ) {}

  async seed(scenario: string, hours: number, end: number) {
    const result = await seedDemo(this.store, this.ingest, 'k8s.namespace.name', { scenario, seed: 7, hours, end });
    this.baseLogs = await this.count('otel_logs');
    return result;
  }

  count(table: string): Promise<number> {
    return readRows<{ n: number }>(this.store, { query: 'SELECT count() AS n FROM {t:Identifier}', params: { t: table } }).then((r) =>
      Number(r[0]!.n),
    );
  }

  async volume() {
    const [logs, spans, g, s, h] = await Promise.all(
      ['otel_logs', 'otel_traces', 'otel_metrics_gauge', 'otel_metrics_sum', 'otel_metrics_histogram'].map((t) => this.count(t)),
    );
    return { logs: logs!, spans: spans!, metric_points: g! + s! + h! };
  }

  /** Grows the log table to about `logs` records. */
  async grow(logs: number, traceShare = 0.25): Promise<void> {
    const target = Math.max(1, Math.round(logs / this.baseLogs));
    if (target <= this.copies) return;
    process.stderr.write(`amplifying to ${target} copies of the ${this.baseLogs} simulated log records…\n`);
    const from = this.copies;
    const newId = (col: string, len: 16 | 32) =>
      len === 16
        ? `if(${col} = '', '', lower(hex(cityHash64(${col}, c))))`
        : `if(${col} = '', '', concat(lower(hex(cityHash64(${col}, c))), substring(${col}, 17, 16)))`;
    // Originals are picked in a subquery: REPLACE renames columns, and WHERE would see the new values.
    await command(
      this.store,
      `INSERT INTO otel_logs SELECT * REPLACE (${newId('TraceId', 32)} AS TraceId, ${newId('SpanId', 16)} AS SpanId,
         mapUpdate(LogAttributes, map('bench.copy', toString(c))) AS LogAttributes)
       FROM (SELECT * FROM otel_logs WHERE NOT mapContains(LogAttributes, 'bench.copy') AND LogAttributes['k8s.event.reason'] = '')
       ARRAY JOIN range({from:UInt32}, {to:UInt32}) AS c`,
      { from, to: target },
    );
    const tFrom = Math.ceil(from * traceShare);
    const tTo = Math.ceil(target * traceShare);
    if (tTo > tFrom) {
      await command(
        this.store,
        `INSERT INTO otel_traces SELECT * REPLACE (${newId('TraceId', 32)} AS TraceId, ${newId('SpanId', 16)} AS SpanId, ${newId('ParentSpanId', 16)} AS ParentSpanId,
           mapUpdate(SpanAttributes, map('bench.copy', toString(c))) AS SpanAttributes)
         FROM (SELECT * FROM otel_traces WHERE NOT mapContains(SpanAttributes, 'bench.copy'))
         ARRAY JOIN range({from:UInt32}, {to:UInt32}) AS c`,
        { from: tFrom, to: tTo },
      );
      for (const table of ['otel_metrics_gauge', 'otel_metrics_sum', 'otel_metrics_histogram']) {
        await command(
          this.store,
          `INSERT INTO {t:Identifier} SELECT * REPLACE (mapUpdate(ResourceAttributes, map('k8s.pod.name', concat(ResourceAttributes['k8s.pod.name'], '-c', toString(c)), 'bench.copy', toString(c))) AS ResourceAttributes)
           FROM (SELECT * FROM {t:Identifier} WHERE NOT mapContains(ResourceAttributes, 'bench.copy'))
           ARRAY JOIN range({from:UInt32}, {to:UInt32}) AS c`,
          { t: table, from: Math.ceil(tFrom / 8), to: Math.ceil(tTo / 8) },
        );
      }
    }
    await command(this.store, 'OPTIMIZE TABLE otel_logs FINAL');
    await command(this.store, 'OPTIMIZE TABLE otel_traces FINAL');
    this.copies = target;
  }
}
