import { createHash } from 'node:crypto';
import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';

/** A markdown document someone added through the API, in their workspace. */
export interface StoredDocument {
  workspace: string;
  path: string;
  version: number;
  updated_at: string;
  updated_by: string;
  deleted: boolean;
  hash: string;
  markdown: string;
}

const COLUMNS = ['workspace', 'path', 'version', 'updated_at', 'updated_by', 'deleted', 'hash', 'markdown'] as const;

export const documentHash = (markdown: string) => createHash('sha256').update(markdown).digest('hex').slice(0, 16);

/**
 * Documents in ClickHouse, the record every replica reads: a write is one
 * INSERT of all the request's documents (all or nothing), a newer version
 * replaces, a deletion is a version with `deleted`.
 */
export class DocumentStore {
  private lastVersion = 0;
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly store: Store) {}

  /** Versions grow even when two writes land in the same millisecond. */
  private nextVersion(): number {
    const ms = Date.now();
    if (ms === this.lastMs) this.seq++;
    else {
      this.lastMs = ms;
      this.seq = 0;
    }
    return ms * 1000 + Math.min(this.seq, 999);
  }

  async write(docs: Omit<StoredDocument, 'version' | 'updated_at'>[]): Promise<StoredDocument[]> {
    const now = Date.now();
    const out = docs.map((d) => ({ ...d, version: this.nextVersion(), updated_at: new Date(now).toISOString() }));
    await insertCompact(
      this.store,
      'aiops_knowledge_documents',
      COLUMNS,
      out.map((d) => [d.workspace, d.path, d.version, (now / 1000).toFixed(3), d.updated_by, d.deleted ? 1 : 0, d.hash, d.markdown]),
    );
    return out;
  }

  /** The current version of each document of a workspace (deleted ones left out), without the text. */
  async list(workspace: string): Promise<Omit<StoredDocument, 'markdown'>[]> {
    const rows = await readRows<Record<string, unknown>>(this.store, {
      query: `SELECT * FROM (
          SELECT path, version, toUnixTimestamp64Milli(updated_at) AS updated_ms, updated_by, deleted, hash
          FROM aiops_knowledge_documents WHERE workspace = {workspace:String}
          ORDER BY version DESC LIMIT 1 BY path)
        WHERE deleted = 0 ORDER BY path`,
      params: { workspace },
    });
    return rows.map((r) => ({
      workspace,
      path: String(r.path),
      version: Number(r.version),
      updated_at: new Date(Number(r.updated_ms)).toISOString(),
      updated_by: String(r.updated_by),
      deleted: false,
      hash: String(r.hash),
    }));
  }

  /** Documents whose current version is newer than what the last call saw (all the first time). */
  async changes(): Promise<StoredDocument[]> {
    const rows = await readRows<Record<string, unknown>>(this.store, {
      query: `SELECT workspace, path, version, toUnixTimestamp64Milli(updated_at) AS updated_ms, updated_by, deleted, hash, markdown
        FROM aiops_knowledge_documents
        WHERE (workspace, path) IN (SELECT workspace, path FROM aiops_knowledge_documents WHERE version > {since:UInt64})
        ORDER BY version DESC LIMIT 1 BY workspace, path`,
      params: { since: this.lastVersion },
      settings: { max_result_rows: '1000000' },
    });
    return rows.reverse().map((r) => {
      this.lastVersion = Math.max(this.lastVersion, Number(r.version));
      return {
        workspace: String(r.workspace),
        path: String(r.path),
        version: Number(r.version),
        updated_at: new Date(Number(r.updated_ms)).toISOString(),
        updated_by: String(r.updated_by),
        deleted: Number(r.deleted) === 1,
        hash: String(r.hash),
        markdown: String(r.markdown),
      };
    });
  }
}
