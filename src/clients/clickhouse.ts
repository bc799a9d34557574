import path from 'node:path';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import type { Config } from '../config/env.ts';

/**
 * Telemetry and the service's own records. Reads and writes use separate
 * clients: with chDB every client is its own session, and settings such as
 * `readonly` stick to a session, so the reader can stay read-only for good.
 */
export interface Store {
  readonly kind: 'embedded' | 'server';
  readonly database: string;
  readonly reader: ClickHouseClient;
  readonly writer: ClickHouseClient;
  /** Clients for bulk inserts that may run side by side (chDB sessions run one statement at a time each). */
  readonly inserters: ClickHouseClient[];
  close(): Promise<void>;
}

export class StoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}

type StoreConfig = Pick<Config, 'CLICKHOUSE_URL' | 'CLICKHOUSE_USER' | 'CLICKHOUSE_PASSWORD' | 'CLICKHOUSE_DATABASE' | 'dataDir'>;

export async function openStore(cfg: StoreConfig): Promise<Store> {
  if (cfg.CLICKHOUSE_URL) {
    const make = () =>
      createClient({
        url: cfg.CLICKHOUSE_URL,
        username: cfg.CLICKHOUSE_USER,
        password: cfg.CLICKHOUSE_PASSWORD,
        database: cfg.CLICKHOUSE_DATABASE,
        request_timeout: 60_000,
        clickhouse_settings: { date_time_output_format: 'iso', output_format_json_quote_64bit_integers: 0 },
      });
    const reader = make();
    const writer = make();
    const ping = await reader.ping();
    if (!ping.success) {
      await Promise.allSettled([reader.close(), writer.close()]);
      throw new StoreUnavailable(`ClickHouse at ${redactUrl(cfg.CLICKHOUSE_URL)} is not reachable: ${ping.error.message}`);
    }
    return {
      kind: 'server',
      database: cfg.CLICKHOUSE_DATABASE,
      reader,
      writer,
      // The HTTP client keeps a socket pool, so one client already inserts in parallel.
      inserters: [writer, writer],
      close: async () => {
        await Promise.allSettled([reader.close(), writer.close()]);
      },
    };
  }
  return openEmbedded(path.join(cfg.dataDir, 'clickhouse'), cfg.CLICKHOUSE_DATABASE);
}

async function openEmbedded(folder: string, database: string): Promise<Store> {
  // chDB reads TZ when its library loads; the service works in UTC throughout.
  process.env.TZ = 'UTC';
  let mod: typeof import('chdb/connection');
  try {
    mod = await import('chdb/connection');
  } catch {
    throw new StoreUnavailable(
      'No ClickHouse is available: set CLICKHOUSE_URL to a ClickHouse server, or install the optional ' +
        '"chdb" package (npm install chdb) to use the embedded engine.',
    );
  }
  fs.mkdirSync(folder, { recursive: true });
  const connect = () => {
    try {
      return mod.createChdbConnection({ path: folder });
    } catch (err) {
      const msg = String((err as Error)?.cause ?? err);
      if (/lock|Another server instance/i.test(msg)) {
        throw new StoreUnavailable(
          `the embedded ClickHouse folder ${folder} is open in another process (is "aiops serve" running?). ` +
            'Only one process may open it; talk to the running service over HTTP instead.',
        );
      }
      throw new StoreUnavailable(`the embedded ClickHouse could not open ${folder}: ${msg}`);
    }
  };
  const settings: ClickHouseSettings = { date_time_output_format: 'iso', output_format_json_quote_64bit_integers: 0 };
  // chdb implements the client's Connection contract; the two packages ship their own copies of its types.
  type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];
  const session = () => createClient({ connection: connect() as unknown as ClientConnection, clickhouse_settings: settings });
  const writer = session();
  const reader = session();
  const bulk = session();
  const all = [writer, reader, bulk];
  if (database !== 'default') {
    // Each chDB session keeps its current database, like a server session would.
    await writer.command({ query: 'CREATE DATABASE IF NOT EXISTS {db:Identifier}', query_params: { db: database } });
    for (const c of all) await c.command({ query: `USE ${quoteIdent(database)}` });
  }
  return {
    kind: 'embedded',
    database,
    reader,
    writer,
    inserters: [writer, bulk],
    close: async () => {
      await Promise.allSettled(all.map((c) => c.close()));
    },
  };
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    u.username = '';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** Settings every read carries: read-only, bounded in time and size. */
const READ_SETTINGS: ClickHouseSettings = {
  readonly: '2',
  max_execution_time: 10,
  max_result_rows: '100000',
  result_overflow_mode: 'throw',
};

