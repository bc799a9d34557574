import type { Store } from '../clients/clickhouse.ts';
import { EmbeddedIndex, type Hit, rrf } from './embedded.ts';
import { Incident, IncidentStore, incidentChunk } from './incidents.ts';
import type { Chunk } from './markdown.ts';
import type { Retrieval } from './sections.ts';

export interface IncidentHit {
  incident: Incident;
  score: number;
}

/** The dense side of incident search when Qdrant holds it: chunk ids nearest to a vector, or why there are none. */
type NearestIncidents = (workspace: string, vector: Float32Array, limit: number) => Promise<{ ids?: string[]; note?: string }>;

interface IncidentMemoryOptions {
  store: Store;
  rrfK: number;
  candidates: number;
  /** Vectors: cached ones for new incidents, and the query's embedding. */
  vectors: {
    attachCached(idx: EmbeddedIndex, chunks: Chunk[]): void;
    embedQuery(text: string): Promise<{ vector?: Float32Array; note?: string }>;
  };
  nearest?: NearestIncidents;
}

/**
 * Past incidents, one index per workspace so that a search can never reach
 * another workspace's. ClickHouse holds the record; each replica indexes
 * what any of them recorded.
 */
export class IncidentMemory {
  private readonly indexes = new Map<string, EmbeddedIndex>();
  private readonly incidents = new Map<string, Incident>();
  private readonly store: IncidentStore;

  constructor(private readonly o: IncidentMemoryOptions) {
    this.store = new IncidentStore(o.store);
  }

  get size(): number {
    return this.incidents.size;
  }

  allIndexes(): EmbeddedIndex[] {
    return [...this.indexes.values()];
  }

  chunks(): Chunk[] {
    return this.allIndexes().flatMap((i) => i.all());
  }

  private indexOf(workspace: string): EmbeddedIndex {
    let idx = this.indexes.get(workspace);
    if (!idx) {
      idx = new EmbeddedIndex({ rrfK: this.o.rrfK, candidates: this.o.candidates });
      this.indexes.set(workspace, idx);
    }
    return idx;
  }

  private apply(i: Incident): Chunk {
    const chunk = incidentChunk(i);
    this.incidents.set(chunk.id, i);
    const idx = this.indexOf(i.workspace);
    const { added, updated } = idx.upsert([chunk]);
    this.o.vectors.attachCached(idx, [...added, ...updated]);
    return chunk;
  }

  /** Picks up incidents recorded since the last call (by any replica); how many. */
  async refresh(): Promise<number> {
    const incidents = await this.store.changes();
    for (const i of incidents) this.apply(i);
    return incidents.length;
  }

  /** Stores a completed investigation and makes it searchable at once; its section, for the mirror. */
  async record(i: Incident): Promise<Chunk> {
    const parsed = Incident.parse(i);
    await this.store.record(parsed);
    return this.apply(parsed);
  }

  /** The incident still going on in a workspace with this root cause (updated within `lastingMs`), if any. */
  ongoing(workspace: string, service: string, kind: string, now: number, lastingMs: number): Incident | undefined {
    return [...this.incidents.values()]
      .filter(
        (i) =>
          i.workspace === workspace &&
          i.status === 'open' &&
          i.root_service === service &&
          i.root_kind === kind &&
          Date.parse(i.updated_at) >= now - lastingMs,
      )
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0];
  }

  /** A workspace's incidents that are still open, optionally only those a thread investigated. */
  open(workspace: string, threadId?: string): Incident[] {
    return [...this.incidents.values()].filter(
      (i) => i.workspace === workspace && i.status === 'open' && (!threadId || i.threads.includes(threadId) || i.thread_id === threadId),
    );
  }

  /** Past incidents of this workspace like the query; never another workspace's, never one still going on. */
  async search(
    workspace: string,
    query: string,
    opts: { k?: number; exclude?: string; since?: number } = {},
  ): Promise<Retrieval<IncidentHit>> {
    const k = opts.k ?? 3;
    const idx = this.indexes.get(workspace);
    const notes: string[] = [];
    if (!idx || idx.size === 0)
      return { hits: [], backend: 'embedded', dense: false, notes: ['no past incidents recorded in this workspace yet'] };
    const { vector, note } = await this.o.vectors.embedQuery(query);
    if (note) notes.push(note);
    const keep = (c: Chunk) => {
      const i = this.incidents.get(c.id);
      // An open incident is the one going on now (or another current one): never "seen before".
      return (
        !!i &&
        i.workspace === workspace &&
        i.status === 'closed' &&
        i.id !== opts.exclude &&
        !(opts.exclude && i.threads.includes(opts.exclude)) &&
        (opts.since === undefined || Date.parse(i.updated_at) >= opts.since)
      );
    };
    let backend: Retrieval<IncidentHit>['backend'] = 'embedded';
    let hits: Hit[];
    const dense = vector && this.o.nearest ? await this.o.nearest(workspace, vector, this.o.candidates) : undefined;
    if (dense?.ids) {
      // Words from the embedded index, meaning from Qdrant, fused here.
      backend = 'qdrant';
      const lexical = idx.search(query, { k: this.o.candidates, filter: keep }).map((h) => h.chunk.id);
      const fused = rrf([{ ids: lexical }, { ids: dense.ids.filter((id) => idx.get(id) && keep(idx.get(id)!)) }], this.o.rrfK);
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
}
