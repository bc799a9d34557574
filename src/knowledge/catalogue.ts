import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import { DocumentStore, documentHash, type StoredDocument } from './documents.ts';
import type { EmbeddedIndex } from './embedded.ts';
import { type Chunk, chunkMarkdown, DocumentError, markdownFiles } from './markdown.ts';
import { SHARED, type SectionHit, toSectionHit } from './sections.ts';

export interface DocumentChange {
  path: string;
  status: 'added' | 'updated' | 'unchanged' | 'deleted';
  sections: number;
  hash: string;
}

export interface CatalogueOptions {
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
 */
export class Catalogue {
  private readonly documents: DocumentStore;
  private writes: Promise<unknown> = Promise.resolve();
  runbooks = 0;

  constructor(private readonly o: CatalogueOptions) {
    this.documents = new DocumentStore(o.store);
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
      const chunks = chunkMarkdown(rel, readFileSync(file, 'utf8'), { source: 'runbook', maxChars: this.o.chunkMaxChars });
      this.o.index.upsert(chunks);
      this.o.index.removeStale(SHARED, rel, new Set(chunks.map((c) => c.id)));
    }
    this.runbooks = files.length;
    return files.length;
  }

  /** Runs a write after the ones before it. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn);
    this.writes = run.catch(() => undefined);
    return run;
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
    let chunks: Chunk[] = [];
    if (!d.deleted) {
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
        return { ...d, chunks: chunkMarkdown(d.path, d.markdown, { source: 'document', workspace, maxChars: this.o.chunkMaxChars }) };
      } catch (err) {
        if (err instanceof DocumentError) throw Object.assign(err, { index: i });
        throw err;
      }
    });
    return this.serial(async () => {
      const index = this.o.index;
      const before = new Map(chunked.map((d) => [d.path, index.all().filter((c) => c.workspace === workspace && c.path === d.path)]));
      const unchanged = (d: (typeof chunked)[number]) => {
        const old = before.get(d.path)!;
        return old.length === d.chunks.length && d.chunks.every((c) => old.some((o) => o.id === c.id && o.hash === c.hash));
      };
      const toWrite = chunked.filter((d) => !unchanged(d));
      if (toWrite.length) {
        await this.documents.write(
          toWrite.map((d) => ({
            workspace,
            path: d.path,
            updated_by: sub,
            deleted: false,
            hash: documentHash(d.markdown),
            markdown: d.markdown,
          })),
        );
      }
      const changes: DocumentChange[] = [];
      const changed: Chunk[] = [];
      const removed: Chunk[] = [];
      for (const d of chunked) {
        const status = unchanged(d) ? 'unchanged' : before.get(d.path)!.length ? 'updated' : 'added';
        if (status !== 'unchanged') {
          const r = this.apply({ workspace, path: d.path, deleted: false, markdown: d.markdown });
          changed.push(...r.changed);
          removed.push(...r.removed);
        }
        changes.push({ path: d.path, status, sections: d.chunks.length, hash: documentHash(d.markdown) });
      }
      return { changes, notes: await this.o.follow(changed, removed) };
    });
  }

  /** Removes a document of a workspace; false when there is none. */
  delete(workspace: string, docPath: string, sub: string): Promise<{ deleted: boolean; notes: string[] }> {
    return this.serial(async () => {
      const existing = this.o.index.all().some((c) => c.workspace === workspace && c.path === docPath && c.source === 'document');
      if (!existing) return { deleted: false, notes: [] };
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
