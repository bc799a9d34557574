import type pg from 'pg';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { migratePostgres } from '../clients/postgres.ts';
import { JsonFile } from './json-file.ts';
import { SQLITE_APPROVALS_DDL } from './approvals.ts';

/** A conversation: who owns it, where it belongs, what it is about. Its messages live in the checkpointer. */
export interface ThreadRecord {
  id: string;
  workspace: string;
  owner: string;
  title: string;
  kind: 'chat' | 'alert';
  status: 'open' | 'firing' | 'resolved';
  created_at: string;
  updated_at: string;
  turns: number;
  last_path: string | null;
  /** For alert threads: the Alertmanager group key. */
  alert_key: string | null;
  /** What the thread is bound to outside: its alert group's state, its Slack thread. */
  meta?: ThreadMeta;
}

/** One alert of a group as last notified. */
export interface AlertState {
  fingerprint: string;
  alertname: string;
  status: 'firing' | 'resolved';
  starts_at: string;
  ends_at?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ThreadMeta {
  alert?: {
    source: 'alertmanager' | 'api';
    receiver: string;
    group_labels: Record<string, string>;
    common_labels: Record<string, string>;
    common_annotations: Record<string, string>;
    external_url: string;
    alerts: AlertState[];
    /** Digest of the last notification (alerts and their statuses): the same again soon is a retry. */
    last_digest: string;
    last_notified_at: string;
    notifications: number;
    resolved_at?: string;
  };
  slack?: { channel: string; ts: string };
}

/** Where a page of threads starts: after this thread in the listing's order (newest change first, then id). */
export interface ThreadCursor {
  updated_at: string;
  id: string;
}

export interface ThreadQuery {
  workspace: string;
  owner?: string;
  kind?: ThreadRecord['kind'];
  status?: ThreadRecord['status'];
  limit: number;
  /** Threads after this one in the order (the next page). */
  after?: ThreadCursor;
}

/** The opaque `cursor` of GET /v1/threads: the last thread of a page. */
export function encodeCursor(t: ThreadCursor): string {
  return Buffer.from(JSON.stringify([t.updated_at, t.id])).toString('base64url');
}

/** A cursor back to where it points; undefined for text that is not one. */
export function decodeCursor(text: string): ThreadCursor | undefined {
  try {
    const v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') return undefined;
    if (Number.isNaN(Date.parse(v[0]))) return undefined;
    return { updated_at: new Date(v[0]).toISOString(), id: v[1] };
  } catch {
    return undefined;
  }
}

/** Whether `t` comes after the cursor in the listing's order. */
const isAfter = (t: ThreadCursor, c: ThreadCursor | undefined) =>
  !c || t.updated_at < c.updated_at || (t.updated_at === c.updated_at && t.id < c.id);

/** The list of threads; kept where the checkpoints are (a file, or PostgreSQL shared by replicas). */
export interface ThreadIndex {
  create(t: ThreadRecord): Promise<void>;
  get(id: string): Promise<ThreadRecord | undefined>;
  update(id: string, patch: Partial<Omit<ThreadRecord, 'id' | 'workspace' | 'owner' | 'created_at'>>): Promise<void>;
  list(q: ThreadQuery): Promise<ThreadRecord[]>;
  /** The thread of an alert group in a workspace. */
  byAlertKey(workspace: string, key: string): Promise<ThreadRecord | undefined>;
  /** The thread posted to a Slack thread. */
  bySlack(channel: string, ts: string): Promise<ThreadRecord | undefined>;
  close(): Promise<void>;
}

/**
 * Threads in one JSON file in the data folder, rewritten atomically: the embedded store before the
 * SQLite database, kept as the source its threads are imported from (src/storage/conversation-db.ts).
 */
export class FileThreadIndex implements ThreadIndex {
  private readonly threads = new Map<string, ThreadRecord>();
  private readonly doc: JsonFile<ThreadRecord[]>;

  constructor(file: string) {
    this.doc = new JsonFile(file);
    for (const t of this.doc.read() ?? []) this.threads.set(t.id, t);
  }

