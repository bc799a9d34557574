import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import { DocumentStore, documentHash, type StoredDocument } from './documents.ts';
import type { EmbeddedIndex } from './embedded.ts';
import { type Chunk, chunkMarkdown, DocumentError, markdownFiles } from './markdown.ts';
import { SHARED, type SectionHit, toSectionHit } from './sections.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

export interface DocumentChange {
  path: string;
  /** `skipped`: the same text as a built-in runbook, so not stored (search finds the runbook). */
  status: 'added' | 'updated' | 'unchanged' | 'deleted' | 'skipped';
  sections: number;
  hash: string;
}

interface CatalogueOptions {
  /** Where the sections go (the catalogue owns what is in it, not how it is searched). */
  index: EmbeddedIndex;
  store: Store;
  logger: Logger;
  chunkMaxChars: number;
  /** The project's (or the operator's) runbooks, shared by every workspace. */
  runbooksDir?: string;
  /** Cached vectors for sections that changed. */
  attachCached(chunks: Chunk[]): void;
  /**
   * Vectors and the mirror for what a write changed, run inside the write so
   * that writes reach Qdrant in the order they reached ClickHouse; returns notes.
   */
  follow(changed: Chunk[], removed: Chunk[]): Promise<string[]>;
}

/**
 * What can be cited: the runbooks folder (read at start, every workspace's)
 * and the documents each workspace adds, kept in ClickHouse and picked up by
 * every replica. Writes go one at a time, so ClickHouse and the index agree.
 *
 * A built-in runbook has one citation: workspace documents may not use the
 * runbooks folder's prefix (so none takes or shadows a runbook's path), and
 * a document with the same text as a runbook is not stored again.
 */
export class Catalogue {
  private readonly documents: DocumentStore;
  /** Writes and refreshes of the catalogue, one at a time. */
  private readonly writes = new KeyedLock();
  /** The first path segment of every built-in runbook (the runbooks folder's name). */
  readonly reservedPrefix: string | undefined;
  /** Built-in runbook path by the content hash of its file. */
  private readonly runbookByHash = new Map<string, string>();
  /** Stored, not deleted, documents: workspace → path → content hash (indexed or not). */
  private readonly live = new Map<string, Map<string, string>>();
  runbooks = 0;

  constructor(private readonly o: CatalogueOptions) {
    this.documents = new DocumentStore(o.store);
    this.reservedPrefix = o.runbooksDir ? path.basename(path.resolve(o.runbooksDir)) : undefined;
  }

  /** Why a workspace document may not have this path, if it may not. */
  private reserved(docPath: string): string | undefined {
    const first = docPath.split('/')[0]!;
    if (this.reservedPrefix && first.toLowerCase() === this.reservedPrefix.toLowerCase())
      return `${this.reservedPrefix}/ holds the built-in runbooks; give workspace documents another prefix (aiops knowledge index --prefix)`;
    return undefined;
  }

  /** The built-in runbook with exactly this text, if there is one. */
  private copyOf(markdown: string): string | undefined {
    return this.runbookByHash.get(documentHash(markdown));
  }

  /** Stored documents (not deleted) per workspace: what `list` shows, whether or not they are indexed. */
  documentCounts(): Record<string, number> {
    return Object.fromEntries([...this.live].filter(([, paths]) => paths.size > 0).map(([ws, paths]) => [ws, paths.size]));
  }

  private track(workspace: string, docPath: string, hash: string | undefined): void {
    let paths = this.live.get(workspace);
    if (!paths) {
      paths = new Map();
      this.live.set(workspace, paths);
    }
    if (hash === undefined) paths.delete(docPath);
    else paths.set(docPath, hash);
  }

  /** Indexes the runbooks folder; how many files. */
  loadRunbooks(): number {
    const dir = this.o.runbooksDir;
    if (!dir) return 0;
    let files: string[];
    try {
      files = markdownFiles(dir);
    } catch (err) {
      this.o.logger.warn({ dir, err: (err as Error).message }, 'the runbooks folder cannot be read; no runbooks are indexed');
      return 0;
    }
    const prefix = path.basename(path.resolve(dir));
    for (const file of files) {
      const rel = `${prefix}/${path.relative(dir, file).split(path.sep).join('/')}`;
      const markdown = readFileSync(file, 'utf8');
      this.runbookByHash.set(documentHash(markdown), rel);
      const chunks = chunkMarkdown(rel, markdown, { source: 'runbook', maxChars: this.o.chunkMaxChars });
      this.o.index.upsert(chunks);
      this.o.index.removeStale(SHARED, rel, new Set(chunks.map((c) => c.id)));
    }
    this.runbooks = files.length;
    return files.length;
  }

  /** Runs a write after the ones before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.writes.run('catalogue', fn);
  }

  /** Picks up documents written since the last call (by this replica or another); how many changed. */
  refresh(): Promise<number> {
    return this.serial(async () => {
      const docs = await this.documents.changes();
      for (const d of docs) this.apply(d);
      return docs.length;
    });
  }

