import type pg from 'pg';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { migratePostgres } from '../clients/postgres.ts';
import { JsonFile } from './json-file.ts';
import type { ApprovalRecord, ApprovalStatus } from '../core/proposal.ts';

/** A second pending proposal of the same workspace, action and target: the store holds one at a time. */
export class PendingExists extends Error {}

/** What a proposal acts on: the deployment its parameters name. */
export const targetOf = (r: Pick<ApprovalRecord, 'params'>) => String(r.params.service ?? '');

/** Where approvals live, beside the conversations; status changes are compare-and-set, so one decision wins. */
export interface ApprovalStore {
  /** Records a proposal; PendingExists when one of its workspace, action and target is pending already. */
  create(r: ApprovalRecord): Promise<void>;
  /** The pending proposal of a workspace's action on a target, if any. */
  pending(workspace: string, action: string, target: string): Promise<ApprovalRecord | undefined>;
  get(id: string): Promise<ApprovalRecord | undefined>;
  byThread(threadId: string): Promise<ApprovalRecord[]>;
  byStatus(statuses: ApprovalStatus[]): Promise<ApprovalRecord[]>;
  /** Applies `patch` only if the status is one of `from`; the updated record, or undefined when it was not. */
  transition(id: string, from: ApprovalStatus[], patch: Partial<ApprovalRecord>): Promise<ApprovalRecord | undefined>;
  /** Claims one verification that is due (scheduled, at or before `now`), marking it running. */
  claimVerification(now: Date): Promise<ApprovalRecord | undefined>;
  update(id: string, patch: Partial<ApprovalRecord>): Promise<void>;
  close(): Promise<void>;
}

/**
 * Approvals in one JSON file in the data folder (one process), rewritten atomically: the embedded
 * store before the SQLite database, kept as the source its approvals are imported from.
 */
export class FileApprovalStore implements ApprovalStore {
  private readonly records = new Map<string, ApprovalRecord>();
  private readonly doc: JsonFile<ApprovalRecord[]>;

  constructor(file: string) {
    this.doc = new JsonFile(file);
    for (const r of this.doc.read() ?? []) this.records.set(r.approval_id, r);
  }

  async create(r: ApprovalRecord) {
    if (this.records.has(r.approval_id)) throw new Error(`approval ${r.approval_id} exists`);
    // Check and insert without an await between them: one pending proposal per workspace, action and target.
    if (r.status === 'pending' && this.find(r.workspace, r.action, targetOf(r)))
      throw new PendingExists(`a ${r.action} of ${targetOf(r)} is pending in ${r.workspace}`);
    this.records.set(r.approval_id, structuredClone(r));
    await this.save();
  }
  async pending(workspace: string, action: string, target: string) {
    const r = this.find(workspace, action, target);
    return r ? structuredClone(r) : undefined;
  }
  private find(workspace: string, action: string, target: string) {
    return [...this.records.values()].find(
      (r) => r.status === 'pending' && r.workspace === workspace && r.action === action && targetOf(r) === target,
    );
  }
  async get(id: string) {
    const r = this.records.get(id);
    return r ? structuredClone(r) : undefined;
  }
  async byThread(threadId: string) {
    return [...this.records.values()]
      .filter((r) => r.thread_id === threadId)
      .sort((a, b) => a.created_at.localeCompare(b.created_at))
      .map((r) => structuredClone(r));
  }
  async byStatus(statuses: ApprovalStatus[]) {
    return [...this.records.values()].filter((r) => statuses.includes(r.status)).map((r) => structuredClone(r));
  }
  async transition(id: string, from: ApprovalStatus[], patch: Partial<ApprovalRecord>) {
    // Check and set without an await between them: one decision wins.
    const r = this.records.get(id);
    if (!r || !from.includes(r.status)) return undefined;
    Object.assign(r, patch);
    const out = structuredClone(r);
    await this.save();
    return out;
  }
  async claimVerification(now: Date) {
    const due = [...this.records.values()].find(
      (r) => r.verification?.state === 'scheduled' && Date.parse(r.verification.at) <= now.getTime(),
    );
    if (!due) return undefined;
    due.verification = { ...due.verification!, state: 'running' };
    const out = structuredClone(due);
    await this.save();
    return out;
  }
  async update(id: string, patch: Partial<ApprovalRecord>) {
    const r = this.records.get(id);
    if (!r) return;
    Object.assign(r, patch);
    await this.save();
  }
  async close() {
    await this.doc.flushed();
  }
  private save(): Promise<void> {
    return this.doc.save(() => [...this.records.values()]);
  }
}

