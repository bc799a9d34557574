import { z } from 'zod';

/** A ranked root-cause candidate with the evidence behind it. */
export const Hypothesis = z.object({
  service: z.string(),
  kind: z.string(),
  /** 0..1, comparable across specialists. */
  score: z.number(),
  evidence_ids: z.array(z.string()),
  summary: z.string(),
  agent: z.string(),
  /** How the fault reached the entry point, e.g. ["frontend", "checkout", "payment"]. */
  path: z.array(z.string()).optional(),
  /** For a symptom rather than a cause: the service that explains it. */
  explained_by: z.string().optional(),
});
export type Hypothesis = z.infer<typeof Hypothesis>;

export const byScore = (a: Hypothesis, b: Hypothesis) => b.score - a.score;
