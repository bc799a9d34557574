import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';

/** One labelled case: an alert or a question, and the runbooks (file names) that answer it. */
export const RetrievalCase = z
  .object({
    query: z.string().min(1).optional(),
    alertname: z.string().min(1).optional(),
    expect: z.array(z.string().min(1)).min(1),
  })
  .strict()
  .refine((c) => c.query !== undefined || c.alertname !== undefined, 'a case needs a query or an alert name');
export type RetrievalCase = z.infer<typeof RetrievalCase>;

export function loadCases(file: string): RetrievalCase[] {
  return z.object({ cases: z.array(RetrievalCase).min(1) }).parse(parse(readFileSync(file, 'utf8'))).cases;
}

export interface RetrievalReport {
  cases: number;
  recall_at_1: number;
  recall_at_3: number;
  mrr: number;
  /** Cases whose answer is not in the top 3, with what came first. */
  misses: { case: RetrievalCase; got: string[] }[];
}

/** Distinct documents in the order their best section ranks, by file name. */
export function documentsInOrder(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const name = p.replace(/^.*\//, '');
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Scores a retriever on labelled cases at the document level: recall@1 and
 * recall@3 (a right runbook among the first one or three documents) and the
 * mean reciprocal rank of the first right one.
 */
export async function evaluateRetrieval(cases: RetrievalCase[], search: (c: RetrievalCase) => Promise<string[]>): Promise<RetrievalReport> {
  let r1 = 0;
  let r3 = 0;
  let rr = 0;
  const misses: RetrievalReport['misses'] = [];
  for (const c of cases) {
    const docs = documentsInOrder(await search(c));
    const rank = docs.findIndex((d) => c.expect.includes(d)) + 1;
    if (rank === 1) r1++;
    if (rank >= 1 && rank <= 3) r3++;
    else misses.push({ case: c, got: docs.slice(0, 3) });
    if (rank >= 1) rr += 1 / rank;
  }
  const n = cases.length;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return { cases: n, recall_at_1: round(r1 / n), recall_at_3: round(r3 / n), mrr: round(rr / n), misses };
}
