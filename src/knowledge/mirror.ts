import { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { QdrantVectorStore } from '@langchain/qdrant';
import type { Qdrant } from '../clients/qdrant.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { Chunk } from './markdown.ts';
import { pointId, SectionCollection } from './qdrant-sections.ts';
import { SHARED } from './sections.ts';

/** What the mirror copies into Qdrant; it reads, never writes, its source. */
interface MirrorSource {
  /** Runbook and document sections. */
  sections(): Chunk[];
  /** Incident sections (only those with a vector go to Qdrant). */
  incidents(): Chunk[];
  vectorOf(c: Chunk): number[] | undefined;
  /** The embedding size, when there is an embedding model. */
  dimension(): Promise<number | undefined>;
}

interface MirrorOptions {
  policy: Policies['knowledge'];
  logger: Logger;
  /** With a model, incidents go to their own collection through @langchain/qdrant. */
  embeddings?: EmbeddingsInterface;
}

/**
 * Qdrant as the scale-out engine, a mirror of the embedded index: a failure
 * switches searches to the embedded index for `retry_after_s`, after which
 * Qdrant is brought back in step (content hashes make that cheap) before it
 * answers again.
 */
export class QdrantMirror {
  private readonly sectionsCol: SectionCollection;
  private readonly incidentsCol: QdrantVectorStore | undefined;
  private downUntil = 0;
  private synced = false;
  private syncing: Promise<void> | undefined;
  private lastError: string | undefined;
  private warned = false;
  private incidentIndexReady = false;

  constructor(
    private readonly qdrant: Qdrant,
    private readonly source: MirrorSource,
    private readonly o: MirrorOptions,
  ) {
    this.sectionsCol = new SectionCollection(qdrant.rest, o.policy.qdrant.collection, () => source.dimension());
    this.incidentsCol = o.embeddings ? qdrant.vectorStore(o.embeddings, o.policy.qdrant.incidents_collection) : undefined;
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

  /** Brings the collections in step with the source (one run at a time). */
  sync(): Promise<void> {
    this.syncing ??= this.syncNow().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /** Upserts what differs, deletes what is gone. */
  private async syncNow(): Promise<void> {
    try {
      const sections = this.source.sections();
      await this.sectionsCol.ensure();
      const current = await this.sectionsCol.hashes(['runbook', 'document']);
      const desired = new Map(sections.map((c) => [pointId(c.id), c]));
      const upserts = sections.filter((c) => current.get(pointId(c.id)) !== c.hash);
      const deletes = [...current.keys()].filter((id) => !desired.has(id));
      await this.sectionsCol.upsert(upserts, (c) => this.source.vectorOf(c));
      await this.sectionsCol.delete(deletes);
      await this.upsertIncidents(this.source.incidents(), true);
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
    if (!this.incidentsCol) return;
    let todo = chunks.filter((c) => this.source.vectorOf(c)?.length);
    if (!todo.length) return;
    try {
      await this.incidentsCol.ensureCollection();
      await this.indexIncidentWorkspace();
      if (onlyMissing) {
        const have = new Map<string, string | undefined>();
        for (let i = 0; i < todo.length; i += 500) {
          const present = await this.qdrant.rest.retrieve(this.o.policy.qdrant.incidents_collection, {
            ids: todo.slice(i, i + 500).map((c) => pointId(c.id)),
            with_payload: ['metadata'],
            with_vector: false,
          });
          for (const p of present) have.set(String(p.id), (p.payload as { metadata?: { hash?: string } }).metadata?.hash);
        }
        todo = todo.filter((c) => have.get(pointId(c.id)) !== c.hash);
      }
      if (!todo.length) return;
      await this.incidentsCol.addVectors(
        todo.map((c) => this.source.vectorOf(c)!),
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

  private async indexIncidentWorkspace(): Promise<void> {
    if (this.incidentIndexReady) return;
    const collection = this.o.policy.qdrant.incidents_collection;
    const info = await this.qdrant.rest.getCollection(collection);
    if (!('metadata.workspace' in ((info.payload_schema ?? {}) as object))) {
      await this.qdrant.rest.createPayloadIndex(collection, { field_name: 'metadata.workspace', field_schema: 'keyword', wait: true });
    }
    this.incidentIndexReady = true;
  }

  /** A write's sections into Qdrant; false when Qdrant failed (it is re-synced later). */
  async apply(changed: Chunk[], removed: Chunk[]): Promise<boolean> {
    if (this.unavailable()) return false;
    try {
      await this.sectionsCol.upsert(changed, (c) => this.source.vectorOf(c));
      await this.sectionsCol.delete(removed.map((c) => pointId(c.id)));
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** Runbook and document sections of the shared and the caller's workspace; no hits (with a note) when Qdrant may not answer. */
  async searchSections(
    workspace: string,
    query: string,
    dense: Float32Array | undefined,
    alert: { name: string; paths: string[] } | undefined,
    k: number,
  ): Promise<{ hits?: { chunk: Chunk; score: number }[]; dense: boolean; note?: string }> {
    const why = this.unavailable();
    if (why) return { dense: false, note: why };
    try {
      const vector = dense ? Array.from(dense) : undefined;
      const hits = await this.sectionsCol.search({
        query,
        dense: vector,
        alert,
        workspaces: [SHARED, workspace],
        sources: ['runbook', 'document'],
        k,
        candidates: this.o.policy.candidates,
        rrfK: this.o.policy.rrf_k,
      });
      return { hits, dense: !!vector && this.sectionsCol.usesDense(vector.length) };
    } catch (err) {
      this.failed(err);
      return { dense: false, note: `Qdrant failed (${this.lastError}); the embedded index answered` };
    }
  }

  /** Chunk ids of the workspace's incidents nearest to the vector. */
  async searchIncidents(workspace: string, vector: Float32Array, limit: number): Promise<{ ids?: string[]; note?: string }> {
    if (!this.incidentsCol) return {};
    const why = this.unavailable();
    if (why) return { note: why };
    try {
      const found = await this.incidentsCol.similaritySearchVectorWithScore(Array.from(vector), limit, {
        must: [{ key: 'metadata.workspace', match: { value: workspace } }],
      });
      return { ids: found.map(([doc]) => String((doc.metadata as { chunk_id?: string }).chunk_id)).filter((id) => id !== 'undefined') };
    } catch (err) {
      this.failed(err);
      return { note: `Qdrant failed (${this.lastError}); the embedded index answered` };
    }
  }
}
