import type pg from 'pg';
import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';
import { migratePostgres } from '../clients/postgres.ts';

/** A stored briefing: its key columns and the whole document as JSON. */
export interface BriefingRow {
  workspace: string;
  id: string;
  name: string;
  period_start: number;
  period_end: number;
  created_at: number;
  quiet: boolean;
  incidents: number;
  summary: string;
  /** The briefing document (JSON). */
  body: string;
}

const COLUMNS = [
  'workspace',
  'id',
  'version',
  'name',
  'period_start',
  'period_end',
  'created_at',
  'quiet',
  'incidents',
  'summary',
  'body',
] as const;
const secs = (ms: number) => (ms / 1000).toFixed(3);

/** Briefings per workspace in ClickHouse (aiops_briefings): one row per id, the newest version wins. */
export class BriefingStore {
  private lastVersion = 0;

  constructor(private readonly store: Store) {}

  async put(row: BriefingRow): Promise<void> {
    // Versions only grow within a process, so a later write (delivery results) always replaces an earlier one.
    const version = Math.max(Date.now() * 1000, this.lastVersion + 1);
    this.lastVersion = version;
    await insertCompact(this.store, 'aiops_briefings', COLUMNS, [
      [
        row.workspace,
        row.id,
        version,
        row.name,
        secs(row.period_start),
        secs(row.period_end),
        secs(row.created_at),
        row.quiet ? 1 : 0,
        row.incidents,
        row.summary,
        row.body,
      ],
    ]);
  }

  private async select(where: string, params: Record<string, unknown>, limit: number, withBody: boolean): Promise<BriefingRow[]> {
    const rows = await readRows<Record<string, unknown>>(this.store, {
      query: `SELECT workspace, id, argMax(name, version) AS name,
                     toUnixTimestamp64Milli(argMax(period_start, version)) AS ps, toUnixTimestamp64Milli(argMax(period_end, version)) AS pe,
                     toUnixTimestamp64Milli(argMax(created_at, version)) AS ca, argMax(quiet, version) AS q, argMax(incidents, version) AS n,
                     argMax(summary, version) AS summary${withBody ? ', argMax(body, version) AS body' : ''}
              FROM aiops_briefings
              WHERE workspace = {workspace:String}
              GROUP BY workspace, id
              HAVING ${where}
              ORDER BY pe DESC, ca DESC
              LIMIT {limit:UInt32}`,
      params: { ...params, limit },
    });
    return rows.map((r) => ({
      workspace: String(r.workspace),
      id: String(r.id),
      name: String(r.name),
      period_start: Number(r.ps),
      period_end: Number(r.pe),
      created_at: Number(r.ca),
      quiet: Number(r.q) === 1,
      incidents: Number(r.n),
      summary: String(r.summary),
      body: withBody ? String(r.body) : '',
    }));
  }

  async get(workspace: string, id: string): Promise<BriefingRow | undefined> {
    return (await this.select('id = {id:String}', { workspace, id }, 1, true))[0];
  }

  async list(workspace: string, opts: { name?: string; limit: number }): Promise<BriefingRow[]> {
    return this.select("({name:String} = '' OR name = {name:String})", { workspace, name: opts.name ?? '' }, opts.limit, false);
  }

  /** The latest briefing of a schedule ending no later than `end`, other than `exceptId`. */
  async previous(workspace: string, name: string, end: number, exceptId: string): Promise<BriefingRow | undefined> {
    const rows = await this.select(
      'name = {name:String} AND pe <= {end:Int64} AND id != {except:String}',
      { workspace, name, end, except: exceptId },
      1,
      true,
    );
    return rows[0];
  }
}

/** Exactly one replica runs each schedule slot: the first to claim it. */
export interface SlotLease {
  claim(slot: string, owner: string): Promise<boolean>;
}

/**
 * Slots claimed in ClickHouse: every replica inserts its claim, stamped by the
 * server's clock, then reads the earliest; that owner runs the slot. A replica
 * that reads before a later one inserts still wins, since the later claim's
 * stamp is later.
 */
export class ClickHouseSlotLease implements SlotLease {
  constructor(private readonly store: Store) {}

  async claim(slot: string, owner: string): Promise<boolean> {
    await insertCompact(this.store, 'aiops_briefing_slots', ['slot', 'owner'], [[slot, owner]]);
    const rows = await readRows<{ owner: string }>(this.store, {
      query: 'SELECT owner FROM aiops_briefing_slots WHERE slot = {slot:String} ORDER BY at, owner LIMIT 1',
      params: { slot },
    });
    return rows[0]?.owner === owner;
  }
}

/** Slots claimed in PostgreSQL: a unique row per slot; the insert that lands owns it. */
export class PostgresSlotLease implements SlotLease {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(pool: pg.Pool): Promise<PostgresSlotLease> {
    await migratePostgres(pool, 'briefing-slots', [
      `CREATE TABLE IF NOT EXISTS aiops_briefing_slots (
        slot text PRIMARY KEY,
        owner text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`,
    ]);
    return new PostgresSlotLease(pool);
  }

  async claim(slot: string, owner: string): Promise<boolean> {
    const r = await this.pool.query('INSERT INTO aiops_briefing_slots (slot, owner) VALUES ($1, $2) ON CONFLICT (slot) DO NOTHING', [
      slot,
      owner,
    ]);
    return (r.rowCount ?? 0) === 1;
  }
}
