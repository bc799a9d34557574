import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { Store } from '../clients/clickhouse.ts';
import type { Qdrant } from '../clients/qdrant.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import { Catalogue, type DocumentChange } from './catalogue.ts';
import { EmbeddedIndex } from './embedded.ts';
import { Embedder } from './embedder.ts';
import { IncidentMemory, type IncidentHit } from './incident-memory.ts';
import type { Incident } from './incidents.ts';
import type { Chunk } from './markdown.ts';
import { QdrantMirror } from './mirror.ts';
import { type RunbookQuery, RunbookSearch } from './runbook-search.ts';
import type { Retrieval, RunbookRetrieval, SectionHit } from './sections.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

interface KnowledgeOptions {
  policy: Policies['knowledge'];
  store: Store;
  logger: Logger;
  /** The project's (or the operator's) runbooks, shared by every workspace. */
  runbooksDir?: string;
  /** Where embeddings are cached. */
  cacheDir?: string;
  embeddings?: EmbeddingsInterface;
  embeddingModel?: string;
  qdrant?: Qdrant;
  /** How often to pick up documents and incidents other replicas wrote (ms). */
  refreshMs?: number;
  now?: () => number;
}

/**
 * Runbooks, documents and past incidents, searchable by words and (with an
 * embedding model) by meaning: the catalogue, the incident memory, the
 * embedded index that always holds everything (so search keeps working when
 * Qdrant is down) and, when configured, the Qdrant mirror that answers
 * while it is in step.
 */
