import type pg from 'pg';
import { readRows, type Store } from '../clients/clickhouse.ts';
import { migratePostgres } from '../clients/postgres.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { problems } from '../core/problem.ts';
import type { Logger } from '../observability/logger.ts';
import { GroupCommitWriter } from './group-commit.ts';

/** What one attempt at a request's write did: the tables it wrote, and the failure that stopped the rest. */
export interface AttemptResult {
  written: string[];
  error?: unknown;
}

/** A key this process holds: no other writer of the same key runs until `release`. */
interface HeldKey {
  /** Tables written under the key before (by this process or another). */
  readonly written: ReadonlySet<string>;
  /** Records the tables this attempt wrote, then lets the next writer of the key go. */
  release(written: string[]): Promise<void>;
}

/** Where request keys live beyond this process's memory. */
interface KeyBackend {
  hold(key: string): Promise<HeldKey>;
  close(): Promise<void>;
}

/**
 * Request keys recently written, by key and table, in memory. For the
 * ClickHouse backend it is the whole truth (one process owns the keys table,
 * and the keys of the window are loaded at start); with PostgreSQL it only
 * spares a round trip for duplicates this process has already seen.
 */
class RecentKeys {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  has(key: string, table: string): boolean {
    const id = `${key}\u0000${table}`;
    const at = this.seen.get(id);
    if (at === undefined) return false;
    if (Date.now() - at > this.windowMs) {
      this.seen.delete(id);
      return false;
    }
    return true;
  }

  add(key: string, table: string, at = Date.now()): void {
    const id = `${key}\u0000${table}`;
    // Re-inserting moves the key to the end, so the eviction below stays oldest-first.
    this.seen.delete(id);
    this.seen.set(id, at);
    if (this.seen.size > this.maxEntries) {
      let n = Math.ceil(this.maxEntries / 10);
      for (const k of this.seen.keys()) {
        if (n-- <= 0) break;
        this.seen.delete(k);
      }
    }
  }
}

/** An attempt at a key: the requests queued behind it answer with its failure, if it fails. */
interface Attempt {
  settled: boolean;
  failure?: { error: unknown };
}

const MAX_KEYS = 1_000_000;

/**
 * Exactly-once writing of OTLP requests by key (workspace, signal, body hash).
 *
 * The first request with a key claims it before writing; requests with the
 * same key that arrive meanwhile wait for that attempt and answer as it
 * did: written (so they write nothing) or failed (with the same error). A
 * failed attempt records the tables it did write and gives the key up, so a
 * later retry writes the rest. In one process a KeyedLock orders the
 * attempts; across replicas the PostgreSQL backend holds the key's row lock
 * for the length of the write, so another replica's attempt waits in
 * PostgreSQL, and a replica that dies mid-write releases it by disconnecting.
 */
export class IngestClaims {
  private readonly lock = new KeyedLock();
  /** The latest attempt registered per key (running, or waiting its turn). */
  private readonly attempts = new Map<string, Attempt>();
  private readonly known: RecentKeys;

  private constructor(
    private readonly backend: KeyBackend,
    windowMs: number,
    private readonly logger?: Logger,
  ) {
    this.known = new RecentKeys(windowMs, MAX_KEYS);
  }

  /** Keys in memory only: nothing survives the process (for direct use of TelemetryIngest). */
  static inMemory(windowMs = 3_600_000): IngestClaims {
    const backend: KeyBackend = {
      hold: async () => ({ written: new Set(), release: async () => undefined }),
      close: async () => undefined,
    };
    return new IngestClaims(backend, windowMs);
  }

  /**
   * Keys in the store's `aiops_ingest_keys` table. One process owns an
   * embedded store, so memory loaded with the window's keys answers every
   * lookup and the table is only written. On a ClickHouse server without
   * PostgreSQL this holds for one replica; several need PostgreSQL.
   */
  static async clickhouse(store: Store, windowMs: number, logger?: Logger): Promise<IngestClaims> {
    // Key rows of concurrent requests merge into one INSERT, like the telemetry rows.
    const writer = new GroupCommitWriter(store);
    const recording = new Set<Promise<void>>();
    const backend: KeyBackend = {
      hold: async (key) => ({
        written: new Set(),
        // Memory already answers for this process, so the row is written off the request's path
        // (a second INSERT after the telemetry's would add to every request's latency); close()
        // waits for the rows, so a restart finds them.
        release: async (written) => {
          if (!written.length) return;
          const row = writer
            .write(
              'aiops_ingest_keys',
              ['key', 'table_name'],
              written.map((t) => [key, t]),
            )
            .catch((err: unknown) => logger?.warn({ err: (err as Error).message }, 'an OTLP request key could not be recorded'))
            .finally(() => recording.delete(row));
          recording.add(row);
        },
      }),
      close: async () => {
        await Promise.all([...recording]);
      },
    };
    const claims = new IngestClaims(backend, windowMs, logger);
    // The server's clock dates the rows (the TTL runs on it), so ages come from it too.
    const rows = await readRows<{ key: string; table_name: string; age_ms: number }>(store, {
      query: `SELECT key, table_name, toInt64(dateDiff('millisecond', at, now64(3))) AS age_ms
              FROM aiops_ingest_keys WHERE at >= now64(3) - toIntervalMillisecond({window:Int64})
              ORDER BY at DESC LIMIT {max:UInt32}`,
      params: { window: windowMs, max: MAX_KEYS },
      settings: { max_result_rows: String(MAX_KEYS) },
    });
    const now = Date.now();
    for (let i = rows.length - 1; i >= 0; i--) {
      const r = rows[i]!;
      claims.known.add(r.key, r.table_name, now - Math.max(0, Number(r.age_ms)));
    }
    logger?.debug({ keys: rows.length }, 'OTLP request keys loaded');
    return claims;
  }

