import { Bm25Index } from './bm25.ts';
import type { Chunk } from './markdown.ts';

interface SearchOptions {
  k: number;
  /** The documents written for this alert (see `alertKeys`) rank first. */
  alertname?: string;
  /** Which chunks may be returned (source, workspace). */
  filter?: (c: Chunk) => boolean;
  /** The query's embedding: with it, dense retrieval joins the lexical one. */
  queryVector?: Float32Array;
  /** Leave lexical retrieval out (to measure dense alone). */
  denseOnly?: boolean;
}

export interface Hit {
  chunk: Chunk;
  /** Fused score (reciprocal rank fusion). */
  score: number;
  lexicalRank?: number;
  denseRank?: number;
}

/** Reciprocal rank fusion of ranked id lists (weights per list). */
export function rrf(lists: { ids: string[]; weight?: number }[], k: number): Map<string, number> {
  const scores = new Map<string, number>();
  for (const { ids, weight = 1 } of lists) {
    for (const [rank, id] of ids.entries()) scores.set(id, (scores.get(id) ?? 0) + weight / (k + rank + 1));
  }
  return scores;
}

/** Unit length, so that a dot product is the cosine. */
export function normalise(v: ArrayLike<number>): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i]! * v[i]!;
  const out = new Float32Array(v.length);
  const s = n ? 1 / Math.sqrt(n) : 0;
  for (let i = 0; i < v.length; i++) out[i] = v[i]! * s;
  return out;
}

