import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { Problem, problems } from '../core/problem.ts';
import type { AppDeps } from './deps.ts';
import type { AppEnv } from './env.ts';

/** Every error, thrown anywhere in a request, as application/problem+json with the tracking id. */
export function handleErrors(app: Hono<AppEnv>, deps: AppDeps): void {
  const allowed = allowedMethods(app);
  app.notFound((c) => {
    const allow = allowed(c.req.path);
    const p = allow.length
      ? problems.methodNotAllowed(c.req.method, allow)
      : problems.notFound(`no route for ${c.req.method} ${c.req.path}`);
    return problemResponse(c, p);
  });
  app.onError((err, c) => {
    if (err instanceof Problem) return problemResponse(c, err);
    if (err instanceof HTTPException) {
      return problemResponse(
        c,
        new Problem({
          status: err.status,
          type: 'http',
          title: err.message || 'Request failed',
          detail: err.message || `HTTP ${err.status}`,
        }),
      );
    }
    if (isStoreFailure(err)) {
      deps.logger.error({ tracking_id: c.get('trackingId'), err: err.message }, 'telemetry store failure');
      return problemResponse(c, problems.unavailable('clickhouse', 'the telemetry store did not answer; retry shortly'));
    }
    deps.logger.error({ tracking_id: c.get('trackingId'), err: err.message, stack: err.stack }, 'unhandled error');
    return problemResponse(c, problems.internal());
  });
}

function problemResponse(c: Context<AppEnv>, p: Problem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', ...(p.headers ?? {}) };
  const id = c.get('trackingId');
  if (id) headers['X-Request-Id'] = id;
  return new Response(JSON.stringify(p.body(id)), { status: p.status, headers });
}

/** A route path as a regular expression: `:name` one segment, `:name{re}` its pattern, `*` anything. */
function routePattern(path: string): RegExp {
  const segments = path.split('/').map((seg) => {
    const param = /^:[^{]+(?:\{(.+)\})?$/.exec(seg);
    if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
    return seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}

/** The methods registered for a path, for 405 answers. */
function allowedMethods(app: Hono<AppEnv>): (path: string) => string[] {
  let table: { re: RegExp; method: string }[] | undefined;
  return (path) => {
    table ??= app.routes.filter((r) => r.method !== 'ALL').map((r) => ({ method: r.method, re: routePattern(r.path) }));
    return [...new Set(table.filter((t) => t.re.test(path)).map((t) => t.method))];
  };
}

function isStoreFailure(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'ClickHouseError' ||
    err.name === 'StoreUnavailable' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /ChdbConnection is closed|socket hang up|Timeout error/i.test(err.message)
  );
}
