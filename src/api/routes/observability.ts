import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { requireScope, type ScopedEnv } from '../middleware/auth.ts';
import { bearerAuth, json, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { problems } from '../../core/problem.ts';
import { hasRole } from '../../core/scope.ts';
import type { Role } from '../../core/roles.ts';
import { auditOf, BREAKDOWNS, proposalOutcomes, wideEventOf, type FactRow, type Period } from '../../storage/request-facts.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

/** Who reads the service's own stats: for the token's workspaces. */
export const STATS_ROLES: Role[] = ['admin', 'auditor'];
const DAY = 86_400_000;

const PeriodQuery = z
  .object({
    from: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time' }).optional(),
    to: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time' }).optional(),
    workspace: z.string().optional(),
  })
  .strict();
const BreakdownQuery = PeriodQuery.extend({ by: z.enum(BREAKDOWNS) }).strict();

const Latency = z.object({
  name: z.string(),
  count: z.number(),
  errors: z.number(),
  p50_ms: z.number(),
  p95_ms: z.number(),
  p99_ms: z.number(),
});
const PeriodOut = z.object({ workspaces: z.array(z.string()), from: z.string(), to: z.string() });
const Summary = z
  .object({
    period: PeriodOut,
    counts: z.record(z.string(), z.number()).openapi({
      description:
        'chat_turns, alert_investigations, briefings, tool_calls, tool_errors, model_calls, model_cache_hits, model_errors, requests, request_errors, turn_errors',
    }),
    proposals: z
      .record(z.string(), z.number())
      .openapi({ description: 'proposed, dropped, approved, rejected, expired, sent, send_failed' }),
  })
  .openapi('StatsSummary');
const Breakdown = z
  .object({
    period: PeriodOut,
    by: z.enum(BREAKDOWNS),
    rows: z.array(z.object({ key: z.string(), count: z.number(), errors: z.number() })),
  })
  .openapi('StatsBreakdown');
const Performance = z
  .object({
    period: PeriodOut,
    routes: z.array(Latency),
    nodes: z.array(Latency),
    tools: z.array(Latency),
    models: z
      .array(z.record(z.string(), z.unknown()))
      .openapi({ description: 'Per model, prompt and prompt version: calls, cache hits, tokens, time' }),
    answers: z.array(z.record(z.string(), z.unknown())).openapi({
      description: 'Per model and synthesis prompt version: turns, narrator fallback rate, grounding pass rate, unsupported claims',
    }),
  })
  .openapi('StatsPerformance');

const Trace = z
  .object({
    tracking_id: z.string(),
    workspace: z.string(),
    request: z.record(z.string(), z.unknown()).nullable(),
    wide_event: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'The sampled wide event; null when it was not kept' }),
    turn: z.record(z.string(), z.unknown()).nullable(),
    nodes: z.array(z.record(z.string(), z.unknown())),
    tools: z.array(z.record(z.string(), z.unknown())),
    model_calls: z.array(z.record(z.string(), z.unknown())),
    grounding: z.array(z.record(z.string(), z.unknown())),
    briefings: z.array(z.record(z.string(), z.unknown())),
    audit: z.array(z.record(z.string(), z.unknown())),
    query_figures: z
      .string()
      .openapi({ description: 'Where rows read and server time of tool queries come from, or that the engine keeps none' }),
  })
  .openapi('Trace');

/** The caller's workspaces for stats: the one chosen (X-Workspace), else every one the token grants. */
const statsScope = createMiddleware<AppEnv & { Variables: { workspaces: string[] } }>(async (c, next) => {
  const principal = c.get('principal');
  if (!principal) throw problems.unauthorized('a bearer token is required');
  if (!hasRole(principal, ...STATS_ROLES))
    throw problems.forbidden(
      `stats need the role ${STATS_ROLES.join(' or ')}; the token has ${principal.roles.length ? principal.roles.join(', ') : 'no roles'}`,
    );
  const chosen = c.get('workspace');
  const workspaces = chosen ? [chosen] : principal.workspaces;
  if (workspaces.length === 0) throw problems.forbidden('the token grants no workspace');
  c.set('workspaces', workspaces);
  await next();
});

