import { createHash } from 'node:crypto';
import { z } from 'zod';
import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';
import type { Chunk } from './markdown.ts';

/** A completed investigation, as kept for finding similar ones later. */
export const Incident = z.object({
  workspace: z.string(),
  /** One per investigation: the thread id. */
  id: z.string(),
  thread_id: z.string(),
  source: z.enum(['chat', 'alert']),
  created_at: z.string(),
  updated_at: z.string(),
  question: z.string(),
  alertname: z.string(),
  root_service: z.string(),
  root_kind: z.string(),
  summary: z.string(),
  /** The evidence behind the root cause, as one line each. */
  evidence: z.array(z.object({ id: z.string(), kind: z.string(), summary: z.string() })),
  /** Runbook sections the answer pointed to (path#anchor). */
  runbooks: z.array(z.string()),
  /** Open while it lasts (investigations update it), closed when its alert resolves or its signal recovers. */
  status: z.enum(['open', 'closed']).default('closed'),
  closed_at: z.string().optional(),
  /** Every thread that investigated it (chats and alerts about the same incident). */
  threads: z.array(z.string()).default([]),
});
export type Incident = z.infer<typeof Incident>;

const COLUMNS = [
  'workspace',
  'id',
  'version',
  'created_at',
  'updated_at',
  'thread_id',
  'source',
  'question',
  'alertname',
  'root_service',
  'root_kind',
  'summary',
  'evidence',
  'runbooks',
  'status',
  'closed_at',
  'threads',
] as const;

/** Seconds with milliseconds: DateTime64(3) input that does not depend on the server's time zone. */
const chTime = (iso: string) => (Date.parse(iso) / 1000).toFixed(3);
const isoOf = (ms: unknown) => new Date(Number(ms)).toISOString();

/** How an incident is retrieved: its question, cause and evidence as one section. */
export function incidentChunk(i: Incident): Chunk {
  const title = `${i.root_kind.replace(/_/g, ' ')} in ${i.root_service} (${i.created_at.slice(0, 10)})`;
  const text = [
    i.question,
    i.alertname && `Alert ${i.alertname}.`,
    `Root cause: ${i.root_service}, ${i.root_kind.replace(/_/g, ' ')}.`,
    i.summary,
    ...i.evidence.map((e) => e.summary),
  ]
    .filter(Boolean)
    .join('\n');
  return {
    id: createHash('sha256').update(`incident|${i.workspace}|${i.id}`).digest('hex').slice(0, 32),
    source: 'incident',
    workspace: i.workspace,
    path: `incidents/${i.id}`,
    title,
    section: 'Incident',
    anchor: '',
    text,
    alerts: i.alertname ? [i.alertname] : [],
    services: [i.root_service],
    tags: [i.root_kind],
    hash: createHash('sha256')
      .update(JSON.stringify([title, text]))
      .digest('hex')
      .slice(0, 16),
  };
}

/** Past incidents in ClickHouse: the record every replica shares. */
export class IncidentStore {
  private lastVersion = 0;

  constructor(private readonly store: Store) {}

  async record(i: Incident): Promise<void> {
    const version = Date.now() * 1000 + Math.floor(Math.random() * 1000);
    await insertCompact(this.store, 'aiops_incidents', COLUMNS, [
      [
        i.workspace,
        i.id,
        version,
        chTime(i.created_at),
        chTime(i.updated_at),
        i.thread_id,
        i.source,
        i.question,
        i.alertname,
        i.root_service,
        i.root_kind,
        i.summary,
        JSON.stringify(i.evidence),
        i.runbooks,
        i.status,
        i.closed_at ? chTime(i.closed_at) : null,
        i.threads,
      ],
    ]);
  }

  /** Incidents recorded since the last call (all of them the first time), newest version of each. */
  async changes(): Promise<Incident[]> {
    const rows = await readRows<Record<string, unknown>>(this.store, {
      query: `SELECT workspace, id, version, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms,
          thread_id, source, question, alertname, root_service, root_kind, summary, evidence, runbooks,
          status, toUnixTimestamp64Milli(closed_at) AS closed_ms, threads
        FROM aiops_incidents
        WHERE (workspace, id) IN (SELECT workspace, id FROM aiops_incidents WHERE version > {since:UInt64})
        ORDER BY version DESC LIMIT 1 BY workspace, id`,
      params: { since: this.lastVersion },
      settings: { max_result_rows: '1000000' },
    });
    const out: Incident[] = [];
    for (const r of rows.reverse()) {
      this.lastVersion = Math.max(this.lastVersion, Number(r.version));
      const parsed = Incident.safeParse({
        ...r,
        created_at: isoOf(r.created_ms),
        updated_at: isoOf(r.updated_ms),
        closed_at: r.closed_ms === null || r.closed_ms === undefined ? undefined : isoOf(r.closed_ms),
        evidence: safeJson(String(r.evidence)),
      });
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return [];
  }
}
