import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.ts';
import { openStore, readRows, command, type Store } from '../src/clients/clickhouse.ts';
import { migrate, MIGRATIONS, readTableShapes, TELEMETRY_TABLES } from '../src/storage/migrations.ts';
import { TelemetryIngest } from '../src/otlp/ingest.ts';
import { applyRetention, oldestKept, parseTtl, readTelemetryRetention } from '../src/storage/retention.ts';
import { loadPolicies } from '../src/policies/load.ts';
import { openTelemetry } from '../src/runtime/service.ts';
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

async function engineFull(store: Store, table: string): Promise<string> {
  const [row] = await readRows<{ engine_full: string }>(store, {
    query: 'SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
    params: { t: table },
  });
  return row!.engine_full;
}

/** The project's policies with this retention.yaml instead of its own. */
function policiesWith(retentionYaml: string): string {
  const dir = tempDir('aiops-policies-');
  fs.cpSync('policies', dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'retention.yaml'), retentionYaml);
  return dir;
}

describe('retention', () => {
  const DAY = 86_400_000;

  it('reads the row TTL of a table, whatever the exporter wrote', () => {
    expect(
      parseTtl(
        'MergeTree PARTITION BY toDate(TimestampTime) ORDER BY (ServiceName) TTL TimestampTime + toIntervalDay(180) SETTINGS index_granularity = 8192',
      ),
    ).toEqual({ expression: 'TimestampTime', amount: 180, unit: 'day' });
    expect(parseTtl("ReplicatedMergeTree('/ch/{shard}', '{replica}') ORDER BY x TTL toDateTime(TimeUnix) + toIntervalHour(72)")).toEqual({
      expression: 'toDateTime(TimeUnix)',
      amount: 72,
      unit: 'hour',
    });
    // Moves and conditional deletes keep rows; of several delete rules the shortest counts.
    expect(
      parseTtl(
        "MergeTree ORDER BY x TTL toDate(t) + toIntervalDay(7) TO VOLUME 'cold', toDate(t) + toIntervalDay(30) DELETE, toDate(t) + toIntervalDay(1) DELETE WHERE level = 'debug' SETTINGS a = 1",
      ),
    ).toEqual({ expression: 'toDate(t)', amount: 30, unit: 'day' });
    expect(parseTtl('MergeTree ORDER BY x TTL t + INTERVAL 2 WEEK, t + INTERVAL 3 DAY')).toEqual({
      expression: 't',
      amount: 3,
      unit: 'day',
    });
    expect(parseTtl('MergeTree ORDER BY x SETTINGS index_granularity = 8192')).toBeUndefined();
  });

  it('knows where a whole-day TTL drops a record with the rest of its day', () => {
    const now = Date.UTC(2026, 10, 28, 10, 0, 0);
    expect(oldestKept({ expression: 'toDate(Timestamp)', amount: 180, unit: 'day' }, now)).toBe(Date.UTC(2026, 5, 2));
    expect(oldestKept({ expression: 'TimestampTime', amount: 180, unit: 'day' }, now)).toBe(now - 180 * DAY + 1000);
    expect(oldestKept({ expression: 'toDateTime(TimeUnix)', amount: 6, unit: 'month' }, now)).toBe(Date.UTC(2026, 4, 28, 10, 0, 1));
  });

  it('gives the embedded otel tables the TTL of retention.yaml on start, and ingest refuses what it would drop', async () => {
    const dataDir = tempDir();
    const opened = await openTelemetry(
      loadConfig({
        AIOPS_DATA_DIR: dataDir,
        AIOPS_POLICIES_DIR: policiesWith('telemetry:\n  days: 30\n  tables:\n    otel_logs: 7\nwide_events:\n  days: 10\n'),
      }),
    );
    store = opened.store;
    expect(await engineFull(store, 'otel_logs')).toContain('TTL TimestampTime + toIntervalDay(7)');
    expect(await engineFull(store, 'otel_traces')).toContain('TTL toDate(Timestamp) + toIntervalDay(30)');
    expect(await engineFull(store, 'otel_traces_trace_id_ts')).toContain('TTL toDate(Start) + toIntervalDay(30)');
    expect(await engineFull(store, 'otel_metrics_sum')).toContain('TTL toDateTime(TimeUnix) + toIntervalDay(30)');
    expect(await engineFull(store, 'aiops_wide_events')).toContain('+ toIntervalDay(10)');
    expect(await engineFull(store, 'aiops_ingest_keys')).toContain('TTL toDateTime(at) + toIntervalSecond(3600)');
    const out = await opened.ingest.logs(
      logsPayload({ 'service.name': 'api' }, [logRecord(Date.now() - 10 * DAY, 'ten days old'), logRecord(Date.now() - 6 * DAY, 'six')]),
      'shop',
    );
    expect(out).toMatchObject({
      accepted: 1,
      rejected: 1,
      notices: ['1 record older than the 7-day retention of otel_logs was not stored'],
    });
    await opened.ingest.close();
    await store.close();

    // A changed value is applied to the existing tables at the next start.
    const again = await openTelemetry(
      loadConfig({ AIOPS_DATA_DIR: dataDir, AIOPS_POLICIES_DIR: policiesWith('telemetry:\n  days: 14\n') }),
    );
    store = again.store;
    expect(await engineFull(store, 'otel_logs')).toContain('TTL TimestampTime + toIntervalDay(14)');
    expect(await engineFull(store, 'aiops_wide_events')).toContain('+ toIntervalDay(30)');
    expect(await readRows(store, { query: "SELECT Body FROM otel_logs WHERE ServiceName = 'api'" })).toEqual([{ Body: 'six' }]);
    await again.ingest.close();
  });

  it('leaves a ClickHouse server’s exporter tables their own TTL, and checks records against it', async () => {
    store = await openStore(loadConfig({ AIOPS_DATA_DIR: tempDir(), CLICKHOUSE_DATABASE: 'otel' }));
    // The exporter with `ttl: 72h` on its logs.
    for (const statement of exporterStatements()) {
      await command(store, statement.replace('TTL TimestampTime + toIntervalDay(180)', 'TTL TimestampTime + toIntervalHour(72)'));
    }
    await migrate(store);
    const server: Store = { ...store, kind: 'server' };
    const policy = loadPolicies('policies').retention;
    await applyRetention(server, {
      ...policy,
      telemetry: { ...policy.telemetry, days: 30 },
      wide_events: { ...policy.wide_events, days: 9 },
    });
    expect(await engineFull(store, 'otel_logs')).toContain('TTL TimestampTime + toIntervalHour(72)');
    expect(await engineFull(store, 'otel_traces')).toContain('toIntervalDay(180)');
    // The service's own table is its to change on a server too.
    expect(await engineFull(store, 'aiops_wide_events')).toContain('+ toIntervalDay(9)');

    const retention = await readTelemetryRetention(server);
    expect(retention.get('otel_logs')).toEqual({ expression: 'TimestampTime', amount: 72, unit: 'hour' });
    const ingest = new TelemetryIngest(server, await readTableShapes(server), 'k8s.namespace.name', { retention });
    const out = await ingest.logs(
      logsPayload({ 'service.name': 'api' }, [logRecord(Date.now() - 4 * DAY, 'four days'), logRecord(Date.now() - 2 * DAY, 'two days')]),
      'shop',
    );
    expect(out.accepted).toBe(1);
    expect(out.notices).toEqual(['1 record older than the 72-hour retention of otel_logs was not stored']);
  });
});
