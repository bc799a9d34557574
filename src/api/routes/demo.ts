import { Hono } from 'hono';
import { z } from 'zod';
import { problems } from '../../core/problem.ts';
import { requireRole } from '../middleware/auth.ts';
import { jsonBody } from '../validate.ts';
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
  .strict();

/** The demo simulator: list scenarios, see the ground truth, load a scenario. */
export function demoRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  app.get('/demo/scenarios', (c) =>
    c.json({
      scenarios: Object.values(SCENARIOS).map((s) => ({
        name: s.name,
        workspace: s.workspace,
        category: s.category,
        ground_truth: s.truth,
      })),
    }),
  );
  app.get('/demo/state', async (c) => {
    const p = requireRole(c, 'sre', 'admin', 'ingest');
    const states = (await loadStates(deps.store)).filter((s) => p.workspaces.includes(s.workspace));
    return c.json({
      workspaces: states.map((s) => ({
        workspace: s.workspace,
        scenario: s.scenario,
        seed: s.seed,
        window: { start: new Date(s.windowStart).toISOString(), end: new Date(s.windowEnd).toISOString() },
        fault_start: s.faultStart === null ? null : new Date(s.faultStart).toISOString(),
        ground_truth: s.truth,
      })),
    });
  });
  app.post('/demo/seed', async (c) => {
    const p = requireRole(c, 'ingest', 'admin');
    const missing = DEMO_WORKSPACES.filter((w) => !p.workspaces.includes(w));
    if (missing.length)
      throw problems.forbidden(
        `loading demo data replaces the workspaces ${DEMO_WORKSPACES.join(' and ')}; the token lacks ${missing.join(', ')}`,
      );
    const req = await jsonBody(c, SeedRequest, deps.config.AIOPS_MAX_BODY_BYTES);
    if (!deps.demo) throw problems.conflict('the demo simulator is turned off (AIOPS_DEMO=off)');
    const result = await deps.demo.seed({
      scenario: req.scenario,
      seed: req.seed,
      hours: req.hours,
      end: req.end ? Date.parse(req.end) : undefined,
    });
    return c.json(result);
  });
  return app;
}
