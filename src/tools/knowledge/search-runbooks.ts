import { z } from 'zod';
import { Problem } from '../../core/problem.ts';
import { defineTool } from '../definition.ts';
import type { ToolRun } from '../run.ts';

/** The knowledge base of a run, or a clear 503 when the service runs without one. */
export function knowledgeOf(run: ToolRun) {
  const kb = run.ctx.knowledge;
  if (!kb)
    throw new Problem({
      status: 503,
      type: 'knowledge-unavailable',
      title: 'Knowledge unavailable',
      detail: 'the knowledge base is not loaded in this process',
    });
  return kb;
}

/**
 * An alert's name or, for alerts sent as plain titles, its title in words:
 * free text. A name (KubePodCrashLooping) can match a runbook written for
 * that alert; a title is searched as words.
 */
export const AlertName = z
  .string()
  .trim()
  .min(1)
  .max(200, 'at most 200 characters')
  .refine((s) => !/\p{Cc}/u.test(s), 'no control characters');

export const searchRunbooks = defineTool({
  name: 'search_runbooks',
  prefix: 'rb',
  category: 'knowledge',
  description:
    'Runbook sections (the project runbooks and the documents of this workspace) that answer a question or an alert: symptoms, how to confirm, mitigation, what not to do. Each result cites title, path and anchor, and says how well it matches (exact: written for the alert; strong; weak: do not cite).',
  args: z
    .object({
      query: z.string().trim().min(1).max(500).describe('what is wrong, in words: symptoms, the suspected cause, the alert'),
      alertname: AlertName.optional().describe(
        'the alert this is about (its name, or its title); runbooks written for that alert name rank first',
      ),
      k: z.number().int().min(1).max(10).default(3),
    })
    .strict(),
  defaultWindow: '1h',
  timeless: true,
  async run(run, args) {
    const kb = knowledgeOf(run);
    const result = await kb.searchRunbooks(run.ctx.workspace, args.query, { k: args.k, alertname: args.alertname });
    const queryId = run.lookupId();
    const evidence = result.hits.map((h, i) => {
      const action = kb.actionSection(h);
      return run.evidence({
        kind: 'runbook',
        summary: `${h.title} › ${h.section} (${h.citation})`,
        numbers: { rank: i + 1, score: h.score, match_score: h.match_score },
        attributes: {
          title: h.title,
          section: h.section,
          path: h.path,
          anchor: h.anchor,
          citation: h.citation,
          source: h.source,
          backend: result.backend,
          match: h.match,
          no_match: String(result.no_match),
          ...(action ? { action_section: action.section, action_citation: action.citation } : {}),
        },
        examples: [h.snippet],
        query_id: queryId,
        score: h.score,
      });
    });
    const notes = !result.hits.length
      ? [...result.notes, 'no runbook matches']
      : result.no_match
        ? [...result.notes, 'no_match: no runbook matches well enough to cite; the sections found are weak matches']
        : result.notes;
    return { evidence, notes };
  },
});
