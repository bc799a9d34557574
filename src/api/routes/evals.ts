import { createRoute, z } from '@hono/zod-openapi';
import { parseDuration } from '../../core/duration.ts';
import { problems } from '../../core/problem.ts';
import { SCENARIO_NAMES } from '../../demo/scenarios.ts';
import { scenarioOrThrow, writePlan } from '../../demo/seed.ts';
import { MINUTE } from '../../demo/simulator.ts';
import { WORKSPACES } from '../../demo/topology.ts';
import type { EvalRuns } from '../../evals/runs.ts';
import type { TelemetryIngest } from '../../otlp/ingest.ts';
import { jsonBody } from '../body.ts';
import { scoped } from '../middleware/auth.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import type { AppDeps } from '../deps.ts';

/** Eval workspaces are named eval-…: loading telemetry never touches a team's or the demo's. */
const EVAL_WORKSPACE = /^eval-[a-z0-9-]{1,60}$/;

const TelemetryRequest = z
  .object({
    scenario: z.enum(SCENARIO_NAMES as [string, ...string[]], { message: `expected one of ${SCENARIO_NAMES.join(', ')}` }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .default(7),
    length: z
      .string()
      .refine((s) => {
        const ms = parseDuration(s);
        return ms !== undefined && ms >= 15 * MINUTE && ms <= 48 * 60 * MINUTE;
      }, 'expected a duration from 15m to 48h')
      .default('2h'),
    end: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time' }),
    scale: z.number().positive().max(4).optional(),
  })
  .strict()
  .openapi('EvalTelemetryRequest');

const Filter = z
  .object({
    suite: z
      .string()
      .regex(/^[a-z0-9_-]+$/, 'a suite is a folder name of evals/')
      .optional(),
    case: z.string().min(1).max(200).optional(),
    tag: z.string().min(1).max(100).optional(),
  })
  .strict();

const VariantSchema = z
  .object({
    name: z.string().min(1).max(200),
    prompts: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.number().int().positive()).default({}),
    model: z
      .string()
      .regex(/^[\w.:/-]{1,100}$/)
      .optional(),
  })
  .strict();

const RunRequestSchema = z
  .object({
    filter: Filter.default({}),
    variants: z
      .array(VariantSchema)
      .min(1)
      .max(8)
      .default([{ name: 'default', prompts: {} }]),
    repeat: z.number().int().min(1).max(20).default(1),
    concurrency: z.number().int().min(1).max(8).optional(),
  })
  .strict()
  .openapi('EvalRunRequest');

const Progress = z.object({ done: z.number().int(), total: z.number().int(), passed: z.number().int(), current: z.string().optional() });

const EvalRun = z
  .object({
    run_id: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    status: z.enum(['running', 'done', 'failed']),
    created_by: z.string(),
    options: z.record(z.string(), z.unknown()),
    progress: Progress.optional(),
    error: z.string().optional(),
    report: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'Once done: the summaries per variant and suite, the comparison of two variants, and every case result' }),
  })
  .openapi('EvalRun');

const Paired = z.object({
  cases: z.number().int(),
  won: z.number().int(),
  lost: z.number().int(),
  ties: z.number().int(),
  pass_rate_a: z.number(),
  pass_rate_b: z.number(),
  mcnemar_p: z.number(),
  difference: z.object({ diff: z.number(), low: z.number(), high: z.number() }),
  changed: z.array(z.object({ case: z.string(), a: z.boolean(), b: z.boolean() })),
});

const Comparison = z
  .object({
    a: z.string(),
    b: z.string(),
    variant_a: z.string(),
    variant_b: z.string(),
    comparison: z.record(z.string(), Paired).openapi({ description: 'Per suite, and `all`: B compared with A on the cases both ran' }),
  })
  .openapi('EvalComparison');

const RunId = z.string().regex(/^run-[A-Za-z0-9-]{1,60}$/, 'not a run id');

/** Simulates a scenario into one eval workspace, through the ingest path (the demo workspaces stay as they are). */
async function seedWorkspace(
  ingest: TelemetryIngest,
  workspace: string,
  req: { scenario: string; seed: number; length: string; end: string; scale?: number },
): Promise<{ logs: number; spans: number; metricPoints: number }> {
  const scenario = scenarioOrThrow(req.scenario);
  const end = Math.floor(Date.parse(req.end) / MINUTE) * MINUTE;
  const start = end - Math.round(parseDuration(req.length)! / MINUTE) * MINUTE;
  const faultStart = end - scenario.faultOffsetMinutes * MINUTE;
  const spec = { ...WORKSPACES[scenario.workspace]!, name: workspace };
  const plan = { workspace: spec, disturbance: scenario.build(faultStart), faultStart, seed: req.seed, scale: req.scale };
  return writePlan(ingest, plan, start, end);
}

