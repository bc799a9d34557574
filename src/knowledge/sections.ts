import type { Chunk } from './markdown.ts';

/** The workspace of knowledge every workspace shares (the runbooks). */
export const SHARED = '*';

export type RetrievalMode = 'hybrid' | 'lexical' | 'dense';

/**
 * How well a hit answers the search: `exact` when its document is written
 * for the alert named, `strong` when it holds enough of the query's words
 * (policy `match_threshold`), `weak` otherwise. Answers cite exact and
 * strong hits only.
 */
export type MatchGrade = 'exact' | 'strong' | 'weak';

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
  match: MatchGrade;
  /** The share of the query's word weight (IDF) the hit's document holds, 0 to 1. */
  match_score: number;
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

export interface RunbookRetrieval extends Retrieval<SectionHit> {
  /** No hit is an exact or strong match: nothing should be cited. */
  no_match: boolean;
}

const snippetOf = (c: Chunk) => {
  const body = c.text
    .slice(c.text.indexOf('\n\n') + 2)
    .replace(/\s+/g, ' ')
    .trim();
  return body.length > 280 ? `${body.slice(0, 279)}…` : body;
};

export function toSectionHit(
  c: Chunk,
  score: number,
  ranks: { lexicalRank?: number; denseRank?: number } = {},
  match: { grade: MatchGrade; score: number } = { grade: 'weak', score: 0 },
): SectionHit {
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
    match: match.grade,
    match_score: Number(match.score.toFixed(3)),
    ...(ranks.lexicalRank ? { lexical_rank: ranks.lexicalRank } : {}),
    ...(ranks.denseRank ? { dense_rank: ranks.denseRank } : {}),
  };
}
