import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { problems } from '../../core/problem.ts';
import { requireRole } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router } from '../openapi.ts';
import { SCENARIOS, SCENARIO_NAMES } from '../../demo/scenarios.ts';
import { DEMO_WORKSPACES, loadStates } from '../../demo/seed.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const SeedRequest = z
  .object({
    scenario: z.enum(SCENARIO_NAMES as [string, ...string[]], { message: `expected one of ${SCENARIO_NAMES.join(', ')}` }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31)
      .default(7),
    hours: z.number().min(0.25).max(48).default(6),
    end: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi('DemoSeedRequest');

const GroundTruth = z
  .object({ rootService: z.string().nullable(), kind: z.string(), affected: z.array(z.string()), description: z.string() })
  .openapi('GroundTruth');

const SeedResult = z
  .object({
    scenario: z.string(),
    seed: z.number().int(),
    window: z.object({ start: z.string(), end: z.string() }),
    faultStart: z.string().nullable(),
    groundTruth: GroundTruth.extend({ workspace: z.string() }),
    records: z.object({ logs: z.number().int(), spans: z.number().int(), metricPoints: z.number().int() }),
    durationMs: z.number(),
  })
  .openapi('DemoSeedResult');

const scenarios = createRoute({
  method: 'get',
  path: '/scenarios',
  tags: ['demo'],
  operationId: 'listDemoScenarios',
  summary: "The simulator's scenarios and their ground truth",
  security: bearerAuth,
  responses: {
    200: {
      description: 'The scenarios',
      content: json(
        z.object({
          scenarios: z.array(z.object({ name: z.string(), workspace: z.string(), category: z.string(), ground_truth: GroundTruth })),
        }),
      ),
    },
    ...problemResponses(401),
  },
});

const state = createRoute({
  method: 'get',
  path: '/state',
  tags: ['demo'],
  operationId: 'getDemoState',
  summary: "The loaded scenario of each of the token's workspaces",
  security: bearerAuth,
  responses: {
    200: {
      description: 'The loaded scenarios',
      content: json(
        z.object({
          workspaces: z.array(
            z.object({
              workspace: z.string(),
              scenario: z.string(),
              seed: z.number().int(),
              window: z.object({ start: z.string(), end: z.string() }),
              fault_start: z.string().nullable(),
              ground_truth: GroundTruth,
            }),
          ),
        }),
      ),
    },
    ...problemResponses(401, 403, 503),
  },
});

/** Loading demo data replaces both demo workspaces: the token must hold both. */
const mayReplaceDemoData = createMiddleware<AppEnv>(async (c, next) => {
  const p = requireRole(c, 'ingest', 'admin');
  const missing = DEMO_WORKSPACES.filter((w) => !p.workspaces.includes(w));
  if (missing.length)
    throw problems.forbidden(
      `loading demo data replaces the workspaces ${DEMO_WORKSPACES.join(' and ')}; the token lacks ${missing.join(', ')}`,
    );
  await next();
});

/** The demo simulator: list scenarios, see the ground truth, load a scenario. */
export function demoRoutes(deps: AppDeps) {
  const app = router();
  const seed = createRoute({
    method: 'post',
    path: '/seed',
    tags: ['demo'],
    operationId: 'seedDemo',
    summary: "Replace the demo workspaces' telemetry with a scenario",
    description: `Needs role ingest or admin and both demo workspaces (${DEMO_WORKSPACES.join(', ')}); 409 when the simulator is off.`,
    security: bearerAuth,
    middleware: [mayReplaceDemoData, jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { body: jsonRequest(SeedRequest) },
    responses: { 200: { description: 'Loaded', content: json(SeedResult) }, ...problemResponses(400, 401, 403, 409, 413, 415, 503) },
  });

  app.openapi(scenarios, (c) =>
    c.json(
      {
        scenarios: Object.values(SCENARIOS).map((s) => ({
          name: s.name,
          workspace: s.workspace,
          category: s.category,
          ground_truth: s.truth,
        })),
      },
      200,
    ),
  );
  app.openapi(state, async (c) => {
    const p = requireRole(c, 'sre', 'admin', 'ingest');
    const states = (await loadStates(deps.store)).filter((s) => p.workspaces.includes(s.workspace));
    return c.json(
      {
        workspaces: states.map((s) => ({
          workspace: s.workspace,
          scenario: s.scenario,
          seed: s.seed,
          window: { start: new Date(s.windowStart).toISOString(), end: new Date(s.windowEnd).toISOString() },
          fault_start: s.faultStart === null ? null : new Date(s.faultStart).toISOString(),
          ground_truth: s.truth,
        })),
      },
      200,
    );
  });
  app.openapi(seed, async (c) => {
    const req = c.req.valid('json');
    if (!deps.demo) throw problems.conflict('the demo simulator is turned off (AIOPS_DEMO=off)');
    const result = await deps.demo.seed({
      scenario: req.scenario,
      seed: req.seed,
      hours: req.hours,
      end: req.end ? Date.parse(req.end) : undefined,
    });
    return c.json(result, 200);
  });
  return app;
}
