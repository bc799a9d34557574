import type { Embedder } from './embedder.ts';
import type { Chunk } from './markdown.ts';
import type { EmbeddedIndex } from './embedded.ts';
import type { QdrantMirror } from './mirror.ts';
import { type MatchGrade, type RetrievalMode, type RunbookRetrieval, SHARED, toSectionHit } from './sections.ts';

/**
 * What can be an alert's own name (Prometheus-style: no spaces). Anything
 * else given as an alert name is a title in words: it is searched as words,
 * never matched as a name.
 */
const ALERT_NAME = /^[A-Za-z0-9_:.-]{1,200}$/;

/**
 * Hits with the same content once, at the best rank of any of them: the
 * built-in runbook's when one is among them (a team's copy of a runbook, or
 * a section it kept unchanged, must not push other answers out).
 */
function distinctByContent<T extends { chunk: Chunk }>(hits: T[]): T[] {
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

interface Ranked {
  chunk: Chunk;
  score: number;
  lexicalRank?: number;
  denseRank?: number;
}

/**
 * Runbook and document search: Qdrant while it is in step (hybrid mode),
 * the embedded index otherwise; both see the shared runbooks and the
 * caller's workspace only. Every hit is graded (see MatchGrade) against the
 * embedded index, whichever engine ranked it, so grades do not depend on
 * the engine.
 */
export class RunbookSearch {
  constructor(
    private readonly o: {
      index: EmbeddedIndex;
      embedder: Pick<Embedder, 'embedQuery'>;
      mirror?: Pick<QdrantMirror, 'searchSections'>;
      /** Policy `match_threshold`. */
      threshold: number;
    },
  ) {}

  async search(workspace: string, query: string, opts: RunbookQuery = {}): Promise<RunbookRetrieval> {
    const k = opts.k ?? 5;
    const mode = opts.mode ?? 'hybrid';
    const title = opts.alertname?.trim();
    const alertname = title && ALERT_NAME.test(title) ? title : undefined;
    const text = title && !alertname ? `${query} ${title}` : query;
    const visible = (c: Chunk) => c.workspace === SHARED || c.workspace === workspace;
    const exact = new Set(alertname ? [...this.o.index.alertSections(alertname)].filter((id) => visible(this.o.index.get(id)!)) : []);
    const notes: string[] = [];
    const { vector, note } = mode === 'lexical' ? {} : await this.o.embedder.embedQuery(text);
    if (note) notes.push(note);
    if (mode === 'dense' && !vector)
      return {
        hits: [],
        backend: 'embedded',
        dense: false,
        no_match: true,
        notes: [...notes, 'no embedding model: dense retrieval is not available'],
      };
    let ranked: Ranked[] | undefined;
    let backend: RunbookRetrieval['backend'] = 'embedded';
    let dense = !!vector && this.o.index.vectorCount > 0;
    // Each engine is asked for twice as many as wanted, so that k remain once copies are folded.
    if (this.o.mirror && mode === 'hybrid') {
      const paths = [...new Set([...exact].map((id) => this.o.index.get(id)!.path))];
      const viaQdrant = await this.o.mirror.searchSections(
        workspace,
        text,
        vector,
        alertname ? { name: alertname, paths } : undefined,
        k * 2,
      );
      if (viaQdrant.hits) {
        // The server fuses the alert's documents in; here they also come first, as in the embedded index.
        ranked = [...viaQdrant.hits].sort((a, b) => Number(exact.has(b.chunk.id)) - Number(exact.has(a.chunk.id)));
        backend = 'qdrant';
        dense = viaQdrant.dense;
      } else if (viaQdrant.note) notes.push(viaQdrant.note);
    }
    ranked ??= this.o.index.search(text, {
      k: k * 2,
      alertname,
      queryVector: vector,
      denseOnly: mode === 'dense',
      filter: visible,
    });
    // The alert's name is part of what is asked: a document that does not know it holds less of the query.
    const asked = alertname ? `${text} ${alertname}` : text;
    const hits = distinctByContent(ranked)
      .slice(0, k)
      .map((h) => {
        const score = this.o.index.coverage(asked, this.o.index.documentSections(h.chunk));
        const grade: MatchGrade = exact.has(h.chunk.id) ? 'exact' : score >= this.o.threshold ? 'strong' : 'weak';
        return toSectionHit(h.chunk, h.score, h, { grade, score });
      });
    return { hits, backend, dense, no_match: !hits.some((h) => h.match !== 'weak'), notes };
  }
}
