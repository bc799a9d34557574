import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { TokenVerifier } from '../../auth/verifier.ts';
import { hasRole, type Principal, type Scope } from '../../core/scope.ts';
import { problems } from '../../core/problem.ts';
import type { AppEnv, AppVariables } from '../env.ts';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The workspace whose alert-webhook secret this is (Alertmanager sends it as
 * a bearer token). Every secret is compared, in constant time.
 */
function webhookWorkspace(token: string, secrets: { workspace: string; secret: string }[]): string | undefined {
  const t = digest(token);
  let found: string | undefined;
  for (const s of secrets) if (timingSafeEqual(t, digest(s.secret)) && found === undefined) found = s.workspace;
  return found;
}

/**
 * Verifies the bearer token and picks the workspace the request acts on.
 * Under /v1/alerts, a configured webhook secret also authenticates, as role
 * `alerts` in its one workspace.
 */
export function authenticate(
  verifier: TokenVerifier,
  opts: { webhookSecrets?: { workspace: string; secret: string }[] } = {},
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw problems.unauthorized('a bearer token is required (Authorization: Bearer <token>)');
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw problems.unauthorized('the Authorization header must use the Bearer scheme');
    const token = m[1]!;
    const hook =
      opts.webhookSecrets?.length && /^\/v1\/alerts(\/|$)/.test(c.req.path) ? webhookWorkspace(token, opts.webhookSecrets) : undefined;
    const principal: Principal = hook ? { sub: `webhook:${hook}`, roles: ['alerts'], workspaces: [hook] } : await verifier.verify(token);
    c.set('principal', principal);
    c.set('token', token);
    const requested = c.req.header('x-workspace') ?? c.req.query('workspace');
    if (requested !== undefined) {
      if (!principal.workspaces.includes(requested)) {
        throw problems.forbidden(`the token does not grant access to workspace "${requested}"`);
      }
      c.set('workspace', requested);
    } else if (principal.workspaces.length === 1) {
      c.set('workspace', principal.workspaces[0]);
    }
    await next();
  };
}

/**
 * The caller's principal and workspace, checked against the roles a route
 * needs (any of them). 403 when a role or a workspace is missing.
 */
export function requireScope(c: Pick<Context<AppEnv>, 'get'>, ...roles: string[]): Scope {
  const principal = c.get('principal');
  if (!principal) throw problems.unauthorized('a bearer token is required');
  if (roles.length > 0 && !hasRole(principal, ...roles)) {
    throw problems.forbidden(
      `this needs the role ${roles.map((r) => `"${r}"`).join(' or ')}; the token has ${principal.roles.length ? principal.roles.join(', ') : 'no roles'}`,
    );
  }
  const workspace = c.get('workspace');
  if (!workspace) {
    throw principal.workspaces.length === 0
      ? problems.forbidden('the token grants no workspace')
      : problems.badRequest(
          `the token grants several workspaces (${principal.workspaces.join(', ')}); choose one with the X-Workspace header`,
        );
  }
  return { principal, workspace, trackingId: c.get('trackingId') };
}

/** A route's context after `scoped`: the caller's checked scope. */
export type ScopedEnv = { Variables: AppVariables & { scope: Scope } };

/**
 * Route middleware: requireScope as the route's first step, so a caller
 * without the role or workspace gets 401/403 before the body or query is read.
 */
export const scoped = (...roles: string[]) =>
  createMiddleware<ScopedEnv>(async (c, next) => {
    c.set('scope', requireScope(c, ...roles));
    await next();
  });

export function requireRole(c: Pick<Context<AppEnv>, 'get'>, ...roles: string[]): Principal {
  const principal = c.get('principal');
  if (!principal) throw problems.unauthorized('a bearer token is required');
  if (!hasRole(principal, ...roles)) {
    throw problems.forbidden(`this needs the role ${roles.map((r) => `"${r}"`).join(' or ')}`);
  }
  return principal;
}
