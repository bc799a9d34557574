import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.ts';
import { openStore, readRows, command, type Store } from '../src/clients/clickhouse.ts';
import { migrate, MIGRATIONS, readTableShapes, TELEMETRY_TABLES } from '../src/storage/migrations.ts';
import { TelemetryIngest } from '../src/otlp/ingest.ts';
import { tempDir } from './helpers/service.ts';
import { sharedDir } from './helpers/shared.ts';
import { logRecord, logsPayload, nanos, tracesPayload } from './helpers/otlp.ts';

const DDL_DIR = sharedDir('data', 'otel-clickhouse-ddl');

/** The exporter's own DDL files, statement by statement. */
function exporterStatements(): string[] {
  return ['logs.sql', 'traces.sql', 'metrics_gauge.sql', 'sum_metrics.sql', 'histogram_metrics.sql'].flatMap((f) =>
    fs
      .readFileSync(path.join(DDL_DIR, f), 'utf8')
      .split(/;\s*(?:\n|$)/)
      .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
      .filter(Boolean),
  );
}

async function showCreate(store: Store, table: string): Promise<string> {
  const [row] = await readRows<{ statement: string }>(store, { query: 'SHOW CREATE TABLE {t:Identifier}', params: { t: table } });
  return row!.statement;
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('migrations', () => {
  it('create every table on an empty store and are idempotent', async () => {
    store = await openStore(loadConfig({ AIOPS_DATA_DIR: tempDir() }));
    const first = await migrate(store);
    expect(first.applied).toEqual(MIGRATIONS.map((m) => m.version));
    const before = await Promise.all(TELEMETRY_TABLES.map((t) => showCreate(store!, t)));
    const second = await migrate(store);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await Promise.all(TELEMETRY_TABLES.map((t) => showCreate(store!, t)))).toEqual(before);
    const [count] = await readRows<{ n: number }>(store, { query: 'SELECT count() AS n FROM aiops_schema_migrations FINAL' });
    expect(Number(count!.n)).toBe(MIGRATIONS.length);
    const shapes = await readTableShapes(store);
    expect(shapes.get('otel_traces')?.has('Events.Timestamp')).toBe(true);
  });

  it('leave tables made by the exporter DDL alone, and the service reads and writes them', async () => {
    store = await openStore(loadConfig({ AIOPS_DATA_DIR: tempDir(), CLICKHOUSE_DATABASE: 'otel' }));
    for (const statement of exporterStatements()) await command(store, statement);
    const before = await Promise.all(TELEMETRY_TABLES.map((t) => showCreate(store!, t)));
    await migrate(store);
    await migrate(store);
    expect(await Promise.all(TELEMETRY_TABLES.map((t) => showCreate(store!, t)))).toEqual(before);

    const ingest = new TelemetryIngest(store, await readTableShapes(store), 'k8s.namespace.name');
    const scope = 'shop';
    const t0 = Date.now() - 60_000;
    const span = (id: string, status: number) => ({
      traceId: 'a'.repeat(31) + id,
      spanId: 'b'.repeat(15) + id,
      name: 'shop.PaymentService/Charge',
      kind: 2,
      startTimeUnixNano: nanos(t0),
      endTimeUnixNano: nanos(t0 + 42),
      status: { code: status },
    });
    await ingest.traces(tracesPayload({ 'service.name': 'payment' }, [span('1', 2), span('2', 1), span('3', 0)]), scope);
    await ingest.logs(logsPayload({ 'service.name': 'payment' }, [logRecord(t0, 'charge failed')]), scope);

    // The kind of query the tools run: workspace from a parameter, both status spellings.
    const rows = await readRows<{ service: string; spans: number; errors: number; p50_ms: number }>(store, {
      query: `SELECT ServiceName AS service, count() AS spans,
                     countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS errors,
                     quantile(0.5)(Duration) / 1e6 AS p50_ms
              FROM otel_traces
              WHERE ResourceAttributes[{attr:String}] = {ws:String} AND Timestamp >= now64(9) - INTERVAL 1 HOUR
              GROUP BY service`,
      params: { attr: 'k8s.namespace.name', ws: 'shop' },
    });
    expect(rows).toEqual([{ service: 'payment', spans: 3, errors: 1, p50_ms: 42 }]);
    const logs = await readRows<{ Body: string; ws: string }>(store, {
      query: "SELECT Body, ResourceAttributes['k8s.namespace.name'] AS ws FROM otel_logs",
    });
    expect(logs).toEqual([{ Body: 'charge failed', ws: 'shop' }]);
  });

  it('stop with the missing column named when a table is not the exporter schema', async () => {
    store = await openStore(loadConfig({ AIOPS_DATA_DIR: tempDir(), CLICKHOUSE_DATABASE: 'broken' }));
    await command(store, 'CREATE TABLE otel_logs (Timestamp DateTime64(9), Body String) ENGINE = MergeTree ORDER BY Timestamp');
    await migrate(store);
    await expect(readTableShapes(store)).rejects.toThrow(/otel_logs\.ServiceName/);
  });
});