/** /v1/evals: eval runs (start, progress, list, compare) and the telemetry of eval workspaces. */
export function evalRoutes(deps: AppDeps, runs: EvalRuns | undefined) {
  const app = router();
  const body = jsonBody(deps.config.AIOPS_MAX_BODY_BYTES);
  const need = () => {
    if (!runs) throw problems.conflict('eval runs need dev mode (the runner signs a token for each case workspace with the dev key)');
    return runs;
  };

  const telemetry = createRoute({
    method: 'post',
    path: '/telemetry',
    tags: ['evals'],
    operationId: 'seedEvalTelemetry',
    summary: "Simulate a scenario into the token's eval workspace",
    description:
      'Needs role eval; the workspace in effect must be named eval-… (the runner makes one per case). Adds telemetry; replaces nothing.',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped('eval'), body] as const,
    request: { body: jsonRequest(TelemetryRequest) },
    responses: {
      200: {
        description: 'Loaded',
        content: json(
          z.object({
            workspace: z.string(),
            records: z.object({ logs: z.number().int(), spans: z.number().int(), metricPoints: z.number().int() }),
          }),
        ),
      },
      ...problemResponses(400, 401, 403, 413, 415, 503),
    },
  });
  const start = createRoute({
    method: 'post',
    path: '/runs',
    tags: ['evals'],
    operationId: 'startEvalRun',
    summary: 'Start an eval run in the background',
    description: 'Needs role eval. 202 with the run; follow it on GET /v1/evals/runs/{id}. 409 outside dev mode.',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped('eval'), body] as const,
    request: { body: jsonRequest(RunRequestSchema) },
    responses: { 202: { description: 'Started', content: json(EvalRun) }, ...problemResponses(400, 401, 403, 409, 413, 415) },
  });
  const list = createRoute({
    method: 'get',
    path: '/runs',
    tags: ['evals'],
    operationId: 'listEvalRuns',
    summary: 'Eval runs, newest first (without their reports)',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped('eval')] as const,
    request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(20), workspace: z.string().optional() }).strict() },
    responses: {
      200: { description: 'The runs', content: json(z.object({ runs: z.array(EvalRun) })) },
      ...problemResponses(400, 401, 403, 409),
    },
  });
  const view = createRoute({
    method: 'get',
    path: '/runs/{id}',
    tags: ['evals'],
    operationId: 'getEvalRun',
    summary: 'A run: its progress while it runs, its report once done',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped('eval')] as const,
    request: { params: z.object({ id: RunId }) },
    responses: { 200: { description: 'The run', content: json(EvalRun) }, ...problemResponses(400, 401, 403, 404, 409) },
  });
  const compare = createRoute({
    method: 'get',
    path: '/runs/{a}/compare/{b}',
    tags: ['evals'],
    operationId: 'compareEvalRuns',
    summary: 'Run B compared with run A, case by case: won, lost, McNemar p, bootstrap interval, changed cases',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped('eval')] as const,
    request: {
      params: z.object({ a: RunId, b: RunId }),
      query: z.object({ variant_a: z.string().optional(), variant_b: z.string().optional(), workspace: z.string().optional() }).strict(),
    },
    responses: { 200: { description: 'The comparison', content: json(Comparison) }, ...problemResponses(400, 401, 403, 404, 409) },
  });

  app.openapi(telemetry, async (c) => {
    const { workspace } = c.var.scope;
    if (!EVAL_WORKSPACE.test(workspace)) {
      throw problems.forbidden(
        `telemetry is simulated into eval workspaces only (named eval-…); the workspace in effect is "${workspace}"`,
      );
    }
    const records = await seedWorkspace(deps.ingest, workspace, c.req.valid('json'));
    return c.json({ workspace, records }, 200);
  });
  app.openapi(start, async (c) => {
    const r = need();
    const req = c.req.valid('json');
    const run = await r.start(
      {
        filter: { suite: req.filter.suite, caseId: req.filter.case, tag: req.filter.tag },
        variants: req.variants,
        repeat: req.repeat,
        concurrency: req.concurrency,
      },
      c.var.scope.principal.sub,
      new URL(c.req.url).origin,
    );
    return c.json({ ...run, report: null }, 202);
  });
  app.openapi(list, async (c) =>
    c.json({ runs: (await need().list(c.req.valid('query').limit)).map((r) => ({ ...r, report: null })) }, 200),
  );
  app.openapi(view, async (c) => {
    const id = c.req.valid('param').id;
    const run = await need().get(id);
    if (!run) throw problems.notFound(`no eval run ${id}`);
    return c.json({ ...run, report: run.report as unknown as Record<string, unknown> | null }, 200);
  });
  app.openapi(compare, async (c) => {
    const { a, b } = c.req.valid('param');
    const q = c.req.valid('query');
    const out = await need().compare(a, b, { a: q.variant_a, b: q.variant_b });
    if ('missing' in out) throw problems.notFound(`no eval run ${out.missing}`);
    if ('notDone' in out) throw problems.conflict(`eval run ${out.notDone} has no report yet (still running, or failed)`);
    return c.json(out, 200);
  });
  return app;
}