function dot(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return -1;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** An alert name as compared: case, spaces and punctuation do not count (KubePodCrashLooping = kube-pod-crash-looping). */
const alertKey = (name: string) => name.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');

/**
 * The alert names a section's document is written for: those its front
 * matter lists, and its title and file name, as collections named after
 * their alerts (KubePodCrashLooping.md, "# KubePodCrashLooping") have no
 * front matter to say so.
 */
function alertKeys(c: Chunk): string[] {
  const stem = c.path.replace(/^.*\//, '').replace(/\.(md|markdown)$/i, '');
  return [...new Set([...c.alerts, c.title, stem].map(alertKey).filter(Boolean))];
}

/** Fields of a section for BM25, and how much each counts. */
export const FIELD_WEIGHTS = { title: 2.5, section: 1.5, alerts: 3, tags: 1.5, text: 1 } as const;
export const fieldTexts = (c: Chunk): string[] => [c.title, c.section, c.alerts.join(' '), c.tags.join(' '), c.text];

/**
 * The in-process index: BM25 over the sections (field-weighted, our
 * analyser), exact cosine over dense vectors when there are any, fused by
 * reciprocal rank. Re-indexing is incremental: a chunk whose
 * hash did not change is left alone.
 */
export class EmbeddedIndex {
  private readonly chunks = new Map<string, Chunk>();
  private readonly vectors = new Map<string, Float32Array>();
  /** Chunk ids by the alert keys (`alertKeys`) of their document. */
  private readonly byAlert = new Map<string, Set<string>>();
  /** Chunk ids by document (workspace and path). */
  private readonly byDoc = new Map<string, Set<string>>();
  private readonly lexical = new Bm25Index(Object.values(FIELD_WEIGHTS));

  constructor(private readonly opts: { rrfK: number; candidates: number }) {}

  get size() {
    return this.chunks.size;
  }

  get vectorCount() {
    return this.vectors.size;
  }

  get(id: string): Chunk | undefined {
    return this.chunks.get(id);
  }

  all(): Chunk[] {
    return [...this.chunks.values()];
  }

  /** Chunks without a dense vector yet. */
  missingVectors(): Chunk[] {
    return this.all().filter((c) => !this.vectors.has(c.id));
  }

  setVector(id: string, v: ArrayLike<number>): void {
    if (this.chunks.has(id)) this.vectors.set(id, normalise(v));
  }

  /** Adds or replaces chunks; returns what changed. */
  upsert(chunks: Chunk[]): { added: Chunk[]; updated: Chunk[]; unchanged: number } {
    const added: Chunk[] = [];
    const updated: Chunk[] = [];
    let unchanged = 0;
    for (const c of chunks) {
      const old = this.chunks.get(c.id);
      if (old && old.hash === c.hash) {
        unchanged++;
        continue;
      }
      if (old) {
        this.forget(old);
        updated.push(c);
      } else added.push(c);
      this.chunks.set(c.id, c);
      for (const key of alertKeys(c)) (this.byAlert.get(key) ?? this.byAlert.set(key, new Set()).get(key)!).add(c.id);
      const doc = docOf(c);
      (this.byDoc.get(doc) ?? this.byDoc.set(doc, new Set()).get(doc)!).add(c.id);
      this.lexical.add(c.id, fieldTexts(c));
    }
    return { added, updated, unchanged };
  }

  /** Removes the chunks of a document (its path in a workspace) that are not in `keep`. */
  removeStale(workspace: string, path: string, keep: Set<string>): Chunk[] {
    const removed: Chunk[] = [];
    for (const c of this.chunks.values()) {
      if (c.path !== path || c.workspace !== workspace || keep.has(c.id)) continue;
      removed.push(c);
    }
    for (const c of removed) {
      this.forget(c);
      this.chunks.delete(c.id);
    }
    return removed;
  }

  private forget(c: Chunk): void {
    this.lexical.remove(c.id);
    this.vectors.delete(c.id);
    for (const key of alertKeys(c)) this.byAlert.get(key)?.delete(c.id);
    this.byDoc.get(docOf(c))?.delete(c.id);
  }

  /** Sections of the documents written for this alert (by front matter, title or file name). */
  alertSections(alertname: string): Set<string> {
    return this.byAlert.get(alertKey(alertname)) ?? new Set();
  }

  /** The ids of every section of a section's document. */
  documentSections(c: Chunk): string[] {
    return [...(this.byDoc.get(docOf(c)) ?? [c.id])];
  }

  /** How much of the query the sections hold, 0 to 1 (see Bm25Index.coverage). */
  coverage(query: string, ids: string[]): number {
    return this.lexical.coverage(query, ids);
  }

  search(query: string, o: SearchOptions): Hit[] {
    const allowed = (id: string) => {
      const c = this.chunks.get(id);
      return !!c && (!o.filter || o.filter(c));
    };
    const lexical = o.denseOnly ? [] : this.lexical.search(query, this.opts.candidates, allowed).map((r) => r.id);
    const lists: { ids: string[]; weight?: number }[] = [{ ids: lexical }];
    let dense: string[] = [];
    if (o.queryVector && this.vectors.size) {
      const q = normalise(o.queryVector);
      const scored: [string, number][] = [];
      for (const [id, v] of this.vectors) if (allowed(id)) scored.push([id, dot(q, v)]);
      dense = scored
        .sort((a, b) => b[1] - a[1])
        .slice(0, this.opts.candidates)
        .map(([id]) => id);
      lists.push({ ids: dense });
    }
    const exact = new Set(o.alertname ? [...this.alertSections(o.alertname)].filter(allowed) : []);
    if (exact.size) {
      const ranked = o.denseOnly ? dense : lexical;
      // The sections of documents written for this alert, in the order the query ranks them.
      const matching = [...exact].sort((a, b) => rankOf(ranked, a) - rankOf(ranked, b));
      lists.push({ ids: matching, weight: 2 });
    }
    const fused = rrf(lists, this.opts.rrfK);
    const lexRank = new Map(lexical.map((id, i) => [id, i + 1]));
    const denseRank = new Map(dense.map((id, i) => [id, i + 1]));
    // A document written for the alert comes first, whatever the words say.
    const first = (id: string) => (exact.has(id) ? 0 : 1);
    return [...fused.entries()]
      .sort((a, b) => first(a[0]) - first(b[0]) || b[1] - a[1])
      .slice(0, o.k)
      .map(([id, score]) => ({
        chunk: this.chunks.get(id)!,
        score,
        ...(lexRank.has(id) ? { lexicalRank: lexRank.get(id) } : {}),
        ...(denseRank.has(id) ? { denseRank: denseRank.get(id) } : {}),
      }));
  }
}

const rankOf = (list: string[], id: string) => {
  const i = list.indexOf(id);
  return i < 0 ? Number.MAX_SAFE_INTEGER : i;
};

const docOf = (c: Chunk) => `${c.workspace}\n${c.path}`;
