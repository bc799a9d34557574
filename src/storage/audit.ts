import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';

type AuditKind = 'proposal' | 'dropped' | 'decision' | 'request' | 'result' | 'verification' | 'expired';

interface AuditEntry {
  at: string;
  workspace: string;
  kind: AuditKind;
  approval_id: string;
  thread_id: string;
  /** Who: a person's subject, or `agent:<name>` for a proposal. */
  actor: string;
  action: string;
  params: Record<string, unknown>;
  status: string;
  control_plane_status: number;
  detail: string;
  tracking_id: string;
}

const COLUMNS = [
  'at',
  'workspace',
  'kind',
  'approval_id',
  'thread_id',
  'actor',
  'action',
  'params',
  'status',
  'control_plane_status',
  'detail',
  'tracking_id',
] as const;

export interface AuditQuery {
  workspace: string;
  thread_id?: string;
  approval_id?: string;
  kind?: AuditKind;
  since?: number;
  limit: number;
}

/** The audit trail in ClickHouse: append-only, one row per event, read per workspace. */
export class AuditLog {
  constructor(private readonly store: Store) {}

  async record(
    e: Omit<AuditEntry, 'at' | 'control_plane_status' | 'detail' | 'params' | 'status'> &
      Partial<Pick<AuditEntry, 'control_plane_status' | 'detail' | 'params' | 'status'>>,
  ): Promise<void> {
    await insertCompact(this.store, 'aiops_audit', COLUMNS, [
      [
        (Date.now() / 1000).toFixed(3),
        e.workspace,
        e.kind,
        e.approval_id,
        e.thread_id,
        e.actor,
        e.action,
        JSON.stringify(e.params ?? {}),
        e.status ?? '',
        e.control_plane_status ?? 0,
        (e.detail ?? '').slice(0, 2000),
        e.tracking_id,
      ],
    ]);
  }

  async list(q: AuditQuery): Promise<AuditEntry[]> {
    const rows = await readRows<Record<string, unknown>>(this.store, {
      query: `SELECT toUnixTimestamp64Milli(at) AS at_ms, workspace, kind, approval_id, thread_id, actor, action, params, status, control_plane_status, detail, tracking_id
        FROM aiops_audit
        WHERE workspace = {workspace:String}
          AND ({thread_id:String} = '' OR thread_id = {thread_id:String})
          AND ({approval_id:String} = '' OR approval_id = {approval_id:String})
          AND ({kind:String} = '' OR kind = {kind:String})
          AND at >= fromUnixTimestamp64Milli({since:Int64})
        ORDER BY at DESC, kind DESC
        LIMIT {limit:UInt32}`,
      params: {
        workspace: q.workspace,
        thread_id: q.thread_id ?? '',
        approval_id: q.approval_id ?? '',
        kind: q.kind ?? '',
        since: q.since ?? 0,
        limit: q.limit,
      },
    });
    return rows.map(auditEntryOf);
  }
}

/** An audit row as read (`at` as `at_ms`, milliseconds) into its entry. */
export function auditEntryOf(r: Record<string, unknown>): AuditEntry {
  return {
    at: new Date(Number(r.at_ms)).toISOString(),
    workspace: String(r.workspace),
    kind: r.kind as AuditKind,
    approval_id: String(r.approval_id),
    thread_id: String(r.thread_id),
    actor: String(r.actor),
    action: String(r.action),
    params: JSON.parse(String(r.params)) as Record<string, unknown>,
    status: String(r.status),
    control_plane_status: Number(r.control_plane_status),
    detail: String(r.detail),
    tracking_id: String(r.tracking_id),
  };
}