  async create(t: ThreadRecord) {
    if (this.threads.has(t.id)) throw new Error(`thread ${t.id} exists`);
    if (t.alert_key !== null && [...this.threads.values()].some((x) => x.workspace === t.workspace && x.alert_key === t.alert_key)) {
      throw new DuplicateAlertThread(t.workspace, t.alert_key);
    }
    this.threads.set(t.id, structuredClone(t));
    await this.save();
  }
  async get(id: string) {
    const t = this.threads.get(id);
    return t ? structuredClone(t) : undefined;
  }
  async update(id: string, patch: Partial<ThreadRecord>) {
    const t = this.threads.get(id);
    if (!t) return;
    Object.assign(t, structuredClone(patch));
    await this.save();
  }
  async byAlertKey(workspace: string, key: string) {
    const t = [...this.threads.values()].find((x) => x.workspace === workspace && x.alert_key === key);
    return t ? structuredClone(t) : undefined;
  }
  async bySlack(channel: string, ts: string) {
    const t = [...this.threads.values()].find((x) => x.meta?.slack?.channel === channel && x.meta.slack.ts === ts);
    return t ? structuredClone(t) : undefined;
  }
  async list(q: ThreadQuery) {
    return [...this.threads.values()]
      .filter(
        (t) =>
          t.workspace === q.workspace &&
          (!q.owner || t.owner === q.owner) &&
          (!q.kind || t.kind === q.kind) &&
          (!q.status || t.status === q.status) &&
          isAfter(t, q.after),
      )
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at) || b.id.localeCompare(a.id))
      .slice(0, q.limit)
      .map((t) => structuredClone(t));
  }
  async close() {
    await this.doc.flushed();
  }
  private save(): Promise<void> {
    return this.doc.save(() => [...this.threads.values()]);
  }
}

/** A second thread for the same alert group: the first one stands. */
export class DuplicateAlertThread extends Error {
  constructor(workspace: string, key: string) {
    super(`workspace ${workspace} already has a thread for alert group ${key}`);
  }
}

/** Threads in PostgreSQL, beside the checkpoints, shared by every replica. */
export class PostgresThreadIndex implements ThreadIndex {
  private constructor(
    private readonly pool: pg.Pool,
    private readonly keep?: ThreadKeep,
  ) {}

  /** The index on the process's pool (which its owner closes), its tables created if missing. */
  static async open(pool: pg.Pool, keep?: ThreadKeep): Promise<PostgresThreadIndex> {
    await migratePostgres(pool, 'aiops_threads', [
      `CREATE TABLE IF NOT EXISTS aiops_threads (
      id text PRIMARY KEY, workspace text NOT NULL, owner text NOT NULL, title text NOT NULL,
      kind text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      turns integer NOT NULL DEFAULT 0, last_path text, alert_key text)`,
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_workspace ON aiops_threads (workspace, updated_at DESC)',
      'CREATE UNIQUE INDEX IF NOT EXISTS aiops_threads_by_alert ON aiops_threads (workspace, alert_key) WHERE alert_key IS NOT NULL',
      'ALTER TABLE aiops_threads ADD COLUMN IF NOT EXISTS meta jsonb',
      "CREATE INDEX IF NOT EXISTS aiops_threads_by_slack ON aiops_threads ((meta->'slack'->>'channel'), (meta->'slack'->>'ts')) WHERE meta ? 'slack'",
      // Listing by last change with a cursor, per filter; and the retention sweep by age.
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_workspace_id ON aiops_threads (workspace, updated_at DESC, id DESC)',
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_owner ON aiops_threads (workspace, owner, updated_at DESC, id DESC)',
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_kind ON aiops_threads (workspace, kind, updated_at DESC, id DESC)',
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_status ON aiops_threads (workspace, status, updated_at DESC, id DESC)',
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_age ON aiops_threads (updated_at)',
    ]);
    return new PostgresThreadIndex(pool, keep);
  }

