import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';

/**
 * Embeddings of chunk contents by content hash, kept in the data folder per
 * model: a restart or a re-index does not embed unchanged sections again.
 */
export class VectorCache {
  private readonly vectors = new Map<string, number[]>();
  private dirty = false;
  private readonly file: string | undefined;

  constructor(
    dir: string | undefined,
    readonly model: string,
  ) {
    this.file = dir ? path.join(dir, `vectors-${model.replace(/[^A-Za-z0-9_.-]+/g, '_')}.json`) : undefined;
    if (!this.file) return;
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, number[]>;
      for (const [hash, v] of Object.entries(saved)) if (Array.isArray(v)) this.vectors.set(hash, v);
    } catch {
      // No cache yet, or an unreadable one: embed again.
    }
  }

  get(hash: string): number[] | undefined {
    return this.vectors.get(hash);
  }

  /** Embeds what is missing (in batches), returns vectors in the order of `items`. */
  async ensure(embeddings: EmbeddingsInterface, items: { hash: string; text: string }[], batch = 32): Promise<number[][]> {
    const missing = [...new Map(items.filter((i) => !this.vectors.has(i.hash)).map((i) => [i.hash, i])).values()];
    for (let i = 0; i < missing.length; i += batch) {
      const part = missing.slice(i, i + batch);
      const out = await embeddings.embedDocuments(part.map((p) => p.text));
      part.forEach((p, j) => {
        if (out[j]?.length) this.vectors.set(p.hash, out[j]!);
      });
      this.dirty = true;
    }
    return items.map((i) => this.vectors.get(i.hash) ?? []);
  }

  /** Forgets vectors of contents no longer indexed. */
  retain(hashes: Set<string>): void {
    for (const hash of this.vectors.keys()) {
      if (!hashes.has(hash)) {
        this.vectors.delete(hash);
        this.dirty = true;
      }
    }
  }

  /** Writes the cache (atomically) when it changed. */
  save(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.vectors)));
    renameSync(tmp, this.file);
    this.dirty = false;
  }
}
