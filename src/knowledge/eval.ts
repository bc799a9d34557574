import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/**
 * One labelled case: an alert or a question, and the runbooks (file names)
 * that answer it; none when no runbook covers it (nothing should be cited).
 */
export const RetrievalCase = z
  .object({
    query: z.string().min(1).optional(),
    alertname: z.string().min(1).optional(),
    expect: z.array(z.string().min(1)),
  })
  .strict()
  .refine((c) => c.query !== undefined || c.alertname !== undefined, 'a case needs a query or an alert name');
export type RetrievalCase = z.infer<typeof RetrievalCase>;

export function loadCases(file: string): RetrievalCase[] {
  return z.object({ cases: z.array(RetrievalCase).min(1) }).parse(parse(readFileSync(file, 'utf8'))).cases;
}

/** Whether some runbook answers the case. */
export const covered = (c: RetrievalCase) => c.expect.length > 0;

interface RetrievalReport {
  /** Covered cases (the ranking is measured on those). */
  cases: number;
  recall_at_1: number;
  recall_at_3: number;
  mrr: number;
  /** Cases whose answer is not in the top 3, with what came first. */
  misses: { case: RetrievalCase; got: string[] }[];
}

const fileName = (p: string) => p.replace(/^.*\//, '');
const round = (v: number) => Math.round(v * 1000) / 1000;

/** Distinct documents in the order their best section ranks, by file name. */
function documentsInOrder(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const name = fileName(p);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Scores a retriever on the covered cases at the document level: recall@1
 * and recall@3 (a right runbook among the first one or three documents) and
 * the mean reciprocal rank of the first right one.
 */
export async function evaluateRetrieval(cases: RetrievalCase[], search: (c: RetrievalCase) => Promise<string[]>): Promise<RetrievalReport> {
  let r1 = 0;
  let r3 = 0;
  let rr = 0;
  const misses: RetrievalReport['misses'] = [];
  const answerable = cases.filter(covered);
  for (const c of answerable) {
    const docs = documentsInOrder(await search(c));
    const rank = docs.findIndex((d) => c.expect.includes(d)) + 1;
    if (rank === 1) r1++;
    if (rank >= 1 && rank <= 3) r3++;
    else misses.push({ case: c, got: docs.slice(0, 3) });
    if (rank >= 1) rr += 1 / rank;
  }
  const n = answerable.length || 1;
  return { cases: answerable.length, recall_at_1: round(r1 / n), recall_at_3: round(r3 / n), mrr: round(rr / n), misses };
}

/** A case and the documents its search returned, in order: whether each is an exact alert match, and its match score. */
export interface MatchCase {
  case: RetrievalCase;
  docs: { name: string; exact: boolean; score: number }[];
}

/** Collapses graded hits (sections) to documents, each at its best rank, exact if any of its sections is. */
export function matchCase(c: RetrievalCase, hits: { path: string; match: string; match_score: number }[]): MatchCase {
  const docs: MatchCase['docs'] = [];
  for (const h of hits) {
    const name = fileName(h.path);
    const d = docs.find((x) => x.name === name);
    if (d) {
      d.exact ||= h.match === 'exact';
      d.score = Math.max(d.score, h.match_score);
    } else docs.push({ name, exact: h.match === 'exact', score: h.match_score });
  }
  return { case: c, docs };
}

/** What an answer would cite at this threshold: the first document that is an exact or strong match. */
function citedAt(m: MatchCase, threshold: number): string | undefined {
  return m.docs.find((d) => d.exact || d.score >= threshold)?.name;
}

type Outcome = 'right' | 'wrong' | 'missed' | 'false_match' | 'no_match';

function outcome(m: MatchCase, threshold: number): Outcome {
  const cited = citedAt(m, threshold);
  if (!covered(m.case)) return cited ? 'false_match' : 'no_match';
  return cited === undefined ? 'missed' : m.case.expect.includes(cited) ? 'right' : 'wrong';
}

/** An answer that cites the wrong runbook, cites one where none applies, or cites none where one does. */
const isError = (o: Outcome) => o === 'wrong' || o === 'false_match' || o === 'missed';

interface MatchReport {
  threshold: number;
  covered: number;
  uncovered: number;
  /** Covered cases whose answer cites a right runbook. */
  cited_recall: number;
  /** Covered cases whose answer cites a wrong runbook. */
  wrong_citation_rate: number;
  /** Uncovered cases whose answer cites a runbook anyway. */
  false_match_rate: number;
}

function report(outcomes: Outcome[], coveredN: number, threshold: number): MatchReport {
  const count = (o: Outcome) => outcomes.filter((x) => x === o).length;
  const uncovered = outcomes.length - coveredN;
  return {
    threshold: round(threshold),
    covered: coveredN,
    uncovered,
    cited_recall: round(count('right') / (coveredN || 1)),
    wrong_citation_rate: round(count('wrong') / (coveredN || 1)),
    false_match_rate: round(count('false_match') / (uncovered || 1)),
  };
}

/** Citation outcomes at a threshold. */
export function matchReport(cases: MatchCase[], threshold: number): MatchReport {
  return report(
    cases.map((m) => outcome(m, threshold)),
    cases.filter((m) => covered(m.case)).length,
    threshold,
  );
}

/** Thresholds worth trying: between each two neighbouring scores, and beyond both ends. */
function candidates(cases: MatchCase[]): number[] {
  const scores = [...new Set(cases.flatMap((m) => m.docs.filter((d) => !d.exact).map((d) => d.score)))].sort((a, b) => a - b);
  if (!scores.length) return [0.5];
  const out = [scores[0]! / 2];
  for (let i = 1; i < scores.length; i++) out.push((scores[i - 1]! + scores[i]!) / 2);
  out.push((scores.at(-1)! + 1) / 2);
  return out;
}

/**
 * The threshold with the fewest errors on these cases (a wrong citation, a
 * citation where no runbook applies and a missed one count the same); of
 * equally good ones, the middle one.
 */
export function calibrate(cases: MatchCase[]): number {
  const tries = candidates(cases).map((t) => ({ t, errors: cases.filter((m) => isError(outcome(m, t))).length }));
  const best = Math.min(...tries.map((x) => x.errors));
  const tied = tries.filter((x) => x.errors === best);
  return tied[Math.floor((tied.length - 1) / 2)]!.t;
}

/** The errors a threshold makes, and the fewest any threshold makes, on these cases. */
export function thresholdErrors(cases: MatchCase[], threshold: number): { errors: number; fewest: number } {
  const errors = (t: number) => cases.filter((m) => isError(outcome(m, t))).length;
  return { errors: errors(threshold), fewest: Math.min(...candidates(cases).map(errors)) };
}

/**
 * Leave-one-out: each case judged at the threshold calibrated on all the
 * others, so the figures say how a threshold chosen this way does on a case
 * it has not seen.
 */
export function leaveOneOut(cases: MatchCase[]): MatchReport & { thresholds: { min: number; max: number } } {
  const thresholds: number[] = [];
  const outcomes = cases.map((m, i) => {
    const t = calibrate(cases.filter((_, j) => j !== i));
    thresholds.push(t);
    return outcome(m, t);
  });
  const all = calibrate(cases);
  return {
    ...report(outcomes, cases.filter((m) => covered(m.case)).length, all),
    thresholds: { min: round(Math.min(...thresholds)), max: round(Math.max(...thresholds)) },
  };
}