  async create(t: ThreadRecord) {
    try {
      await this.pool.query(
        `INSERT INTO aiops_threads (id, workspace, owner, title, kind, status, created_at, updated_at, turns, last_path, alert_key, meta)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          t.id,
          t.workspace,
          t.owner,
          t.title,
          t.kind,
          t.status,
          t.created_at,
          t.updated_at,
          t.turns,
          t.last_path,
          t.alert_key,
          t.meta ? JSON.stringify(t.meta) : null,
        ],
      );
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && t.alert_key !== null) throw new DuplicateAlertThread(t.workspace, t.alert_key);
      throw err;
    }
  }
  async byAlertKey(workspace: string, key: string) {
    const r = await this.pool.query('SELECT * FROM aiops_threads WHERE workspace = $1 AND alert_key = $2', [workspace, key]);
    return r.rows[0] ? row(r.rows[0]) : undefined;
  }
  async bySlack(channel: string, ts: string) {
    const r = await this.pool.query(
      "SELECT * FROM aiops_threads WHERE meta ? 'slack' AND meta->'slack'->>'channel' = $1 AND meta->'slack'->>'ts' = $2",
      [channel, ts],
    );
    return r.rows[0] ? row(r.rows[0]) : undefined;
  }
  async get(id: string) {
    const r = await this.pool.query('SELECT * FROM aiops_threads WHERE id = $1', [id]);
    return r.rows[0] ? row(r.rows[0]) : undefined;
  }
  async update(id: string, patch: Partial<ThreadRecord>) {
    const keys = Object.keys(patch).filter((k) =>
      ['title', 'kind', 'status', 'updated_at', 'turns', 'last_path', 'alert_key', 'meta'].includes(k),
    );
    if (!keys.length) return;
    const value = (k: string) => (k === 'meta' ? JSON.stringify(patch.meta ?? null) : patch[k as keyof ThreadRecord]);
    await this.pool.query(`UPDATE aiops_threads SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')} WHERE id = $1`, [
      id,
      ...keys.map(value),
    ]);
  }
  async list(q: ThreadQuery) {
    const since = keptSince(this.keep, Date.now());
    const r = await this.pool.query(
      `SELECT * FROM aiops_threads WHERE workspace = $1 AND ($2::text IS NULL OR owner = $2) AND ($3::text IS NULL OR kind = $3)
         AND ($4::text IS NULL OR status = $4) AND ($6::timestamptz IS NULL OR (updated_at, id) < ($6::timestamptz, $7::text))
         AND (updated_at >= CASE WHEN kind = 'alert' THEN $8::timestamptz ELSE $9::timestamptz END
           OR EXISTS (SELECT 1 FROM aiops_approvals a WHERE a.thread_id = aiops_threads.id AND a.status = 'pending'))
         ORDER BY updated_at DESC, id DESC LIMIT $5`,
      [
        q.workspace,
        q.owner ?? null,
        q.kind ?? null,
        q.status ?? null,
        q.limit,
        q.after?.updated_at ?? null,
        q.after?.id ?? null,
        since.alert,
        since.chat,
      ],
    );
    return r.rows.map(row);
  }
  /** The pool belongs to whoever opened it. */
  async close() {}
}

function row(r: Record<string, unknown>): ThreadRecord {
  return {
    id: String(r.id),
    workspace: String(r.workspace),
    owner: String(r.owner),
    title: String(r.title),
    kind: r.kind as ThreadRecord['kind'],
    status: r.status as ThreadRecord['status'],
    created_at: new Date(r.created_at as string).toISOString(),
    updated_at: new Date(r.updated_at as string).toISOString(),
    turns: Number(r.turns),
    last_path: (r.last_path as string | null) ?? null,
    alert_key: (r.alert_key as string | null) ?? null,
    ...(r.meta ? { meta: r.meta as ThreadMeta } : {}),
  };
}

/** How long threads are kept after their last change (retention.yaml `conversations`), in ms. */
export interface ThreadKeep {
  chatMs: number;
  alertMs: number;
}

/** The oldest last change a kept thread of each kind may have at `now`. */
export const keptSince = (keep: ThreadKeep | undefined, now: number) => ({
  chat: new Date(keep ? now - keep.chatMs : 0).toISOString(),
  alert: new Date(keep ? now - keep.alertMs : 0).toISOString(),
});

/**
 * Threads in the embedded SQLite database (WAL), beside the checkpoints and approvals: each change
 * is one statement, listings use an index per filter (workspace with owner, kind or status, by last
 * change) and page by cursor. Expired threads (retention) are left out of listings until the
 * background sweep removes them; one with a pending approval stays.
 */
