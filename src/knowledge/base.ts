import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { Document } from '@langchain/core/documents';
import { QdrantVectorStore } from '@langchain/qdrant';
import type { QdrantClient } from '@qdrant/js-client-rest';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import type { KnowledgePolicy } from '../policies/schema.ts';
import type { z } from 'zod';
import { EmbeddedIndex, rrf, type Hit } from './embedded.ts';
import { chunkMarkdown, DocumentError, type Chunk } from './markdown.ts';
import { DocumentStore, documentHash, type StoredDocument } from './documents.ts';
import { Incident, IncidentStore, incidentChunk } from './incidents.ts';
import { pointId, QdrantChunkIndex } from './qdrant.ts';
import { VectorCache } from './vectors.ts';

export type RetrievalMode = 'hybrid' | 'lexical' | 'dense';

/** A runbook or document section as search returns it. */
export interface SectionHit {
  title: string;
  section: string;
  path: string;
  anchor: string;
  /** What answers cite: path#anchor. */
  citation: string;
  source: Chunk['source'];
  workspace: string;
  score: number;
  snippet: string;
  alerts: string[];
  lexical_rank?: number;
  dense_rank?: number;
}

export interface IncidentHit {
  incident: Incident;
  score: number;
}

export interface Retrieval<T> {
  hits: T[];
  /** Which engine answered. */
  backend: 'qdrant' | 'embedded';
  /** Whether dense vectors took part. */
  dense: boolean;
  /** Anything the reader should know (a degraded engine, dense retrieval unavailable). */
  notes: string[];
}

export interface DocumentChange {
  path: string;
  status: 'added' | 'updated' | 'unchanged' | 'deleted';
  sections: number;
  hash: string;
}

export interface KnowledgeOptions {
  policy: z.output<typeof KnowledgePolicy>;
  store: Store;
  logger: Logger;
  /** The project's (or the operator's) runbooks, shared by every workspace. */
  runbooksDir?: string;
  /** Where embeddings are cached. */
  cacheDir?: string;
  embeddings?: EmbeddingsInterface;
  embeddingModel?: string;
  qdrant?: QdrantClient;
  /** How often to pick up documents and incidents other replicas wrote (ms). */
  refreshMs?: number;
  now?: () => number;
}

const SHARED = '*';
const snippetOf = (c: Chunk) => {
  const body = c.text
    .slice(c.text.indexOf('\n\n') + 2)
    .replace(/\s+/g, ' ')
    .trim();
  return body.length > 280 ? `${body.slice(0, 279)}…` : body;
};

export function toSectionHit(c: Chunk, score: number, ranks: { lexicalRank?: number; denseRank?: number } = {}): SectionHit {
  return {
    title: c.title,
    section: c.section,
    path: c.path,
    anchor: c.anchor,
    citation: c.anchor ? `${c.path}#${c.anchor}` : c.path,
    source: c.source,
    workspace: c.workspace,
    score: Number(score.toFixed(5)),
    snippet: snippetOf(c),
    alerts: c.alerts,
    ...(ranks.lexicalRank ? { lexical_rank: ranks.lexicalRank } : {}),
    ...(ranks.denseRank ? { dense_rank: ranks.denseRank } : {}),
  };
}

