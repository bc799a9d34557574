import type { Embedder } from './embedder.ts';
import type { Chunk } from './markdown.ts';
import type { EmbeddedIndex } from './embedded.ts';
import type { QdrantMirror } from './mirror.ts';
import { type Retrieval, type RetrievalMode, type SectionHit, SHARED, toSectionHit } from './sections.ts';

/**
 * What can be an alert's own name (Prometheus-style: no spaces). Anything
 * else given as an alert name is a title in words: it is searched as words,
 * never matched as a name.
 */
export const ALERT_NAME = /^[A-Za-z0-9_:.-]{1,200}$/;

/**
 * Hits with the same content once, at the best rank of any of them: the
 * built-in runbook's when one is among them (a team's copy of a runbook, or
 * a section it kept unchanged, must not push other answers out).
 */
export function distinctByContent<T extends { chunk: Chunk }>(hits: T[]): T[] {
  const out: T[] = [];
  const at = new Map<string, number>();
  for (const h of hits) {
    const i = at.get(h.chunk.hash);
    if (i === undefined) {
      at.set(h.chunk.hash, out.length);
      out.push(h);
    } else if (h.chunk.source === 'runbook' && out[i]!.chunk.source !== 'runbook') out[i] = h;
  }
  return out;
}

export interface RunbookQuery {
  k?: number;
  /** An alert name, or an alert's title in words. */
  alertname?: string;
  mode?: RetrievalMode;
}

/**
 * Runbook and document search: Qdrant while it is in step (hybrid mode),
 * the embedded index otherwise; both see the shared runbooks and the
 * caller's workspace only.
 */
export class RunbookSearch {
  constructor(
    private readonly o: {
      index: EmbeddedIndex;
      embedder: Pick<Embedder, 'embedQuery'>;
      mirror?: Pick<QdrantMirror, 'searchSections'>;
    },
  ) {}

  async search(workspace: string, query: string, opts: RunbookQuery = {}): Promise<Retrieval<SectionHit>> {
    const k = opts.k ?? 5;
    const mode = opts.mode ?? 'hybrid';
    const title = opts.alertname?.trim();
    const alertname = title && ALERT_NAME.test(title) ? title : undefined;
    const text = title && !alertname ? `${query} ${title}` : query;
    const notes: string[] = [];
    const { vector, note } = mode === 'lexical' ? {} : await this.o.embedder.embedQuery(text);
    if (note) notes.push(note);
    if (mode === 'dense' && !vector)
      return { hits: [], backend: 'embedded', dense: false, notes: [...notes, 'no embedding model: dense retrieval is not available'] };
    if (this.o.mirror && mode === 'hybrid') {
      const viaQdrant = await this.o.mirror.searchSections(workspace, text, vector, alertname, k * 2);
      if (viaQdrant.hits)
        return {
          hits: distinctByContent(viaQdrant.hits)
            .slice(0, k)
            .map((h) => toSectionHit(h.chunk, h.score)),
          backend: 'qdrant',
          dense: viaQdrant.dense,
          notes,
        };
      if (viaQdrant.note) notes.push(viaQdrant.note);
    }
    // Twice as many as asked, so that k remain once copies are dropped.
    const hits = this.o.index.search(text, {
      k: k * 2,
      alertname,
      queryVector: vector,
      denseOnly: mode === 'dense',
      filter: (c) => c.workspace === SHARED || c.workspace === workspace,
    });
    return {
      hits: distinctByContent(hits)
        .slice(0, k)
        .map((h) => toSectionHit(h.chunk, h.score, h)),
      backend: 'embedded',
      dense: !!vector && this.o.index.vectorCount > 0,
      notes,
    };
  }
}