/** Approvals in PostgreSQL, shared by replicas: a decision is one conditional UPDATE. */
export class PostgresApprovalStore implements ApprovalStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** The store on the process's pool (which its owner closes), its table created if missing. */
  static async open(pool: pg.Pool): Promise<PostgresApprovalStore> {
    await migratePostgres(pool, 'aiops_approvals', [
      `CREATE TABLE IF NOT EXISTS aiops_approvals (
      approval_id text PRIMARY KEY, thread_id text NOT NULL, workspace text NOT NULL, status text NOT NULL,
      created_at timestamptz NOT NULL, verify_at timestamptz, verify_state text, record jsonb NOT NULL)`,
      'CREATE INDEX IF NOT EXISTS aiops_approvals_by_thread ON aiops_approvals (thread_id, created_at)',
      'CREATE INDEX IF NOT EXISTS aiops_approvals_by_status ON aiops_approvals (status)',
      "CREATE INDEX IF NOT EXISTS aiops_approvals_due ON aiops_approvals (verify_at) WHERE verify_state = 'scheduled'",
      // One pending proposal per workspace, action and target: older duplicates (from before this rule) expire, the newest stays.
      `UPDATE aiops_approvals a SET status = 'expired', record = a.record || '{"status":"expired"}'::jsonb
       WHERE a.status = 'pending' AND EXISTS (SELECT 1 FROM aiops_approvals b WHERE b.status = 'pending' AND b.workspace = a.workspace
         AND b.record->>'action' = a.record->>'action' AND b.record->'params'->>'service' IS NOT DISTINCT FROM a.record->'params'->>'service'
         AND (b.created_at, b.approval_id) > (a.created_at, a.approval_id))`,
      `CREATE UNIQUE INDEX IF NOT EXISTS aiops_approvals_one_pending ON aiops_approvals
       (workspace, (record->>'action'), (COALESCE(record->'params'->>'service', ''))) WHERE status = 'pending'`,
      // A thread waiting for a decision outlives its retention (listings and the sweep ask).
      "CREATE INDEX IF NOT EXISTS aiops_approvals_pending_by_thread ON aiops_approvals (thread_id) WHERE status = 'pending'",
    ]);
    return new PostgresApprovalStore(pool);
  }

  async create(r: ApprovalRecord) {
    try {
      await this.insert(r);
    } catch (err) {
      if ((err as { code?: string }).code === '23505' && (err as { constraint?: string }).constraint === 'aiops_approvals_one_pending')
        throw new PendingExists(`a ${r.action} of ${targetOf(r)} is pending in ${r.workspace}`);
      throw err;
    }
  }
  async pending(workspace: string, action: string, target: string) {
    const res = await this.pool.query(
      `SELECT record FROM aiops_approvals WHERE status = 'pending' AND workspace = $1 AND record->>'action' = $2
         AND COALESCE(record->'params'->>'service', '') = $3`,
      [workspace, action, target],
    );
    return res.rows[0]?.record as ApprovalRecord | undefined;
  }
  private async insert(r: ApprovalRecord) {
    await this.pool.query(
      'INSERT INTO aiops_approvals (approval_id, thread_id, workspace, status, created_at, verify_at, verify_state, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        r.approval_id,
        r.thread_id,
        r.workspace,
        r.status,
        r.created_at,
        r.verification?.at ?? null,
        r.verification?.state ?? null,
        JSON.stringify(r),
      ],
    );
  }
  async get(id: string) {
    const res = await this.pool.query('SELECT record FROM aiops_approvals WHERE approval_id = $1', [id]);
    return res.rows[0]?.record as ApprovalRecord | undefined;
  }
  async byThread(threadId: string) {
    const res = await this.pool.query('SELECT record FROM aiops_approvals WHERE thread_id = $1 ORDER BY created_at', [threadId]);
    return res.rows.map((r) => r.record as ApprovalRecord);
  }
  async byStatus(statuses: ApprovalStatus[]) {
    const res = await this.pool.query('SELECT record FROM aiops_approvals WHERE status = ANY($1)', [statuses]);
    return res.rows.map((r) => r.record as ApprovalRecord);
  }
  async transition(id: string, from: ApprovalStatus[], patch: Partial<ApprovalRecord>) {
    const res = await this.pool.query(
      `UPDATE aiops_approvals SET record = record || $3::jsonb, status = COALESCE($3::jsonb->>'status', status),
         verify_at = COALESCE(($3::jsonb->'verification'->>'at')::timestamptz, verify_at), verify_state = COALESCE($3::jsonb->'verification'->>'state', verify_state)
       WHERE approval_id = $1 AND status = ANY($2) RETURNING record`,
      [id, from, JSON.stringify(patch)],
    );
    return res.rows[0]?.record as ApprovalRecord | undefined;
  }
  async claimVerification(now: Date) {
    const res = await this.pool.query(
      `UPDATE aiops_approvals SET verify_state = 'running', record = jsonb_set(record, '{verification,state}', '"running"')
       WHERE approval_id = (SELECT approval_id FROM aiops_approvals WHERE verify_state = 'scheduled' AND verify_at <= $1 ORDER BY verify_at LIMIT 1 FOR UPDATE SKIP LOCKED)
       RETURNING record`,
      [now.toISOString()],
    );
    return res.rows[0]?.record as ApprovalRecord | undefined;
  }
  async update(id: string, patch: Partial<ApprovalRecord>) {
    await this.pool.query(
      `UPDATE aiops_approvals SET record = record || $2::jsonb, status = COALESCE($2::jsonb->>'status', status),
         verify_state = COALESCE($2::jsonb->'verification'->>'state', verify_state) WHERE approval_id = $1`,
      [id, JSON.stringify(patch)],
    );
  }
  /** The pool belongs to whoever opened it. */
  async close() {}
}

