import { Hono } from 'hono';
import { problems } from '../../core/problem.ts';
import type { AppEnv } from '../env.ts';

export function whoamiRoutes() {
  const app = new Hono<AppEnv>();
  app.get('/whoami', (c) => {
    const p = c.get('principal');
    if (!p) throw problems.unauthorized('a bearer token is required');
    return c.json({ sub: p.sub, roles: p.roles, workspaces: p.workspaces, workspace: c.get('workspace') ?? null });
  });
  return app;
}
