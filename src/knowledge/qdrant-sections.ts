import { createHash } from 'node:crypto';
import type { QdrantClient, Schemas } from '@qdrant/js-client-rest';
import { z } from 'zod';
import type { Chunk } from './markdown.ts';
import { bm25Document, bm25Query } from './sparse.ts';

/** Qdrant point ids are UUIDs or integers: a chunk id (32 hex digits) written as a UUID. */
export function pointId(chunkId: string): string {
  const h = /^[0-9a-f]{32}$/.test(chunkId) ? chunkId : createHash('sha256').update(chunkId).digest('hex').slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Payload fields we filter by; each gets a keyword index. */
const INDEXED_FIELDS = ['workspace', 'source', 'path', 'alerts'] as const;
const DENSE = 'dense';
const SPARSE = 'bm25';

/** A section as stored in a point's payload (the chunk, its id as `chunk_id`). */
const ChunkPayload = z.object({
  chunk_id: z.string(),
  source: z.enum(['runbook', 'document', 'incident']),
  workspace: z.string(),
  path: z.string(),
  title: z.string(),
  section: z.string(),
  anchor: z.string(),
  text: z.string(),
  alerts: z.array(z.string()),
  services: z.array(z.string()),
  tags: z.array(z.string()),
  hash: z.string(),
});

interface QdrantSearch {
  query: string;
  dense?: number[];
  /** The alert: its name joins the words; the paths of the documents written for it get their own prefetch. */
  alert?: { name: string; paths: string[] };
  workspaces: string[];
  sources: Chunk['source'][];
  k: number;
  candidates: number;
  rrfK: number;
}

/**
 * Runbook and document sections in one Qdrant collection: a named dense
 * vector (when an embedding model is configured) and a `bm25` sparse vector
 * with the IDF modifier, searched with prefetches fused by RRF on the server.
 * The chunk itself is the payload, so a hit needs no second lookup.
 */
export class SectionCollection {
  private denseSize: number | undefined;
  private ready: Promise<void> | undefined;

  constructor(
    readonly client: QdrantClient,
    readonly collection: string,
    /** The embedding size when dense vectors are used (asked only when the collection is created). */
    private readonly dimension: () => Promise<number | undefined>,
  ) {}

  /** Creates the collection and its payload indexes when absent; learns whether it has a dense vector. */
  ensure(): Promise<void> {
    this.ready ??= (async () => {
      const { exists } = await this.client.collectionExists(this.collection);
      if (!exists) {
        const size = await this.dimension();
        await this.client.createCollection(this.collection, {
          ...(size ? { vectors: { [DENSE]: { size, distance: 'Cosine' } } } : {}),
          sparse_vectors: { [SPARSE]: { modifier: 'idf' } },
        });
      }
      const info = await this.client.getCollection(this.collection);
      const vectors = info.config.params.vectors as Record<string, { size?: number }> | { size?: number } | undefined;
      const named = vectors && !('size' in vectors) ? (vectors as Record<string, { size?: number }>)[DENSE] : undefined;
      this.denseSize = named?.size;
      const schema = (info.payload_schema ?? {}) as Record<string, unknown>;
      for (const field of INDEXED_FIELDS) {
        if (!(field in schema))
          await this.client.createPayloadIndex(this.collection, { field_name: field, field_schema: 'keyword', wait: true });
      }
    })().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** Whether the collection holds dense vectors of this size (an existing collection may not). */
  usesDense(size: number | undefined): boolean {
    return size !== undefined && this.denseSize === size;
  }

  /** Id → content hash of every point of the given sources. */
  async hashes(sources: Chunk['source'][]): Promise<Map<string, string>> {
    await this.ensure();
    const out = new Map<string, string>();
    let offset: string | number | undefined | null;
    do {
      const page: Awaited<ReturnType<QdrantClient['scroll']>> = await this.client.scroll(this.collection, {
        limit: 1000,
        with_payload: ['hash', 'chunk_id'],
        with_vector: false,
        filter: { must: [{ key: 'source', match: { any: sources } }] },
        ...(offset !== undefined && offset !== null ? { offset } : {}),
      });
      for (const p of page.points) out.set(String(p.id), String((p.payload as { hash?: string } | null)?.hash ?? ''));
      offset = page.next_page_offset as string | number | null | undefined;
    } while (offset !== undefined && offset !== null);
    return out;
  }

  async upsert(chunks: Chunk[], vectorOf: (c: Chunk) => number[] | undefined): Promise<void> {
    await this.ensure();
    for (let i = 0; i < chunks.length; i += 256) {
      const batch = chunks.slice(i, i + 256);
      await this.client.upsert(this.collection, {
        wait: true,
        points: batch.map((c) => {
          const dense = vectorOf(c);
          return {
            id: pointId(c.id),
            vector: {
              [SPARSE]: bm25Document(c),
              ...(dense && this.usesDense(dense.length) ? { [DENSE]: dense } : {}),
            },
            payload: { ...c, chunk_id: c.id },
          };
        }),
      });
    }
  }

  async delete(pointIds: string[]): Promise<void> {
    if (pointIds.length === 0) return;
    await this.ensure();
    for (let i = 0; i < pointIds.length; i += 1000)
      await this.client.delete(this.collection, { wait: true, points: pointIds.slice(i, i + 1000) });
  }

  /** Sparse (and dense, and the alert's own documents) prefetches fused by reciprocal rank on the server. */
  async search(s: QdrantSearch): Promise<{ chunk: Chunk; score: number }[]> {
    await this.ensure();
    const scope = {
      must: [
        { key: 'workspace', match: { any: s.workspaces } },
        { key: 'source', match: { any: s.sources } },
      ],
    };
    const sparse = bm25Query(s.alert ? `${s.query} ${s.alert.name}` : s.query);
    const prefetch: Schemas['Prefetch'][] = [];
    const weights: number[] = [];
    if (sparse.indices.length) {
      prefetch.push({ query: sparse, using: SPARSE, limit: s.candidates, filter: scope });
      weights.push(1);
    }
    if (s.dense && this.usesDense(s.dense.length)) {
      prefetch.push({ query: s.dense, using: DENSE, limit: s.candidates, filter: scope });
      weights.push(1);
    }
    if (s.alert?.paths.length && sparse.indices.length) {
      prefetch.push({
        query: sparse,
        using: SPARSE,
        limit: s.candidates,
        filter: { must: [...scope.must, { key: 'path', match: { any: s.alert.paths } }] },
      });
      weights.push(2);
    }
    if (prefetch.length === 0) return [];
    const res = await this.client.query(this.collection, {
      prefetch,
      query: { rrf: { k: s.rrfK, weights } },
      limit: s.k,
      with_payload: true,
    });
    const out: { chunk: Chunk; score: number }[] = [];
    for (const p of res.points) {
      // A point written by something else (or an older version) is skipped, not trusted.
      const parsed = ChunkPayload.safeParse(p.payload);
      if (!parsed.success) continue;
      const { chunk_id, ...rest } = parsed.data;
      out.push({ chunk: { ...rest, id: chunk_id }, score: p.score });
    }
    return out;
  }
}
