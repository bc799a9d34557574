import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/** One log line, Prometheus samples and one wide event per request. Never sees the token. */
export function observe(deps: Pick<AppDeps, 'logger' | 'metrics' | 'wideEvents'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const durationMs = performance.now() - started;
    const matched = routePath(c, -1);
    const route = !matched || matched.endsWith('*') ? 'unmatched' : matched;
    const status = c.res.status;
    const method = c.req.method;
    deps.metrics.httpRequests.inc({ method, route, status: String(status) });
    deps.metrics.httpDuration.observe({ method, route }, durationMs / 1000);
    const principal = c.get('principal');
    const entry = {
      tracking_id: c.get('trackingId'),
      method,
      route,
      path: c.req.path,
      status,
      duration_ms: Math.round(durationMs * 10) / 10,
      workspace: c.get('workspace'),
      sub: principal?.sub,
    };
    const expected = c.get('logLevel');
    if (expected) deps.logger[expected](entry, 'request');
    else if (status >= 500) deps.logger.error({ ...entry, err: c.error?.message }, 'request failed');
    else if (QUIET.has(route)) deps.logger.debug(entry, 'request');
    else deps.logger.info(entry, 'request');
    if (!QUIET.has(route)) {
      deps.wideEvents.record({
        timestamp: Date.now(),
        trackingId: c.get('trackingId'),
        kind: 'http',
        method,
        route,
        status,
        durationMs,
        workspace: c.get('workspace') ?? '',
        subject: principal?.sub ?? '',
        error: status >= 400 ? (c.error?.message ?? '') : '',
        attributes: c.get('eventAttributes') ?? {},
      });
    }
  };
}
