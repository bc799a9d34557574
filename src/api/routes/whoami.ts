import { createRoute, z } from '@hono/zod-openapi';
import { problems } from '../../core/problem.ts';
import { bearerAuth, json, problemResponses, router, workspaceHeader } from '../openapi.ts';

const Whoami = z
  .object({
    sub: z.string(),
    roles: z.array(z.string()),
    workspaces: z.array(z.string()),
    workspace: z.string().nullable().openapi({ description: 'The workspace in effect, if there is one' }),
  })
  .openapi('Whoami');

const whoami = createRoute({
  method: 'get',
  path: '/',
  tags: ['whoami'],
  operationId: 'whoami',
  summary: "The token's subject, roles and workspaces, and the workspace in effect",
  security: bearerAuth,
  parameters: workspaceHeader,
  responses: { 200: { description: 'The caller', content: json(Whoami) }, ...problemResponses(401, 403) },
});

export function whoamiRoutes() {
  const app = router();
  app.openapi(whoami, (c) => {
    const p = c.get('principal');
    if (!p) throw problems.unauthorized('a bearer token is required');
    return c.json({ sub: p.sub, roles: p.roles, workspaces: p.workspaces, workspace: c.get('workspace') ?? null }, 200);
  });
  return app;
}