function period(workspaces: string[], q: { from?: string; to?: string }): Period {
  const to = q.to ? Date.parse(q.to) : Date.now() + 1;
  const from = q.from ? Date.parse(q.from) : to - DAY;
  if (from >= to) throw problems.validation('the period is empty', [{ field: 'from', message: 'must be before to' }]);
  return { workspaces, from, to };
}
const periodOut = (p: Period) => ({ workspaces: p.workspaces, from: new Date(p.from).toISOString(), to: new Date(p.to).toISOString() });

const ms = (x: number) => Math.round(Number(x) * 10) / 10;
const at = (r: FactRow) => new Date(Number(r.at_ms)).toISOString();

function parsed(text: string | undefined): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The facts of one request, grouped the way an operator reads them. */
function shape(rows: FactRow[]) {
  const of = (kind: FactRow['kind']) => rows.filter((r) => r.kind === kind);
  const request = of('request')[0];
  const turn = of('turn')[0];
  return {
    request: request
      ? {
          at: at(request),
          route: request.name,
          status: Number(request.attributes.http_status ?? 0),
          duration_ms: ms(request.duration_ms),
          sub: request.attributes.sub ?? '',
          ...(request.attributes.thread_id ? { thread_id: request.attributes.thread_id } : {}),
        }
      : null,
    turnSubject: turn?.attributes.sub ?? '',
    turnThread: turn?.attributes.thread_id ?? '',
    turn: turn
      ? {
          kind: turn.name,
          status: turn.status,
          duration_ms: ms(turn.duration_ms),
          ...turn.attributes,
          fallback: turn.attributes.fallback === '1',
          usage: turn.numbers,
        }
      : null,
    nodes: of('node').map((r) => ({ name: r.name, status: r.status, duration_ms: ms(r.duration_ms), at: at(r) })),
    tools: of('tool').map((r) => ({
      name: r.name,
      agent: r.attributes.agent ?? '',
      status: r.status,
      duration_ms: ms(r.duration_ms),
      args: parsed(r.attributes.args) ?? {},
      queries: parsed(r.attributes.queries) ?? [],
      evidence: Number(r.numbers.evidence ?? 0),
      ...(r.attributes.error ? { error: r.attributes.error } : {}),
    })),
    model_calls: of('model').map((r) => ({
      model: r.attributes.model ?? '',
      call: r.attributes.call ?? '',
      prompt: r.attributes.prompt ?? '',
      prompt_version: r.attributes.prompt_version ? Number(r.attributes.prompt_version) : null,
      prompt_hash: r.attributes.prompt_hash ?? '',
      cache: r.attributes.cache ?? 'off',
      cache_hit: r.attributes.cache === 'hit',
      input_tokens: Number(r.numbers.input_tokens ?? 0),
      output_tokens: Number(r.numbers.output_tokens ?? 0),
      duration_ms: ms(r.duration_ms),
      status: r.status,
      ...(r.attributes.error ? { error: r.attributes.error } : {}),
    })),
    grounding: of('grounding').map((r) => ({
      passed: r.status === 'ok',
      model: r.attributes.model ?? '',
      prompt_version: r.attributes.prompt_version ? Number(r.attributes.prompt_version) : null,
      ...r.numbers,
    })),
    briefings: of('briefing').map((r) => ({ name: r.name, status: r.status, duration_ms: ms(r.duration_ms), ...r.attributes })),
  };
}

