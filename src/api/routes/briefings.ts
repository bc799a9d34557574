import { createRoute, z } from '@hono/zod-openapi';
import { scoped } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { parseDuration } from '../../core/duration.ts';
import { problems } from '../../core/problem.ts';
import { Briefing as BriefingSchema } from '../../briefings/types.ts';
import { BriefingService } from '../../briefings/service.ts';
import { renderBriefingHtml } from '../../briefings/html.ts';
import type { AppDeps } from '../deps.ts';

/** Who may run a briefing now. */
export const BRIEFING_RUN_ROLES = ['sre', 'admin'];
const MAX_PERIOD_MS = 7 * 86_400_000;

const Briefing = BriefingSchema.meta({
  id: 'Briefing',
  description: 'A briefing: key figures, incidents with their status since the last briefing, recommendations, evidence',
});
const BriefingSummary = z
  .object({
    id: z.string(),
    workspace: z.string(),
    name: z.string(),
    period: z.object({ start: z.string(), end: z.string() }),
    created_at: z.string(),
    quiet: z.boolean(),
    incidents: z.number().int().openapi({ description: 'Open incidents (not counting resolved ones)' }),
    summary: z.string(),
  })
  .openapi('BriefingSummary');

const Name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", such as hourly');

const RunBriefing = z
  .object({
    name: Name.default('on-demand').openapi({
      description: "The schedule's name (its period, delivery and previous briefing apply), or any name for a one-off series",
    }),
    period: z
      .string()
      .refine((v) => {
        const ms = parseDuration(v);
        return ms !== undefined && ms >= 60_000 && ms <= MAX_PERIOD_MS;
      }, 'expected a duration from 1m to 7d, such as 30m or 1h')
      .optional()
      .openapi({ description: "What the briefing covers (default: the schedule's period, else 1h)", example: '1h' }),
    end: z.iso
      .datetime({ offset: true, message: 'expected an ISO 8601 time' })
      .optional()
      .openapi({ description: 'Where the period ends (default: the end of the last complete period, counted from midnight UTC)' }),
  })
  .strict()
  .openapi('RunBriefing');

const ListQuery = z
  .object({
    name: Name.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    workspace: z.string().optional(),
  })
  .strict();

const IdParam = z.object({
  id: z
    .string()
    .regex(/^br_[0-9a-f]{20}(\.html)?$/, 'expected a briefing id such as br_0123456789abcdef0123, optionally ending in .html')
    .openapi({ description: 'The briefing id; with `.html` appended, the page', example: 'br_0123456789abcdef0123' }),
});

/** /v1/briefings: run a briefing now, list them, read one as JSON or as a page. */
export function briefingRoutes(deps: AppDeps, briefings: BriefingService) {
  const app = router();
  const readers = scoped(...deps.policies.routing.chat_roles, 'admin');

  const run = createRoute({
    method: 'post',
    path: '/',
    tags: ['briefings'],
    operationId: 'runBriefing',
    summary: 'Write the briefing of a period now (idempotent per workspace, name and period), store it and deliver it',
    description:
      'The workspace comes from the token. A briefing that already exists for the workspace, name and period is returned as it is (200), so a retried CronJob writes nothing twice.',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(...BRIEFING_RUN_ROLES), jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { body: jsonRequest(RunBriefing) },
    responses: {
      201: { description: 'Written and stored; delivery follows', content: json(Briefing) },
      200: { description: 'Already written for this period', content: json(Briefing) },
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  });
  app.openapi(run, async (c) => {
    const { workspace, principal, trackingId } = c.var.scope;
    const body = c.req.valid('json');
    const schedule = briefings.schedule(workspace, body.name);
    const length = body.period ? parseDuration(body.period)! : briefings.periodMs(schedule);
    const period = BriefingService.period(length, Date.now(), body.end ? Date.parse(body.end) : undefined);
    const { briefing, created } = await briefings.run({
      workspace,
      name: body.name,
      period,
      trigger: c.req.header('user-agent')?.startsWith('aiops-cli') ? 'cli' : 'api',
      requestedBy: principal.sub,
      trackingId,
    });
    c.set('eventAttributes', { briefing: briefing.id, created: String(created), incidents: String(briefing.incidents.length) });
    return created ? c.json(briefing, 201) : c.json(briefing, 200);
  });

  const list = createRoute({
    method: 'get',
    path: '/',
    tags: ['briefings'],
    operationId: 'listBriefings',
    summary: "The workspace's briefings, newest period first",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [readers] as const,
    request: { query: ListQuery },
    responses: {
      200: { description: 'The briefings', content: json(z.object({ workspace: z.string(), briefings: z.array(BriefingSummary) })) },
      ...problemResponses(400, 401, 403, 503),
    },
  });
  app.openapi(list, async (c) => {
    const { workspace } = c.var.scope;
    const q = c.req.valid('query');
    return c.json({ workspace, briefings: await briefings.list(workspace, { name: q.name, limit: q.limit }) }, 200);
  });

  const get = createRoute({
    method: 'get',
    path: '/{id}',
    tags: ['briefings'],
    operationId: 'getBriefing',
    summary: 'One briefing as JSON, or (with `.html` after the id) as a page with charts of the key series',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [readers] as const,
    request: { params: IdParam },
    responses: {
      200: {
        description: 'The briefing',
        content: {
          ...json(Briefing),
          'text/html': { schema: z.string().openapi({ description: 'The page, for `/v1/briefings/{id}.html`' }) },
        },
      },
      ...problemResponses(400, 401, 403, 404, 503),
    },
  });
  app.openapi(get, async (c) => {
    const { workspace } = c.var.scope;
    const { id } = c.req.valid('param');
    const html = id.endsWith('.html');
    const b = await briefings.get(workspace, html ? id.slice(0, -5) : id);
    if (!b) throw problems.notFound(`there is no briefing ${id} in workspace ${workspace}`);
    if (html) {
      c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      c.header('X-Content-Type-Options', 'nosniff');
      return c.html(renderBriefingHtml(b), 200);
    }
    return c.json(b, 200);
  });
  return app;
}