/** Markdown files under a folder, recursively, sorted. */
export function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(md|markdown)$/i.test(name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/**
 * Runbooks, documents and past incidents, searchable by words and (with an
 * embedding model) by meaning. The embedded index always holds everything,
 * so search keeps working when Qdrant is down; with Qdrant configured and
 * in step, searches go there. Documents and incidents live in ClickHouse,
 * which every replica shares; each replica picks up the others' writes.
 */
export class KnowledgeBase {
  readonly knowledge: EmbeddedIndex;
  private readonly incidentIndexes = new Map<string, EmbeddedIndex>();
  private readonly incidents = new Map<string, Incident>();
  private readonly documents: DocumentStore;
  private readonly incidentStore: IncidentStore;
  private readonly cache: VectorCache | undefined;
  private readonly qdrant: QdrantSide | undefined;
  private readonly now: () => number;
  private embedDownUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Writes (documents, refreshes) one at a time, so ClickHouse and the indexes agree. */
  private writes: Promise<unknown> = Promise.resolve();
  private background: Promise<void> = Promise.resolve();
  private embedding: Promise<unknown> = Promise.resolve();
  runbookCount = 0;

  constructor(private readonly o: KnowledgeOptions) {
    const p = o.policy;
    this.knowledge = new EmbeddedIndex({ rrfK: p.rrf_k, candidates: p.candidates });
    this.documents = new DocumentStore(o.store);
    this.incidentStore = new IncidentStore(o.store);
    this.cache = o.embeddings ? new VectorCache(o.cacheDir, o.embeddingModel ?? 'embeddings') : undefined;
    this.now = o.now ?? Date.now;
    this.qdrant = o.qdrant ? new QdrantSide(o.qdrant, o, this) : undefined;
  }

  get dense(): boolean {
    return this.o.embeddings !== undefined;
  }

  /** Indexes the runbooks folder, loads documents and incidents; vectors and Qdrant follow in the background. */
  async start(): Promise<{ runbooks: number; sections: number; documents: number; incidents: number }> {
    const runbooks = this.o.runbooksDir ? this.indexRunbooks(this.o.runbooksDir) : 0;
    const { documents, incidents } = await this.refresh();
    if (this.o.refreshMs) {
      this.timer = setInterval(
        () => void this.refresh().catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'knowledge refresh failed')),
        this.o.refreshMs,
      );
      this.timer.unref();
    }
    this.background = this.catchUp();
    return { runbooks, sections: this.knowledge.size, documents, incidents };
  }

  /** Resolves when the background work started by `start` (vectors, Qdrant sync) is done. */
  settled(): Promise<void> {
    return this.background;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.background.catch(() => undefined);
    this.cache?.save();
  }

  private indexRunbooks(dir: string): number {
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
      const chunks = chunkMarkdown(rel, readFileSync(file, 'utf8'), { source: 'runbook', maxChars: this.o.policy.chunk_max_chars });
      this.knowledge.upsert(chunks);
      this.knowledge.removeStale(SHARED, rel, new Set(chunks.map((c) => c.id)));
    }
    this.runbookCount = files.length;
    return files.length;
  }

  /** Picks up documents and incidents written since the last refresh (by this replica or another). */
  refresh(): Promise<{ documents: number; incidents: number }> {
    const run = this.writes.then(async () => {
      const docs = await this.documents.changes();
      for (const d of docs) this.applyDocument(d);
      const incidents = await this.incidentStore.changes();
      for (const i of incidents) this.applyIncident(i);
      if ((docs.length || incidents.length) && (this.o.embeddings || this.qdrant))
        this.background = this.background.then(() => this.catchUp());
      return { documents: docs.length, incidents: incidents.length };
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  private applyDocument(d: Pick<StoredDocument, 'workspace' | 'path' | 'deleted' | 'markdown'>): {
    chunks: Chunk[];
    changed: Chunk[];
    removed: Chunk[];
  } {
    let chunks: Chunk[] = [];
    if (!d.deleted) {
      try {
        chunks = chunkMarkdown(d.path, d.markdown, { source: 'document', workspace: d.workspace, maxChars: this.o.policy.chunk_max_chars });
      } catch (err) {
        this.o.logger.warn({ workspace: d.workspace, path: d.path, err: (err as Error).message }, 'a stored document cannot be indexed');
      }
    }
    const { added, updated } = this.knowledge.upsert(chunks);
    const removed = this.knowledge.removeStale(d.workspace, d.path, new Set(chunks.map((c) => c.id)));
    this.attachCachedVectors([...added, ...updated]);
    return { chunks, changed: [...added, ...updated], removed };
  }

  private incidentIndex(workspace: string): EmbeddedIndex {
    let idx = this.incidentIndexes.get(workspace);
    if (!idx) {
      idx = new EmbeddedIndex({ rrfK: this.o.policy.rrf_k, candidates: this.o.policy.candidates });
      this.incidentIndexes.set(workspace, idx);
    }
    return idx;
  }

  private applyIncident(i: Incident): Chunk {
    const chunk = incidentChunk(i);
    this.incidents.set(chunk.id, i);
    const { added, updated } = this.incidentIndex(i.workspace).upsert([chunk]);
    this.attachCachedVectors([...added, ...updated], i.workspace);
    return chunk;
  }

  private attachCachedVectors(chunks: Chunk[], incidentWorkspace?: string): void {
    if (!this.cache) return;
    const idx = incidentWorkspace ? this.incidentIndex(incidentWorkspace) : this.knowledge;
    for (const c of chunks) {
      const v = this.cache.get(c.hash);
      if (v) idx.setVector(c.id, v);
    }
  }

  /** Embeds what has no vector yet and brings Qdrant in step; failures are logged and retried later. */
  private async catchUp(): Promise<void> {
    await this.embedMissing();
    await this.qdrant?.sync().catch(() => undefined);
  }

  /** Embeds sections without a vector, one run at a time; false when the model failed. */
  private embedMissing(): Promise<boolean> {
    const run = this.embedding.then(() => this.embedMissingNow());
    this.embedding = run.catch(() => false);
    return run;
  }

  private async embedMissingNow(): Promise<boolean> {
    if (!this.o.embeddings || !this.cache || this.now() < this.embedDownUntil) return false;
    const work: { idx: EmbeddedIndex; chunk: Chunk }[] = [
      ...this.knowledge.missingVectors().map((chunk) => ({ idx: this.knowledge, chunk })),
      ...[...this.incidentIndexes.values()].flatMap((idx) => idx.missingVectors().map((chunk) => ({ idx, chunk }))),
    ];
    if (work.length === 0) return true;
    try {
      const vectors = await this.cache.ensure(
        this.o.embeddings,
        work.map((w) => ({ hash: w.chunk.hash, text: embeddingText(w.chunk) })),
      );
      for (const [i, w] of work.entries()) if (vectors[i]!.length) w.idx.setVector(w.chunk.id, vectors[i]!);
      this.cache.retain(
        new Set([...this.knowledge.all(), ...[...this.incidentIndexes.values()].flatMap((i) => i.all())].map((c) => c.hash)),
      );
      this.cache.save();
      return true;
    } catch (err) {
      this.embedDownUntil = this.now() + this.o.policy.qdrant.retry_after_s * 1000;
      this.o.logger.warn(
        { err: (err as Error).message, sections: work.length },
        'the embedding model failed; those sections are searched by words only for now',
      );
      return false;
    }
  }

  /** The query's embedding, or why there is none. */
  private async embedQuery(text: string): Promise<{ vector?: Float32Array; note?: string }> {
    if (!this.o.embeddings) return {};
    if (this.now() < this.embedDownUntil) return { note: 'dense retrieval is paused after an embedding failure; words only' };
    try {
      return { vector: Float32Array.from(await this.o.embeddings.embedQuery(text)) };
    } catch (err) {
      this.embedDownUntil = this.now() + this.o.policy.qdrant.retry_after_s * 1000;
      this.o.logger.warn({ err: (err as Error).message }, 'embedding the query failed; searching by words only');
      return { note: 'the embedding model did not answer; words only' };
    }
  }

  /** Runbook and document sections for a question or an alert, in the caller's workspace (and the shared ones). */
  async searchRunbooks(
    workspace: string,
    query: string,
    opts: { k?: number; alertname?: string; mode?: RetrievalMode } = {},
  ): Promise<Retrieval<SectionHit>> {
    const k = opts.k ?? 5;
    const mode = opts.mode ?? 'hybrid';
    const notes: string[] = [];
    const { vector, note } = mode === 'lexical' ? {} : await this.embedQuery(query);
    if (note) notes.push(note);
    if (mode === 'dense' && !vector)
      return { hits: [], backend: 'embedded', dense: false, notes: [...notes, 'no embedding model: dense retrieval is not available'] };
    if (this.qdrant && mode === 'hybrid') {
      const viaQdrant = await this.qdrant.searchSections(workspace, query, vector, opts.alertname, k);
      if (viaQdrant.hits) return { hits: viaQdrant.hits, backend: 'qdrant', dense: viaQdrant.dense, notes };
      notes.push(viaQdrant.note!);
    }
    const hits = this.knowledge.search(query, {
      k,
      alertname: opts.alertname,
      queryVector: vector,
      denseOnly: mode === 'dense',
      filter: (c) => c.workspace === SHARED || c.workspace === workspace,
    });
    return {
      hits: hits.map((h) => toSectionHit(h.chunk, h.score, h)),
      backend: 'embedded',
      dense: !!vector && this.knowledge.vectorCount > 0,
      notes,
    };
  }

  /** Past incidents of this workspace like the query; never another workspace's. */
  async similarIncidents(
    workspace: string,
    query: string,
    opts: { k?: number; exclude?: string; since?: number } = {},
  ): Promise<Retrieval<IncidentHit>> {
    const k = opts.k ?? 3;
    const idx = this.incidentIndexes.get(workspace);
    const notes: string[] = [];
    if (!idx || idx.size === 0)
      return { hits: [], backend: 'embedded', dense: false, notes: ['no past incidents recorded in this workspace yet'] };
    const { vector, note } = await this.embedQuery(query);
    if (note) notes.push(note);
    const keep = (c: Chunk) => {
      const i = this.incidents.get(c.id);
      return (
        !!i && i.workspace === workspace && i.id !== opts.exclude && (opts.since === undefined || Date.parse(i.updated_at) >= opts.since)
      );
    };
    let backend: Retrieval<IncidentHit>['backend'] = 'embedded';
    let hits: Hit[];
    const dense = vector && this.qdrant ? await this.qdrant.searchIncidents(workspace, vector, this.o.policy.candidates) : undefined;
    if (dense?.ids) {
      // Words from the embedded index, meaning from Qdrant, fused here.
      backend = 'qdrant';
      const lexical = idx.search(query, { k: this.o.policy.candidates, filter: keep }).map((h) => h.chunk.id);
      const fused = rrf([{ ids: lexical }, { ids: dense.ids.filter((id) => idx.get(id) && keep(idx.get(id)!)) }], this.o.policy.rrf_k);
      hits = [...fused.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, k)
        .map(([id, score]) => ({ chunk: idx.get(id)!, score }));
    } else {
      if (dense?.note) notes.push(dense.note);
      hits = idx.search(query, { k, queryVector: vector, filter: keep });
    }
    return {
      hits: hits.map((h) => ({ incident: this.incidents.get(h.chunk.id)!, score: Number(h.score.toFixed(5)) })),
      backend,
      dense: !!vector,
      notes,
    };
  }

  /** Stores a completed investigation and makes it searchable at once. */
  async recordIncident(i: Incident): Promise<void> {
    const parsed = Incident.parse(i);
    await this.incidentStore.record(parsed);
    const chunk = this.applyIncident(parsed);
    this.background = this.background.then(async () => {
      await this.embedMissing();
      await this.qdrant?.upsertIncidents([chunk]).catch(() => undefined);
    });
  }

  /**
   * Adds or replaces documents of a workspace. All are checked before any is
   * written; the write is one INSERT; the indexes follow.
   */
  putDocuments(
    workspace: string,
    sub: string,
    docs: { path: string; markdown: string }[],
  ): Promise<{ changes: DocumentChange[]; notes: string[] }> {
    const chunked = docs.map((d, i) => {
      try {
        return {
          ...d,
          chunks: chunkMarkdown(d.path, d.markdown, { source: 'document', workspace, maxChars: this.o.policy.chunk_max_chars }),
        };
      } catch (err) {
        if (err instanceof DocumentError) throw Object.assign(err, { index: i });
        throw err;
      }
    });
    const run = this.writes.then(async () => {
      const before = new Map(
        chunked.map((d) => [d.path, this.knowledge.all().filter((c) => c.workspace === workspace && c.path === d.path)]),
      );
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
      const changedChunks: Chunk[] = [];
      const removedChunks: Chunk[] = [];
      for (const d of chunked) {
        const status = unchanged(d) ? 'unchanged' : before.get(d.path)!.length ? 'updated' : 'added';
        if (status !== 'unchanged') {
          const r = this.applyDocument({ workspace, path: d.path, deleted: false, markdown: d.markdown });
          changedChunks.push(...r.changed);
          removedChunks.push(...r.removed);
        }
        changes.push({ path: d.path, status, sections: d.chunks.length, hash: documentHash(d.markdown) });
      }
      return { changes, notes: await this.follow(changedChunks, removedChunks) };
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** Removes a document of a workspace; false when there is none. */
  deleteDocument(workspace: string, docPath: string, sub: string): Promise<{ deleted: boolean; notes: string[] }> {
    const run = this.writes.then(async () => {
      const existing = this.knowledge.all().some((c) => c.workspace === workspace && c.path === docPath && c.source === 'document');
      if (!existing) return { deleted: false, notes: [] };
      await this.documents.write([{ workspace, path: docPath, updated_by: sub, deleted: true, hash: '', markdown: '' }]);
      const r = this.applyDocument({ workspace, path: docPath, deleted: true, markdown: '' });
      return { deleted: true, notes: await this.follow([], r.removed) };
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /** The section of the same document that says what to do (Mitigate, Remediation, Fix…), if it has one. */
  actionSection(hit: Pick<SectionHit, 'workspace' | 'path'>): SectionHit | undefined {
    const c = this.knowledge
      .all()
      .find(
        (x) =>
          x.workspace === hit.workspace &&
          x.path === hit.path &&
          /^(mitigat|remedia|fix|resolv|respond|response|what to do|actions?\b)/i.test(x.section),
      );
    return c ? toSectionHit(c, 0) : undefined;
  }

  listDocuments(workspace: string) {
    return this.documents.list(workspace);
  }

  /** Vectors and Qdrant for what a write changed; a failure there is a note, the write stands. */
  private async follow(changed: Chunk[], removed: Chunk[]): Promise<string[]> {
    const notes: string[] = [];
    if (changed.length && this.o.embeddings && !(await this.embedMissing()))
      notes.push('the embedding model did not answer: the new sections are searchable by words now, by meaning once it is back');
    if (this.qdrant && (changed.length || removed.length)) {
      const ok = await this.qdrant.apply(changed, removed);
      if (!ok) notes.push('Qdrant did not take the change; searches use the embedded index until it is back in step');
    }
    return notes;
  }

  /** For the readiness report and GET /v1/knowledge. */
  status() {
    return {
      sections: this.knowledge.size,
      runbooks: this.runbookCount,
      incidents: this.incidents.size,
      dense: this.dense,
      vectors: this.knowledge.vectorCount,
      backend: this.qdrant?.healthy() ? ('qdrant' as const) : ('embedded' as const),
      ...(this.qdrant ? { qdrant: this.qdrant.state() } : {}),
    };
  }

  /** Everything the Qdrant side mirrors (runbook and document sections; incidents with vectors). */
  mirror() {
    return {
      sections: this.knowledge.all(),
      incidents: [...this.incidentIndexes.values()].flatMap((i) => i.all()),
      vectorOf: (c: Chunk) => this.cache?.get(c.hash),
      dimension: async () => (this.o.embeddings ? (await this.o.embeddings.embedQuery('dimension probe')).length : undefined),
    };
  }

  incidentOf(chunkId: string): Incident | undefined {
    return this.incidents.get(chunkId);
  }
}

/** What the dense model reads of a section. */
export function embeddingText(c: Chunk): string {
  return `${c.title}. ${c.text}`.slice(0, 4000);
}

/**
 * Qdrant as the scale-out engine: a failure switches searches to the
 * embedded index for `retry_after_s`, after which Qdrant is brought back in
 * step (content hashes make that cheap) before it answers again.
 */
class QdrantSide {
  private readonly chunks: QdrantChunkIndex;
  private incidents: QdrantVectorStore | undefined;
  private downUntil = 0;
  private synced = false;
  private syncing: Promise<void> | undefined;
  private lastError: string | undefined;
  private warned = false;

  constructor(
    private readonly client: QdrantClient,
    private readonly o: KnowledgeOptions,
    private readonly kb: KnowledgeBase,
  ) {
    this.chunks = new QdrantChunkIndex(client, o.policy.qdrant.collection, () => this.kb.mirror().dimension());
    if (o.embeddings) {
      this.incidents = new QdrantVectorStore(o.embeddings, { client, collectionName: o.policy.qdrant.incidents_collection });
    }
  }

  healthy(): boolean {
    return this.synced && Date.now() >= this.downUntil;
  }

  state() {
    return {
      synced: this.synced,
      ...(this.lastError ? { last_error: this.lastError } : {}),
      ...(this.downUntil > Date.now() ? { retry_at: new Date(this.downUntil).toISOString() } : {}),
    };
  }

  private failed(err: unknown): void {
    this.lastError = (err as Error).message?.slice(0, 300) ?? String(err);
    this.downUntil = Date.now() + this.o.policy.qdrant.retry_after_s * 1000;
    this.synced = false;
    if (!this.warned) {
      this.o.logger.warn(
        { err: this.lastError, retry_after_s: this.o.policy.qdrant.retry_after_s },
        'Qdrant failed; knowledge search uses the embedded index until it is back',
      );
      this.warned = true;
    }
  }

  /** Why Qdrant is not answering now, or undefined when it may. */
  private unavailable(): string | undefined {
    if (Date.now() < this.downUntil) return `Qdrant is unavailable (${this.lastError ?? 'failed'}); the embedded index answered`;
    if (!this.synced) {
      void this.sync().catch(() => undefined);
      return 'Qdrant is being brought in step; the embedded index answered';
    }
    return undefined;
  }

  /** Brings the collections in step with the embedded index (one run at a time). */
  sync(): Promise<void> {
    this.syncing ??= this.syncNow().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Upserts what differs, deletes what is gone. */
  private async syncNow(): Promise<void> {
    try {
      const m = this.kb.mirror();
      await this.chunks.ensure();
      const current = await this.chunks.hashes(['runbook', 'document']);
      const desired = new Map(m.sections.map((c) => [pointId(c.id), c]));
      const upserts = m.sections.filter((c) => current.get(pointId(c.id)) !== c.hash);
      const deletes = [...current.keys()].filter((id) => !desired.has(id));
      await this.chunks.upsert(upserts, m.vectorOf);
      await this.chunks.delete(deletes);
      await this.upsertIncidents(m.incidents, true);
      if (!this.synced)
        this.o.logger.info(
          { upserted: upserts.length, deleted: deletes.length, collection: this.o.policy.qdrant.collection },
          'Qdrant is in step with the knowledge index',
        );
      this.synced = true;
      this.warned = false;
      this.lastError = undefined;
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  /** Incidents with vectors into the incidents collection (through @langchain/qdrant), skipping those already there. */
  async upsertIncidents(chunks: Chunk[], onlyMissing = false): Promise<void> {
    if (!this.incidents) return;
    const m = this.kb.mirror();
    let todo = chunks.filter((c) => m.vectorOf(c)?.length);
    if (!todo.length) return;
    try {
      await this.incidents.ensureCollection();
      await this.indexIncidentWorkspace();
      if (onlyMissing) {
        const have = new Map<string, string | undefined>();
        for (let i = 0; i < todo.length; i += 500) {
          const present = await this.client.retrieve(this.o.policy.qdrant.incidents_collection, {
            ids: todo.slice(i, i + 500).map((c) => pointId(c.id)),
            with_payload: ['metadata'],
            with_vector: false,
          });
          for (const p of present) have.set(String(p.id), (p.payload as { metadata?: { hash?: string } }).metadata?.hash);
        }
        todo = todo.filter((c) => have.get(pointId(c.id)) !== c.hash);
      }
      if (!todo.length) return;
      await this.incidents.addVectors(
        todo.map((c) => m.vectorOf(c)!),
        todo.map(
          (c) =>
            new Document({ id: pointId(c.id), pageContent: c.text, metadata: { workspace: c.workspace, chunk_id: c.id, hash: c.hash } }),
        ),
      );
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  private incidentIndexReady = false;
  private async indexIncidentWorkspace(): Promise<void> {
    if (this.incidentIndexReady) return;
    const info = await this.client.getCollection(this.o.policy.qdrant.incidents_collection);
    if (!('metadata.workspace' in ((info.payload_schema ?? {}) as object))) {
      await this.client.createPayloadIndex(this.o.policy.qdrant.incidents_collection, {
        field_name: 'metadata.workspace',
        field_schema: 'keyword',
        wait: true,
      });
    }
    this.incidentIndexReady = true;
  }

  /** A write's sections into Qdrant; false when Qdrant failed (it is re-synced later). */
  async apply(changed: Chunk[], removed: Chunk[]): Promise<boolean> {
    if (this.unavailable()) return false;
    try {
      const m = this.kb.mirror();
      await this.chunks.upsert(changed, m.vectorOf);
      await this.chunks.delete(removed.map((c) => pointId(c.id)));
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  async searchSections(
    workspace: string,
    query: string,
    dense: Float32Array | undefined,
    alertname: string | undefined,
    k: number,
  ): Promise<{ hits?: SectionHit[]; dense: boolean; note?: string }> {
    const why = this.unavailable();
    if (why) return { dense: false, note: why };
    try {
      const vector = dense ? Array.from(dense) : undefined;
      const hits = await this.chunks.search({
        query,
        dense: vector,
        alertname,
        workspaces: [SHARED, workspace],
        sources: ['runbook', 'document'],
        k,
        candidates: this.o.policy.candidates,
        rrfK: this.o.policy.rrf_k,
      });
      return { hits: hits.map((h) => toSectionHit(h.chunk, h.score)), dense: !!vector && this.chunks.usesDense(vector.length) };
    } catch (err) {
      this.failed(err);
      return { dense: false, note: `Qdrant failed (${this.lastError}); the embedded index answered` };
    }
  }

  /** Chunk ids of the workspace's incidents nearest to the vector. */
  async searchIncidents(workspace: string, vector: Float32Array, limit: number): Promise<{ ids?: string[]; note?: string }> {
    if (!this.incidents) return {};
    const why = this.unavailable();
    if (why) return { note: why };
    try {
      const found = await this.incidents.similaritySearchVectorWithScore(Array.from(vector), limit, {
        must: [{ key: 'metadata.workspace', match: { value: workspace } }],
      });
      return { ids: found.map(([doc]) => String((doc.metadata as { chunk_id?: string }).chunk_id)).filter((id) => id !== 'undefined') };
    } catch (err) {
      this.failed(err);
      return { note: `Qdrant failed (${this.lastError}); the embedded index answered` };
    }
  }
}