  /** Keys in PostgreSQL, shared by replicas: a unique row per key, locked while its write runs. */
  static async postgres(pool: pg.Pool, windowMs: number, logger?: Logger): Promise<IngestClaims> {
    const backend = await PostgresKeys.open(pool, windowMs, logger);
    return new IngestClaims(backend, windowMs, logger);
  }

  /**
   * Writes `tables` of the request `key` once: `write` gets the tables not
   * written yet and reports what it wrote. Resolves when every table is
   * written (now or before); rejects with the failure of the attempt this
   * request ran or waited for.
   */
  async once(key: string, tables: string[], write: (pending: string[]) => Promise<AttemptResult>): Promise<void> {
    if (tables.every((t) => this.known.has(key, t))) return;
    const latest = this.attempts.get(key);
    const ahead = latest && !latest.settled ? latest : undefined;
    const mine: Attempt = { settled: false };
    this.attempts.set(key, mine);
    const release = await this.lock.acquire(key, 'ingest');
    try {
      if (ahead?.failure) throw ahead.failure.error;
      if (tables.every((t) => this.known.has(key, t))) return;
      const held = await this.backend.hold(key);
      let result: AttemptResult;
      try {
        for (const t of held.written) this.known.add(key, t);
        const pending = tables.filter((t) => !this.known.has(key, t));
        result = pending.length ? await write(pending) : { written: [] };
      } catch (err) {
        result = { written: [], error: err };
      }
      for (const t of result.written) this.known.add(key, t);
      try {
        await held.release(result.written);
      } catch (err) {
        // The rows are in; only the record of it failed. Memory still answers for this process.
        this.logger?.warn({ err: (err as Error).message }, 'an OTLP request key could not be recorded');
      }
      if (result.error !== undefined) throw result.error;
    } catch (err) {
      mine.failure = { error: err };
      throw err;
    } finally {
      mine.settled = true;
      if (this.attempts.get(key) === mine) this.attempts.delete(key);
      release();
    }
  }

  close(): Promise<void> {
    return this.backend.close();
  }
}

/**
 * One row per key. Claiming is an upsert inside a transaction: it inserts the
 * key, or locks the existing row; a second claimer of the same key blocks in
 * PostgreSQL (on the uncommitted insert or the row lock) until the first
 * commits, then reads what it wrote. A row past the window counts as new.
 */
class PostgresKeys implements KeyBackend {
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly windowSeconds: number,
    private readonly logger?: Logger,
  ) {
    // Expired rows are ignored by the claim anyway; deleting them keeps the table small.
    this.timer = setInterval(() => void this.sweep(), Math.min(windowSeconds * 1000, 600_000));
    this.timer.unref();
  }

  static async open(pool: pg.Pool, windowMs: number, logger?: Logger): Promise<PostgresKeys> {
    await migratePostgres(pool, 'ingest-keys', [
      `CREATE TABLE IF NOT EXISTS aiops_ingest_keys (
        key text PRIMARY KEY,
        tables text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      'CREATE INDEX IF NOT EXISTS aiops_ingest_keys_created_at ON aiops_ingest_keys (created_at)',
    ]);
    const keys = new PostgresKeys(pool, Math.max(1, Math.ceil(windowMs / 1000)), logger);
    await keys.sweep();
    return keys;
  }

  async hold(key: string): Promise<HeldKey> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      // Writing without a claim could write twice: the collector retries a 503 instead.
      this.logger?.warn({ err: (err as Error).message }, 'PostgreSQL did not answer an OTLP request claim');
      throw problems.unavailable('postgres', 'the request could not be claimed (PostgreSQL did not answer); retry shortly');
    }
    try {
      await client.query('BEGIN');
      const res = await client.query<{ tables: string[] }>(
        `INSERT INTO aiops_ingest_keys AS k (key) VALUES ($1)
         ON CONFLICT (key) DO UPDATE SET
           tables = CASE WHEN k.created_at < now() - make_interval(secs => $2) THEN '{}'::text[] ELSE k.tables END,
           created_at = CASE WHEN k.created_at < now() - make_interval(secs => $2) THEN now() ELSE k.created_at END
         RETURNING tables`,
        [key, this.windowSeconds],
      );
      const written = new Set(res.rows[0]?.tables ?? []);
      return {
        written,
        release: async (now) => {
          try {
            if (now.length) {
              await client.query(
                'UPDATE aiops_ingest_keys SET tables = ARRAY(SELECT DISTINCT unnest(tables || $2::text[])) WHERE key = $1',
                [key, now],
              );
            }
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          } finally {
            client.release();
          }
        },
      };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw err;
    }
  }

  private async sweep(): Promise<void> {
    try {
      await this.pool.query('DELETE FROM aiops_ingest_keys WHERE created_at < now() - make_interval(secs => $1)', [this.windowSeconds]);
    } catch (err) {
      this.logger?.warn({ err: (err as Error).message }, 'expired OTLP request keys could not be deleted');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