/** /v1/trace/{tracking_id}: everything one request did, from the unsampled request facts. */
export function traceRoutes(deps: AppDeps) {
  const app = router();
  const readOthers = deps.policies.routing.read_others_roles;
  const reader = createMiddleware<ScopedEnv>(async (c, next) => {
    const scope = requireScope(c);
    deps.chat.access.authoriseReading(scope.principal);
    c.set('scope', scope);
    await next();
  });
  const get = createRoute({
    method: 'get',
    path: '/{tracking_id}',
    tags: ['observability'],
    operationId: 'getTrace',
    summary: 'Everything one request did: nodes, tool calls and their queries, model calls, grounding, proposals',
    description: `Workspace-scoped (another workspace's tracking id is 404). Follows the thread-reading rules: the request's own user, or ${readOthers.join(' or ')}.`,
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [reader] as const,
    request: { params: z.object({ tracking_id: z.string().openapi({ description: 'The X-Request-Id of the request' }) }) },
    responses: { 200: { description: 'The trace', content: json(Trace) }, ...problemResponses(401, 403, 404) },
  });
  app.openapi(get, async (c) => {
    const scope = c.var.scope;
    const id = c.req.valid('param').tracking_id;
    const missing = () => problems.notFound(`there is no request ${id} in workspace ${scope.workspace}`);
    if (!/^[A-Za-z0-9._:-]{8,128}$/.test(id)) throw missing();
    // This replica's latest facts first, so a request just answered is there.
    await deps.facts.settle();
    const rows = await deps.facts.trace(scope.workspace, id);
    if (rows.length === 0) throw missing();
    const { turnSubject, turnThread, ...shaped } = shape(rows);
    const threadId = shaped.request?.thread_id ?? turnThread;
    if (threadId) {
      // The thread's rules: 404 outside the workspace, 403 for another user's chat without the role.
      await deps.chat.thread(scope, threadId);
    } else {
      const owner = shaped.request?.sub ?? turnSubject;
      if (owner !== scope.principal.sub && !hasRole(scope.principal, ...readOthers))
        throw problems.forbidden(`request ${id} is another user's; reading it needs the role ${readOthers.join(' or ')}`);
    }
    const [wide, audit] = await Promise.all([wideEventOf(deps.store, scope.workspace, id), auditOf(deps.store, scope.workspace, id)]);
    return c.json(
      {
        tracking_id: id,
        workspace: scope.workspace,
        ...shaped,
        wide_event: wide[0] ?? null,
        audit,
        query_figures:
          deps.store.kind === 'server'
            ? "rows read and server time from each query's X-ClickHouse-Summary"
            : 'not available: the embedded engine (chDB) keeps no query log; duration_ms is measured by the service',
      },
      200,
    );
  });
  return app;
}

/** /v1/stats: counts, breakdowns and performance from the unsampled request facts. */
export function statsRoutes(deps: AppDeps) {
  const app = router();
  const common = { tags: ['observability'], security: bearerAuth, parameters: workspaceHeader };
  const who = `Needs ${STATS_ROLES.join(' or ')}; the chosen workspace (X-Workspace), else every workspace of the token. The period defaults to the last 24 hours.`;
  const summary = createRoute({
    ...common,
    method: 'get',
    path: '/summary',
    operationId: 'statsSummary',
    summary: 'Counts over a period: turns, alert investigations, briefings, proposals by outcome, tool and model calls, errors',
    description: who,
    middleware: [statsScope] as const,
    request: { query: PeriodQuery },
    responses: { 200: { description: 'The counts', content: json(Summary) }, ...problemResponses(400, 401, 403) },
  });
  const breakdown = createRoute({
    ...common,
    method: 'get',
    path: '/breakdown',
    operationId: 'statsBreakdown',
    summary: 'Counts by workspace, specialist, tool, intent, severity or HTTP status',
    description: `${who} workspace, intent and severity count turns; specialist and tool count tool calls; status counts requests.`,
    middleware: [statsScope] as const,
    request: { query: BreakdownQuery },
    responses: { 200: { description: 'The counts', content: json(Breakdown) }, ...problemResponses(400, 401, 403) },
  });
  const performance = createRoute({
    ...common,
    method: 'get',
    path: '/performance',
    operationId: 'statsPerformance',
    summary:
      'Latency percentiles per route, node and tool; model tokens, time and cache hits; grounding and narrator fallback per prompt version and model',
    description: who,
    middleware: [statsScope] as const,
    request: { query: PeriodQuery },
    responses: { 200: { description: 'The figures', content: json(Performance) }, ...problemResponses(400, 401, 403) },
  });
  app.openapi(summary, async (c) => {
    const p = period(c.var.workspaces, c.req.valid('query'));
    await deps.facts.settle();
    const [counts, proposals] = await Promise.all([deps.facts.summary(p), proposalOutcomes(deps.store, p)]);
    return c.json({ period: periodOut(p), counts, proposals }, 200);
  });
  app.openapi(breakdown, async (c) => {
    const q = c.req.valid('query');
    const p = period(c.var.workspaces, q);
    await deps.facts.settle();
    return c.json({ period: periodOut(p), by: q.by, rows: await deps.facts.breakdown(p, q.by) }, 200);
  });
  app.openapi(performance, async (c) => {
    const p = period(c.var.workspaces, c.req.valid('query'));
    await deps.facts.settle();
    return c.json({ period: periodOut(p), ...(await deps.facts.performance(p)) }, 200);
  });
  return app;
}