interface ReadQuery {
  query: string;
  params?: Record<string, unknown>;
  queryId?: string;
  settings?: ClickHouseSettings;
  signal?: AbortSignal;
}

export async function readRows<T>(store: Store, q: ReadQuery): Promise<T[]> {
  return (await readRowsWithStats<T>(store, q)).rows;
}

/** What the engine said about one query: rows and time from a server's X-ClickHouse-Summary; null where it keeps none (chDB). */
export interface QueryStats {
  readRows: number | null;
  serverMs: number | null;
}

export async function readRowsWithStats<T>(store: Store, q: ReadQuery): Promise<{ rows: T[]; stats: QueryStats }> {
  const rs = await store.reader.query({
    query: q.query,
    query_params: q.params,
    format: 'JSONEachRow',
    query_id: q.queryId,
    abort_signal: q.signal,
    clickhouse_settings: { ...READ_SETTINGS, ...q.settings },
  });
  const rows = await rs.json<T>();
  return { rows, stats: summaryStats(rs.response_headers['x-clickhouse-summary']) };
}

function summaryStats(header: string | string[] | undefined): QueryStats {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text) return { readRows: null, serverMs: null };
  try {
    const s = JSON.parse(text) as { read_rows?: string; elapsed_ns?: string };
    return {
      readRows: s.read_rows !== undefined ? Number(s.read_rows) : null,
      serverMs: s.elapsed_ns !== undefined ? Number(s.elapsed_ns) / 1e6 : null,
    };
  } catch {
    return { readRows: null, serverMs: null };
  }
}

/** A statement on the writer session (DDL, deletes). */
export async function command(store: Store, query: string, params?: Record<string, unknown>): Promise<void> {
  await store.writer.command({ query, query_params: params });
}

/** Rows as JSONCompactEachRow text: several times faster than letting the client serialise objects. */
export function compactRows(rows: readonly unknown[][]): string {
  let text = '';
  for (const r of rows) text += `${JSON.stringify(r)}\n`;
  return text;
}

/** One INSERT of rows already in JSONCompactEachRow text (one or more chunks). */
export async function insertText(client: ClickHouseClient, table: string, columns: readonly string[], chunks: string[]): Promise<void> {
  const res = await client.exec({
    query: `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FORMAT JSONCompactEachRow`,
    values: Readable.from(chunks),
    // Content-based deduplication would drop a legitimately repeated block (a re-seeded demo window, say).
    clickhouse_settings: { insert_deduplicate: 0 },
  });
  // Drain so an HTTP socket goes back to the pool.
  res.stream.resume();
  await new Promise<void>((resolve) => {
    res.stream.once('end', resolve);
    res.stream.once('close', resolve);
    res.stream.once('error', () => resolve());
  });
}

/** One INSERT of a few rows on the writer session (the service's own records). */
export async function insertCompact(store: Store, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
  if (rows.length === 0) return;
  await insertText(store.writer, table, columns, [compactRows(rows)]);
}

/** Identifiers come only from our own code; this guards against a typo becoming SQL. */
function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name)) throw new Error(`bad identifier: ${name}`);
  return `\`${name}\``;
}
