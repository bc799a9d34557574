import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { Logger } from '../observability/logger.ts';
import type { EmbeddedIndex } from './embedded.ts';
import type { Chunk } from './markdown.ts';
import { VectorCache } from './vectors.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

/** What the dense model reads of a section. */
export function embeddingText(c: Chunk): string {
  return `${c.title}. ${c.text}`.slice(0, 4000);
}

interface EmbedderOptions {
  embeddings?: EmbeddingsInterface;
  /** Names the cache file. */
  model?: string;
  cacheDir?: string;
  /** After a failure, how long to search by words only before asking the model again. */
  retryAfterS: number;
  logger: Logger;
  now: () => number;
  /** Every index whose sections get vectors (read at each run: incident indexes come and go). */
  indexes: () => EmbeddedIndex[];
}

/**
 * Dense vectors for the indexes: the embedding model, a cache by content
 * hash, and a pause after a failure so that a dead model does not slow
 * every search down. Without a model it does nothing and search is by words.
 */
export class Embedder {
  private readonly cache: VectorCache | undefined;
  private downUntil = 0;
  /** Embedding runs one at a time. */
  private readonly runs = new KeyedLock();

  constructor(private readonly o: EmbedderOptions) {
    this.cache = o.embeddings ? new VectorCache(o.cacheDir, o.model ?? 'embeddings') : undefined;
  }

  get enabled(): boolean {
    return this.o.embeddings !== undefined;
  }

  vectorOf(c: Chunk): number[] | undefined {
    return this.cache?.get(c.hash);
  }

  /** Gives chunks the vectors the cache already holds for their content. */
  attachCached(idx: EmbeddedIndex, chunks: Chunk[]): void {
    if (!this.cache) return;
    for (const c of chunks) {
      const v = this.cache.get(c.hash);
      if (v) idx.setVector(c.id, v);
    }
  }

  /** The model's vector size (asked when a collection is created). */
  async dimension(): Promise<number | undefined> {
    return this.o.embeddings ? (await this.o.embeddings.embedQuery('dimension probe')).length : undefined;
  }

  /** Embeds sections without a vector, one run at a time; false when the model failed. */
  embedMissing(): Promise<boolean> {
    return this.runs.run('embed', () => this.embedMissingNow());
  }

  private async embedMissingNow(): Promise<boolean> {
    if (!this.o.embeddings || !this.cache || this.o.now() < this.downUntil) return false;
    const indexes = this.o.indexes();
    const work = indexes.flatMap((idx) => idx.missingVectors().map((chunk) => ({ idx, chunk })));
    if (work.length === 0) return true;
    try {
      const vectors = await this.cache.ensure(
        this.o.embeddings,
        work.map((w) => ({ hash: w.chunk.hash, text: embeddingText(w.chunk) })),
      );
      for (const [i, w] of work.entries()) if (vectors[i]!.length) w.idx.setVector(w.chunk.id, vectors[i]!);
      this.cache.retain(new Set(indexes.flatMap((idx) => idx.all()).map((c) => c.hash)));
      this.cache.save();
      return true;
    } catch (err) {
      this.pause();
      this.o.logger.warn(
        { err: (err as Error).message, sections: work.length },
        'the embedding model failed; those sections are searched by words only for now',
      );
      return false;
    }
  }

  /** The query's embedding, or why there is none. */
  async embedQuery(text: string): Promise<{ vector?: Float32Array; note?: string }> {
    if (!this.o.embeddings) return {};
    if (this.o.now() < this.downUntil) return { note: 'dense retrieval is paused after an embedding failure; words only' };
    try {
      return { vector: Float32Array.from(await this.o.embeddings.embedQuery(text)) };
    } catch (err) {
      this.pause();
      this.o.logger.warn({ err: (err as Error).message }, 'embedding the query failed; searching by words only');
      return { note: 'the embedding model did not answer; words only' };
    }
  }

  private pause(): void {
    this.downUntil = this.o.now() + this.o.retryAfterS * 1000;
  }

  save(): void {
    this.cache?.save();
  }
}