  private apply(d: Pick<StoredDocument, 'workspace' | 'path' | 'deleted' | 'markdown'>): { changed: Chunk[]; removed: Chunk[] } {
    this.track(d.workspace, d.path, d.deleted ? undefined : documentHash(d.markdown));
    // Stored before these rules: kept (it can be listed and deleted) but not searched, so no runbook is cited twice.
    const shadow = d.deleted ? undefined : (this.reserved(d.path) ?? (this.copyOf(d.markdown) && 'the same text as a built-in runbook'));
    if (shadow) this.o.logger.warn({ workspace: d.workspace, path: d.path, reason: shadow }, 'a stored document is not indexed');
    let chunks: Chunk[] = [];
    if (!d.deleted && !shadow) {
      try {
        chunks = chunkMarkdown(d.path, d.markdown, { source: 'document', workspace: d.workspace, maxChars: this.o.chunkMaxChars });
      } catch (err) {
        this.o.logger.warn({ workspace: d.workspace, path: d.path, err: (err as Error).message }, 'a stored document cannot be indexed');
      }
    }
    const { added, updated } = this.o.index.upsert(chunks);
    const removed = this.o.index.removeStale(d.workspace, d.path, new Set(chunks.map((c) => c.id)));
    this.o.attachCached([...added, ...updated]);
    return { changed: [...added, ...updated], removed };
  }

  /**
   * Adds or replaces documents of a workspace. All are checked before any is
   * written; the write is one INSERT; the index follows.
   */
  put(workspace: string, sub: string, docs: { path: string; markdown: string }[]): Promise<{ changes: DocumentChange[]; notes: string[] }> {
    const chunked = docs.map((d, i) => {
      try {
        const why = this.reserved(d.path);
        if (why) throw new DocumentError(d.path, why, 'path');
        return { ...d, chunks: chunkMarkdown(d.path, d.markdown, { source: 'document', workspace, maxChars: this.o.chunkMaxChars }) };
      } catch (err) {
        if (err instanceof DocumentError) throw Object.assign(err, { index: i });
        throw err;
      }
    });
    return this.serial(async () => {
      const index = this.o.index;
      const stored = this.live.get(workspace);
      const before = new Map(chunked.map((d) => [d.path, index.all().filter((c) => c.workspace === workspace && c.path === d.path)]));
      const unchanged = (d: (typeof chunked)[number]) => {
        const old = before.get(d.path)!;
        return old.length === d.chunks.length && d.chunks.every((c) => old.some((o) => o.id === c.id && o.hash === c.hash));
      };
      const copies = new Map(chunked.flatMap((d) => (this.copyOf(d.markdown) ? [[d.path, this.copyOf(d.markdown)!] as const] : [])));
      // A copy is not stored; an older version at its path is deleted, as the runbook now answers for it.
      const replaced = chunked.filter((d) => copies.has(d.path) && stored?.has(d.path));
      const toWrite = chunked.filter((d) => !copies.has(d.path) && !unchanged(d));
      if (toWrite.length || replaced.length) {
        await this.documents.write([
          ...toWrite.map((d) => ({
            workspace,
            path: d.path,
            updated_by: sub,
            deleted: false,
            hash: documentHash(d.markdown),
            markdown: d.markdown,
          })),
          ...replaced.map((d) => ({ workspace, path: d.path, updated_by: sub, deleted: true, hash: '', markdown: '' })),
        ]);
      }
      const changes: DocumentChange[] = [];
      const changed: Chunk[] = [];
      const removed: Chunk[] = [];
      const notes: string[] = [];
      for (const d of chunked) {
        const copy = copies.get(d.path);
        const status = copy ? 'skipped' : unchanged(d) ? 'unchanged' : before.get(d.path)!.length ? 'updated' : 'added';
        if (copy) {
          notes.push(
            `${d.path} has the same text as the built-in runbook ${copy}; not added, search finds the runbook${stored?.has(d.path) ? ' (the older version at this path was deleted)' : ''}`,
          );
        }
        if (status !== 'unchanged') {
          const r = this.apply({ workspace, path: d.path, deleted: !!copy, markdown: copy ? '' : d.markdown });
          changed.push(...r.changed);
          removed.push(...r.removed);
        }
        changes.push({ path: d.path, status, sections: copy ? 0 : d.chunks.length, hash: documentHash(d.markdown) });
      }
      return { changes, notes: [...notes, ...(await this.o.follow(changed, removed))] };
    });
  }

  /** Removes a document of a workspace; false when there is none. */
  delete(workspace: string, docPath: string, sub: string): Promise<{ deleted: boolean; notes: string[] }> {
    return this.serial(async () => {
      // What is stored, indexed or not (a document stored under the runbooks' prefix before it was reserved can be deleted).
      if (!this.live.get(workspace)?.has(docPath)) return { deleted: false, notes: [] };
      await this.documents.write([{ workspace, path: docPath, updated_by: sub, deleted: true, hash: '', markdown: '' }]);
      const r = this.apply({ workspace, path: docPath, deleted: true, markdown: '' });
      return { deleted: true, notes: await this.o.follow([], r.removed) };
    });
  }

  list(workspace: string) {
    return this.documents.list(workspace);
  }

  /** The section of the same document that says what to do (Mitigate, Remediation, Fix…), if it has one. */
  actionSection(hit: Pick<SectionHit, 'workspace' | 'path'>): SectionHit | undefined {
    const c = this.o.index
      .all()
      .find(
        (x) =>
          x.workspace === hit.workspace &&
          x.path === hit.path &&
          /^(mitigat|remedia|fix|resolv|respond|response|what to do|actions?\b)/i.test(x.section),
      );
    return c ? toSectionHit(c, 0) : undefined;
  }
}
