import type pg from 'pg';
import { migratePostgres } from '../clients/postgres.ts';
import { JsonFile } from './json-file.ts';

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

interface ThreadQuery {
  workspace: string;
  owner?: string;
  kind?: ThreadRecord['kind'];
  status?: ThreadRecord['status'];
  limit: number;
}

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

/** Threads in one JSON file in the data folder, rewritten atomically. */
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
          (!q.status || t.status === q.status),
      )
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
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
  private constructor(private readonly pool: pg.Pool) {}

  /** The index on the process's pool (which its owner closes), its tables created if missing. */
  static async open(pool: pg.Pool): Promise<PostgresThreadIndex> {
    await migratePostgres(pool, 'aiops_threads', [
      `CREATE TABLE IF NOT EXISTS aiops_threads (
      id text PRIMARY KEY, workspace text NOT NULL, owner text NOT NULL, title text NOT NULL,
      kind text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
      turns integer NOT NULL DEFAULT 0, last_path text, alert_key text)`,
      'CREATE INDEX IF NOT EXISTS aiops_threads_by_workspace ON aiops_threads (workspace, updated_at DESC)',
      'CREATE UNIQUE INDEX IF NOT EXISTS aiops_threads_by_alert ON aiops_threads (workspace, alert_key) WHERE alert_key IS NOT NULL',
      'ALTER TABLE aiops_threads ADD COLUMN IF NOT EXISTS meta jsonb',
      "CREATE INDEX IF NOT EXISTS aiops_threads_by_slack ON aiops_threads ((meta->'slack'->>'channel'), (meta->'slack'->>'ts')) WHERE meta ? 'slack'",
    ]);
    return new PostgresThreadIndex(pool);
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
    const r = await this.pool.query(
      `SELECT * FROM aiops_threads WHERE workspace = $1 AND ($2::text IS NULL OR owner = $2) AND ($3::text IS NULL OR kind = $3)
         AND ($4::text IS NULL OR status = $4) ORDER BY updated_at DESC LIMIT $5`,
      [q.workspace, q.owner ?? null, q.kind ?? null, q.status ?? null, q.limit],
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
