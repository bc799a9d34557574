import { z } from 'zod';
import { TimeRange } from './window.ts';

/**
 * One finding a tool returns: what it is, the numbers, the window it covers
 * and the query it came from. Answers cite evidence by id.
 */
export const Evidence = z.object({
  id: z.string(),
  tool: z.string(),
  kind: z.string(),
  /** One line a person can read; holds the key numbers. */
  summary: z.string(),
  service: z.string().optional(),
  numbers: z.record(z.string(), z.number()),
  attributes: z.record(z.string(), z.string()).default({}),
  window: TimeRange,
  baseline: TimeRange.optional(),
  query_id: z.string(),
  /** How strongly it stands out (tool-specific scale; higher is stronger). */
  score: z.number().optional(),
  /** A few example lines (log lines, series points), already bounded. */
  examples: z.array(z.string()).optional(),
  /** The points of a series (epoch ms, value), for charts; prompts see the summary, not the points. */
  series: z.object({ unit: z.string(), points: z.array(z.tuple([z.number(), z.number()])) }).optional(),
});
export type Evidence = z.infer<typeof Evidence>;

/** Rough token count of English and log text (about four characters a token), erring high. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3.6);
}

const clip = (s: string, n: number) => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

/**
 * Evidence as compact text for a prompt, within a token budget however many
 * items there are: items in the given order (most important first), each
 * with a few examples while room lasts, then a count of what was left out.
 */
export function renderEvidence(header: string, items: Evidence[], budgetTokens: number): { text: string; truncated: boolean } {
  const lines = [header];
  let used = estimateTokens(header);
  let shown = 0;
  const reserve = 20;
  for (const e of items) {
    const line = `[${e.id}] ${clip(e.summary, 400)}`;
    const cost = estimateTokens(line) + 1;
    if (used + cost > budgetTokens - reserve) break;
    lines.push(line);
    used += cost;
    shown++;
    for (const ex of e.examples ?? []) {
      const exLine = `    ${clip(ex, 220)}`;
      const exCost = estimateTokens(exLine) + 1;
      if (used + exCost > budgetTokens - reserve - 40) break;
      lines.push(exLine);
      used += exCost;
    }
  }
  const truncated = shown < items.length;
  if (truncated) lines.push(`(${items.length - shown} more findings not shown)`);
  return { text: lines.join('\n'), truncated };
}
