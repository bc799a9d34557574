import { z } from 'zod';
import { defineTool } from '../definition.ts';
import { knowledgeOf } from './search-runbooks.ts';

export const similarIncidents = defineTool({
  name: 'similar_incidents',
  prefix: 'pi',
  category: 'knowledge',
  description:
    "Past investigations of this workspace like the current one: when, what the root cause was, what the answer said and which runbook it pointed to. Never another workspace's incidents.",
  args: z
    .object({
      query: z.string().trim().min(1).max(500).describe('the symptoms or suspected cause, in words'),
      k: z.number().int().min(1).max(10).default(3),
      since_days: z.number().int().min(1).max(3650).optional().describe('only incidents of the last N days'),
    })
    .strict(),
  defaultWindow: '1h',
  timeless: true,
  async run(run, args) {
    const kb = knowledgeOf(run);
    const since = args.since_days ? run.now - args.since_days * 86_400_000 : undefined;
    const result = await kb.similarIncidents(run.ctx.workspace, args.query, { k: args.k, exclude: run.ctx.threadId, since });
    const queryId = run.lookupId();
    const evidence = result.hits.map(({ incident: i, score }, n) =>
      run.evidence({
        kind: 'past_incident',
        service: i.root_service,
        summary: `${i.updated_at.slice(0, 16).replace('T', ' ')} UTC: ${i.root_kind.replace(/_/g, ' ')} in ${i.root_service}${i.alertname ? ` (alert ${i.alertname})` : ''}: ${i.summary.slice(0, 240)}`,
        numbers: { rank: n + 1, score, at_ms: Date.parse(i.updated_at) },
        attributes: {
          incident_id: i.id,
          thread_id: i.thread_id,
          root_service: i.root_service,
          root_kind: i.root_kind,
          ...(i.alertname ? { alertname: i.alertname } : {}),
          ...(i.runbooks.length ? { runbooks: i.runbooks.join(' ') } : {}),
        },
        examples: [i.question.slice(0, 200)],
        query_id: queryId,
        score,
      }),
    );
    return { evidence, notes: result.hits.length ? result.notes : [...result.notes, 'no similar past incident'] };
  },
});
