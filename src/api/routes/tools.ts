import { createRoute, z } from '@hono/zod-openapi';
import { hasRole } from '../../core/scope.ts';
import { ALL_TOOLS, describeTool, findTool, toolRoles } from '../../tools/registry.ts';
import { runTool } from '../../tools/definition.ts';
import { readJson } from '../body.ts';
import { problems } from '../../core/problem.ts';
import { requireScope } from '../middleware/auth.ts';
import { bearerAuth, json, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { ToolResult } from '../schemas.ts';
import type { AppDeps } from '../deps.ts';
import { Redactor, redactEvidence } from '../../policies/redaction.ts';

const ToolDescription = z
  .object({
    name: z.string(),
    category: z.string(),
    description: z.string(),
    roles: z.array(z.string()),
    default_window: z.string().optional(),
    arguments: z.record(z.string(), z.unknown()).openapi({ description: "A JSON Schema of the tool's arguments" }),
    allowed: z.boolean().openapi({ description: 'Whether the caller may run it' }),
  })
  .openapi('Tool');

const list = createRoute({
  method: 'get',
  path: '/',
  tags: ['tools'],
  operationId: 'listTools',
  summary: 'The tools, their argument schemas, and whether the caller may run each',
  security: bearerAuth,
  responses: { 200: { description: 'The tools', content: json(z.object({ tools: z.array(ToolDescription) })) }, ...problemResponses(401) },
});

const run = createRoute({
  method: 'post',
  path: '/{name}',
  tags: ['tools'],
  operationId: 'runTool',
  summary: "Run a tool on the caller's workspace",
  description:
    "The body is the tool's arguments (its JSON Schema is in GET /v1/tools); no body means none. The tool validates them " +
    'itself, as the schema depends on the tool named in the path, so a 400 names the failing arguments.',
  security: bearerAuth,
  parameters: workspaceHeader,
  request: {
    params: z.object({ name: z.string().openapi({ description: 'A tool name from GET /v1/tools', example: ALL_TOOLS[0]?.name }) }),
    body: {
      required: false,
      content: { 'application/json': { schema: { type: 'object', description: "The tool's arguments" } } },
    },
  },
  responses: {
    200: { description: 'The evidence the tool found', content: json(ToolResult) },
    ...problemResponses(400, 401, 403, 404, 413, 415, 503),
  },
});

/** The tools for operators and the UI: list them, run one on the caller's workspace. */
export function toolRoutes(deps: AppDeps) {
  const app = router();
  const policy = deps.policies.tools;
  app.openapi(list, (c) => {
    const principal = c.get('principal')!;
    return c.json(
      { tools: ALL_TOOLS.map((t) => ({ ...describeTool(t, policy), allowed: hasRole(principal, ...toolRoles(policy, t.name)) })) },
      200,
    );
  });
  app.openapi(run, async (c) => {
    const { name } = c.req.valid('param');
    const tool = findTool(name);
    if (!tool) throw problems.notFound(`there is no tool "${name}"; GET /v1/tools lists them`);
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
    // The privacy policy applies to what the API returns too; ClickHouse keeps the raw lines.
    const redactor = new Redactor(deps.policies.privacy);
    return c.json({ ...result, evidence: redactEvidence(result.evidence, redactor), rendered: redactor.redact(result.rendered) }, 200);
  });
  return app;
}