export class SqliteThreadIndex implements ThreadIndex {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly keep?: ThreadKeep,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS threads (
      id TEXT PRIMARY KEY, workspace TEXT NOT NULL, owner TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,
      status TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, turns INTEGER NOT NULL DEFAULT 0,
      last_path TEXT, alert_key TEXT, slack_channel TEXT, slack_ts TEXT, meta TEXT);
    CREATE INDEX IF NOT EXISTS threads_by_workspace ON threads (workspace, updated_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS threads_by_owner ON threads (workspace, owner, updated_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS threads_by_kind ON threads (workspace, kind, updated_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS threads_by_status ON threads (workspace, status, updated_at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS threads_by_age ON threads (updated_at);
    CREATE UNIQUE INDEX IF NOT EXISTS threads_by_alert ON threads (workspace, alert_key) WHERE alert_key IS NOT NULL;
    CREATE INDEX IF NOT EXISTS threads_by_slack ON threads (slack_channel, slack_ts) WHERE slack_channel IS NOT NULL;
    ${SQLITE_APPROVALS_DDL}`);
  }

  async create(t: ThreadRecord) {
    try {
      this.db
        .prepare(
          `INSERT INTO threads (id, workspace, owner, title, kind, status, created_at, updated_at, turns, last_path, alert_key, slack_channel, slack_ts, meta)
           VALUES (@id, @workspace, @owner, @title, @kind, @status, @created_at, @updated_at, @turns, @last_path, @alert_key, @slack_channel, @slack_ts, @meta)`,
        )
        .run(sqliteRow(t));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && t.alert_key !== null)
        throw new DuplicateAlertThread(t.workspace, t.alert_key);
      throw err;
    }
  }
  async get(id: string) {
    return fromSqlite(this.db.prepare('SELECT * FROM threads WHERE id = ?').get(id));
  }
  async update(id: string, patch: Partial<ThreadRecord>) {
    this.db.transaction(() => {
      const current = fromSqlite(this.db.prepare('SELECT * FROM threads WHERE id = ?').get(id));
      if (!current) return;
      const next = sqliteRow({ ...current, ...structuredClone(patch), id: current.id });
      this.db
        .prepare(
          `UPDATE threads SET title = @title, kind = @kind, status = @status, updated_at = @updated_at, turns = @turns, last_path = @last_path,
             alert_key = @alert_key, slack_channel = @slack_channel, slack_ts = @slack_ts, meta = @meta WHERE id = @id`,
        )
        .run(next);
    })();
  }
  async byAlertKey(workspace: string, key: string) {
    return fromSqlite(this.db.prepare('SELECT * FROM threads WHERE workspace = ? AND alert_key = ?').get(workspace, key));
  }
  async bySlack(channel: string, ts: string) {
    return fromSqlite(this.db.prepare('SELECT * FROM threads WHERE slack_channel = ? AND slack_ts = ?').get(channel, ts));
  }
  async list(q: ThreadQuery) {
    const since = keptSince(this.keep, Date.now());
    const where = ['workspace = @workspace'];
    if (q.owner) where.push('owner = @owner');
    if (q.kind) where.push('kind = @kind');
    if (q.status) where.push('status = @status');
    if (q.after) where.push('(updated_at < @after_at OR (updated_at = @after_at AND id < @after_id))');
    where.push(
      `(updated_at >= CASE kind WHEN 'alert' THEN @alert_since ELSE @chat_since END
        OR EXISTS (SELECT 1 FROM approvals a WHERE a.thread_id = threads.id AND a.status = 'pending'))`,
    );
    const rows = this.db.prepare(`SELECT * FROM threads WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id DESC LIMIT @limit`).all({
      workspace: q.workspace,
      owner: q.owner ?? null,
      kind: q.kind ?? null,
      status: q.status ?? null,
      after_at: q.after?.updated_at ?? null,
      after_id: q.after?.id ?? null,
      alert_since: since.alert,
      chat_since: since.chat,
      limit: q.limit,
    });
    return rows.map((r) => fromSqlite(r)!);
  }
  /** The database belongs to whoever opened it. */
  async close() {}
}

function sqliteRow(t: ThreadRecord) {
  return {
    id: t.id,
    workspace: t.workspace,
    owner: t.owner,
    title: t.title,
    kind: t.kind,
    status: t.status,
    created_at: t.created_at,
    updated_at: t.updated_at,
    turns: t.turns,
    last_path: t.last_path,
    alert_key: t.alert_key,
    slack_channel: t.meta?.slack?.channel ?? null,
    slack_ts: t.meta?.slack?.ts ?? null,
    meta: t.meta ? JSON.stringify(t.meta) : null,
  };
}

function fromSqlite(r: unknown): ThreadRecord | undefined {
  if (!r) return undefined;
  const x = r as ReturnType<typeof sqliteRow>;
  return {
    id: x.id,
    workspace: x.workspace,
    owner: x.owner,
    title: x.title,
    kind: x.kind,
    status: x.status,
    created_at: x.created_at,
    updated_at: x.updated_at,
    turns: Number(x.turns),
    last_path: x.last_path,
    alert_key: x.alert_key,
    ...(x.meta ? { meta: JSON.parse(x.meta) as ThreadMeta } : {}),
  };
}
