import { Hono } from 'hono';
import { hasRole } from '../../core/scope.ts';
import { ALL_TOOLS, describeTool, findTool, toolRoles } from '../../tools/registry.ts';
import { runTool } from '../../tools/definition.ts';
import { readJson } from '../body.ts';
import { problems } from '../../core/problem.ts';
import { requireScope } from '../middleware/auth.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

/** The tools for operators and the UI: list them, run one on the caller's workspace. */
export function toolRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  const policy = deps.policies.tools;
  app.get('/tools', (c) => {
    const principal = c.get('principal')!;
    return c.json({
      tools: ALL_TOOLS.map((t) => ({ ...describeTool(t, policy), allowed: hasRole(principal, ...toolRoles(policy, t.name)) })),
    });
  });
  app.post('/tools/:name', async (c) => {
    const tool = findTool(c.req.param('name'));
    if (!tool) throw problems.notFound(`there is no tool "${c.req.param('name')}"; GET /v1/tools lists them`);
    const { workspace } = requireScope(c, ...toolRoles(policy, tool.name));
    const hasBody = (c.req.header('content-length') ?? '') !== '0' && c.req.raw.body !== null;
    const args = hasBody ? (await readJson(c, deps.config.AIOPS_MAX_BODY_BYTES)).value : {};
    const result = await runTool(
      tool,
      {
        store: deps.store,
        workspace,
        tenantAttribute: deps.config.TENANT_ATTRIBUTE,
        trackingId: c.get('trackingId'),
        policy,
        signal: c.req.raw.signal,
        knowledge: deps.knowledge,
      },
      args,
    );
    c.set('eventAttributes', { tool: tool.name, evidence: String(result.evidence.length), queries: String(result.stats.queries) });
    return c.json(result);
  });
  return app;
}
