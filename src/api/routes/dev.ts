import { createRoute, z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { loadOrCreateDevKeys, signDevToken } from '../../auth/dev-keys.ts';
import { ROLE_NAMES } from '../../core/roles.ts';
import { problems } from '../../core/problem.ts';
import { jsonBody } from '../body.ts';
import { json, jsonRequest, problemResponses, router } from '../openapi.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { loopbackClient } from './ui.ts';

/** What the console's dev sign-in may ask for: short-lived tokens with roles from the registry. */
const DEV_TOKEN_TTL_S = 3600;

const DevTokenRequest = z
  .object({
    sub: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a user name such as alice'),
    roles: z.array(z.enum(ROLE_NAMES as [string, ...string[]], { message: `expected roles among ${ROLE_NAMES.join(', ')}` })).min(1),
    workspaces: z
      .array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'not a workspace name'))
      .min(1)
      .max(10),
  })
  .strict()
  .openapi('DevTokenRequest');

const DevToken = z
  .object({ token: z.string(), expires_at: z.string(), sub: z.string(), roles: z.array(z.string()), workspaces: z.array(z.string()) })
  .openapi('DevToken');

/** Dev mode and a loopback client, checked before the body is read: anyone else gets the 404 of an unknown route. */
const devOnly = (config: AppDeps['config']) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!config.devAuth || !loopbackClient(c)) throw problems.notFound('there is no such route');
    await next();
  });

const devTokenRoute = (config: AppDeps['config']) =>
  createRoute({
    method: 'post',
    path: '/token',
    tags: ['dev'],
    operationId: 'createDevToken',
    summary: 'Dev mode only, from this machine only: a token signed with the dev key (for the console’s dev sign-in)',
    description:
      'Answers 404 unless the service runs in dev mode (no AUTH_JWKS_URL or AUTH_PUBLIC_KEY) and the request comes from a loopback ' +
      'address without proxy headers. Tokens last an hour; roles come from the known list.',
    middleware: [devOnly(config), jsonBody(config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { body: jsonRequest(DevTokenRequest) },
    responses: { 200: { description: 'The token', content: json(DevToken) }, ...problemResponses(400, 404, 413, 415) },
  });

/** /v1/dev: what a dev-mode service offers the machine it runs on. Mounted before the token check. */
export function devRoutes(deps: Pick<AppDeps, 'config'>) {
  const app = router();
  const { config } = deps;
  app.openapi(devTokenRoute(config), async (c) => {
    const body = c.req.valid('json');
    const ttl = Math.min(DEV_TOKEN_TTL_S, Math.floor(config.AUTH_MAX_TOKEN_AGE / 1000));
    const token = await signDevToken(await loadOrCreateDevKeys(config.dataDir), {
      sub: body.sub,
      roles: body.roles,
      workspaces: body.workspaces,
      ttlSeconds: ttl,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      rolesClaim: config.AUTH_ROLES_CLAIM,
      workspacesClaim: config.AUTH_WORKSPACES_CLAIM,
    });
    c.set('eventAttributes', { dev_token_sub: body.sub });
    return c.json(
      { token, expires_at: new Date(Date.now() + ttl * 1000).toISOString(), sub: body.sub, roles: body.roles, workspaces: body.workspaces },
      200,
    );
  });
  return app;
}