/** The approvals table of the embedded database (the thread index's listing reads it too). */
export const SQLITE_APPROVALS_DDL = `CREATE TABLE IF NOT EXISTS approvals (
      approval_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL, workspace TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
      status TEXT NOT NULL, created_at TEXT NOT NULL, verify_at TEXT, verify_state TEXT, record TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS approvals_by_thread ON approvals (thread_id, created_at);
    CREATE INDEX IF NOT EXISTS approvals_by_status ON approvals (status);
    CREATE INDEX IF NOT EXISTS approvals_due ON approvals (verify_at) WHERE verify_state = 'scheduled';
    CREATE UNIQUE INDEX IF NOT EXISTS approvals_one_pending ON approvals (workspace, action, target) WHERE status = 'pending';
    CREATE INDEX IF NOT EXISTS approvals_pending_by_thread ON approvals (thread_id) WHERE status = 'pending';`;

/** Approvals in the embedded SQLite database, beside the threads: each change a transaction, one decision wins. */
export class SqliteApprovalStore implements ApprovalStore {
  constructor(private readonly db: SqliteDatabase) {
    db.exec(SQLITE_APPROVALS_DDL);
  }

  async create(r: ApprovalRecord) {
    try {
      this.db
        .prepare(
          `INSERT INTO approvals (approval_id, thread_id, workspace, action, target, status, created_at, verify_at, verify_state, record)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          r.approval_id,
          r.thread_id,
          r.workspace,
          r.action,
          targetOf(r),
          r.status,
          r.created_at,
          r.verification?.at ?? null,
          r.verification?.state ?? null,
          JSON.stringify(r),
        );
    } catch (err) {
      const message = String((err as Error).message);
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && message.includes('approvals.workspace'))
        throw new PendingExists(`a ${r.action} of ${targetOf(r)} is pending in ${r.workspace}`);
      throw err;
    }
  }
  async pending(workspace: string, action: string, target: string) {
    return record(
      this.db
        .prepare("SELECT record FROM approvals WHERE status = 'pending' AND workspace = ? AND action = ? AND target = ?")
        .get(workspace, action, target),
    );
  }
  async get(id: string) {
    return record(this.db.prepare('SELECT record FROM approvals WHERE approval_id = ?').get(id));
  }
  async byThread(threadId: string) {
    return this.db
      .prepare('SELECT record FROM approvals WHERE thread_id = ? ORDER BY created_at')
      .all(threadId)
      .map((r) => record(r)!);
  }
  async byStatus(statuses: ApprovalStatus[]) {
    if (!statuses.length) return [];
    return this.db
      .prepare(`SELECT record FROM approvals WHERE status IN (${statuses.map(() => '?').join(', ')})`)
      .all(...statuses)
      .map((r) => record(r)!);
  }
  async transition(id: string, from: ApprovalStatus[], patch: Partial<ApprovalRecord>) {
    return this.db.transaction(() => {
      const r = record(this.db.prepare('SELECT record FROM approvals WHERE approval_id = ?').get(id));
      if (!r || !from.includes(r.status)) return undefined;
      return this.write({ ...r, ...patch });
    })();
  }
  async claimVerification(now: Date) {
    return this.db.transaction(() => {
      const r = record(
        this.db
          .prepare("SELECT record FROM approvals WHERE verify_state = 'scheduled' AND verify_at <= ? ORDER BY verify_at LIMIT 1")
          .get(now.toISOString()),
      );
      if (!r) return undefined;
      return this.write({ ...r, verification: { ...r.verification!, state: 'running' } });
    })();
  }
  async update(id: string, patch: Partial<ApprovalRecord>) {
    this.db.transaction(() => {
      const r = record(this.db.prepare('SELECT record FROM approvals WHERE approval_id = ?').get(id));
      if (r) this.write({ ...r, ...patch });
    })();
  }
  /** The database belongs to whoever opened it. */
  async close() {}

  private write(r: ApprovalRecord): ApprovalRecord {
    this.db
      .prepare('UPDATE approvals SET status = ?, verify_at = ?, verify_state = ?, record = ? WHERE approval_id = ?')
      .run(r.status, r.verification?.at ?? null, r.verification?.state ?? null, JSON.stringify(r), r.approval_id);
    return r;
  }
}

const record = (row: unknown) => (row ? (JSON.parse((row as { record: string }).record) as ApprovalRecord) : undefined);