export class KnowledgeBase {
  private readonly sections: EmbeddedIndex;
  private readonly embedder: Embedder;
  private readonly catalogue: Catalogue;
  private readonly incidents: IncidentMemory;
  private readonly mirror: QdrantMirror | undefined;
  private readonly runbooks: RunbookSearch;
  private timer: NodeJS.Timeout | undefined;
  /** Refreshes run one at a time; so does the background work (vectors, Qdrant) they and writes start. */
  private readonly serial = new KeyedLock();
  /** Background jobs not yet finished (settled() waits for them). */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly o: KnowledgeOptions) {
    const p = o.policy;
    this.sections = new EmbeddedIndex({ rrfK: p.rrf_k, candidates: p.candidates });
    this.embedder = new Embedder({
      embeddings: o.embeddings,
      model: o.embeddingModel,
      cacheDir: o.cacheDir,
      retryAfterS: p.qdrant.retry_after_s,
      logger: o.logger,
      now: o.now ?? (() => Date.now()),
      indexes: () => [this.sections, ...this.incidents.allIndexes()],
    });
    this.mirror = o.qdrant
      ? new QdrantMirror(
          o.qdrant,
          {
            sections: () => this.sections.all(),
            incidents: () => this.incidents.chunks(),
            vectorOf: (c) => this.embedder.vectorOf(c),
            dimension: () => this.embedder.dimension(),
          },
          { policy: p, logger: o.logger, ...(o.embeddings ? { embeddings: o.embeddings } : {}) },
        )
      : undefined;
    this.catalogue = new Catalogue({
      index: this.sections,
      store: o.store,
      logger: o.logger,
      chunkMaxChars: p.chunk_max_chars,
      runbooksDir: o.runbooksDir,
      attachCached: (chunks) => this.embedder.attachCached(this.sections, chunks),
      follow: (changed, removed) => this.follow(changed, removed),
    });
    const mirror = this.mirror;
    this.runbooks = new RunbookSearch({
      index: this.sections,
      embedder: this.embedder,
      threshold: p.match_threshold,
      ...(mirror ? { mirror } : {}),
    });
    this.incidents = new IncidentMemory({
      store: o.store,
      rrfK: p.rrf_k,
      candidates: p.candidates,
      vectors: this.embedder,
      ...(mirror ? { nearest: (ws: string, v: Float32Array, limit: number) => mirror.searchIncidents(ws, v, limit) } : {}),
    });
  }

  get dense(): boolean {
    return this.embedder.enabled;
  }

  /**
   * Indexes the runbooks folder, loads documents and incidents; vectors and
   * Qdrant follow in the background. Counts: runbook files (shared by every
   * workspace); documents workspaces stored and did not delete, in all and
   * per workspace (what `aiops knowledge list` shows there); indexed
   * sections of both; incidents.
   */
  async start(): Promise<{
    runbooks: number;
    documents: number;
    documents_by_workspace: Record<string, number>;
    sections: number;
    incidents: number;
  }> {
    const runbooks = this.catalogue.loadRunbooks();
    await this.refresh();
    if (this.o.refreshMs) {
      this.timer = setInterval(
        () => void this.refresh().catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'knowledge refresh failed')),
        this.o.refreshMs,
      );
      this.timer.unref();
    }
    this.inBackground(() => this.catchUp());
    const byWorkspace = this.catalogue.documentCounts();
    return {
      runbooks,
      documents: Object.values(byWorkspace).reduce((a, b) => a + b, 0),
      documents_by_workspace: byWorkspace,
      sections: this.sections.size,
      incidents: this.incidents.size,
    };
  }

  /** Resolves when the background work started by `start` (vectors, Qdrant sync) is done. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** Queues background work (one job at a time); a failure is logged, never thrown at a caller. */
  private inBackground(job: () => Promise<void>): void {
    const p = this.serial
      .run('background', job)
      .catch((err) => this.o.logger.warn({ err: (err as Error).message }, 'knowledge background work failed'))
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.settled();
    this.embedder.save();
  }

  /** Picks up documents and incidents written since the last refresh (by this replica or another). */
  refresh(): Promise<{ documents: number; incidents: number }> {
    return this.serial.run('refresh', async () => {
      const documents = await this.catalogue.refresh();
      const incidents = await this.incidents.refresh();
      if ((documents || incidents) && (this.embedder.enabled || this.mirror)) this.inBackground(() => this.catchUp());
      return { documents, incidents };
    });
  }

  /** Embeds what has no vector yet and brings Qdrant in step; failures are logged and retried later. */
  private async catchUp(): Promise<void> {
    await this.embedder.embedMissing();
    await this.mirror?.sync().catch(() => undefined);
  }

  /** Vectors and Qdrant for what a write changed; a failure there is a note, the write stands. */
  private async follow(changed: Chunk[], removed: Chunk[]): Promise<string[]> {
    const notes: string[] = [];
    if (changed.length && this.embedder.enabled && !(await this.embedder.embedMissing()))
      notes.push('the embedding model did not answer: the new sections are searchable by words now, by meaning once it is back');
    if (this.mirror && (changed.length || removed.length)) {
      const ok = await this.mirror.apply(changed, removed);
      if (!ok) notes.push('Qdrant did not take the change; searches use the embedded index until it is back in step');
    }
    return notes;
  }

  /** Runbook and document sections for a question or an alert, in the caller's workspace (and the shared ones). */
  searchRunbooks(workspace: string, query: string, opts: RunbookQuery = {}): Promise<RunbookRetrieval> {
    return this.runbooks.search(workspace, query, opts);
  }

  /** Past incidents of this workspace like the query; never another workspace's. */
  similarIncidents(
    workspace: string,
    query: string,
    opts: { k?: number; exclude?: string; since?: number } = {},
  ): Promise<Retrieval<IncidentHit>> {
    return this.incidents.search(workspace, query, opts);
  }

  /** The incident still going on with this root cause, if any (see IncidentMemory.ongoing). */
  ongoingIncident(workspace: string, service: string, kind: string, now: number, lastingMs: number): Incident | undefined {
    return this.incidents.ongoing(workspace, service, kind, now, lastingMs);
  }

  /** Open incidents of a workspace, optionally those a thread investigated. */
  openIncidents(workspace: string, threadId?: string): Incident[] {
    return this.incidents.open(workspace, threadId);
  }

  /** Stores an investigation's incident (new, updated or closed) and makes it searchable at once. */
  async recordIncident(i: Incident): Promise<void> {
    const chunk = await this.incidents.record(i);
    this.inBackground(async () => {
      await this.embedder.embedMissing();
      await this.mirror?.upsertIncidents([chunk]).catch(() => undefined);
    });
  }

  /** Adds or replaces documents of a workspace; all are checked before any is written. */
  putDocuments(
    workspace: string,
    sub: string,
    docs: { path: string; markdown: string }[],
  ): Promise<{ changes: DocumentChange[]; notes: string[] }> {
    return this.catalogue.put(workspace, sub, docs);
  }

  /** Removes a document of a workspace; false when there is none. */
  deleteDocument(workspace: string, docPath: string, sub: string): Promise<{ deleted: boolean; notes: string[] }> {
    return this.catalogue.delete(workspace, docPath, sub);
  }

  listDocuments(workspace: string) {
    return this.catalogue.list(workspace);
  }

  /** The section of the same document that says what to do (Mitigate, Remediation, Fix…), if it has one. */
  actionSection(hit: Pick<SectionHit, 'workspace' | 'path'>): SectionHit | undefined {
    return this.catalogue.actionSection(hit);
  }

  /** For the readiness report and GET /v1/knowledge; with a workspace, how many documents it has stored. */
  status(workspace?: string) {
    return {
      sections: this.sections.size,
      runbooks: this.catalogue.runbooks,
      ...(workspace !== undefined ? { documents: this.catalogue.documentCounts()[workspace] ?? 0 } : {}),
      incidents: this.incidents.size,
      dense: this.dense,
      vectors: this.sections.vectorCount,
      backend: this.mirror?.healthy() ? ('qdrant' as const) : ('embedded' as const),
      ...(this.mirror ? { qdrant: this.mirror.state() } : {}),
    };
  }
}
