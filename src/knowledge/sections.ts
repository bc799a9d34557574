import type { Chunk } from './markdown.ts';

/** The workspace of knowledge every workspace shares (the runbooks). */
export const SHARED = '*';

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

export interface Retrieval<T> {
  hits: T[];
  /** Which engine answered. */
  backend: 'qdrant' | 'embedded';
  /** Whether dense vectors took part. */
  dense: boolean;
  /** Anything the reader should know (a degraded engine, dense retrieval unavailable). */
  notes: string[];
}

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
