import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { extractParent, SpanKind, SpanStatusCode } from '../../observability/tracing.ts';
import { context, trace } from '@opentelemetry/api';

const QUIET = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line, Prometheus samples, one wide event (sampled) and one request
 * fact (unsampled) per request, inside a server span that continues the
 * caller's trace (`traceparent`). Never sees the token.
 */
export function observe(deps: Pick<AppDeps, 'logger' | 'metrics' | 'wideEvents' | 'facts' | 'tracing'>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const method = c.req.method;
    const parent = extractParent(c.req.raw.headers);
    const span = deps.tracing.tracer.startSpan(
      `${method}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), () => next());
    } catch (err) {
      span.end();
      throw err;
    }
    const durationMs = performance.now() - started;
    const matched = routePath(c, -1);
    const route = !matched || matched.endsWith('*') ? 'unmatched' : matched;
    const status = c.res.status;
    span.updateName(`${method} ${route}`);
    span.setAttributes({ 'http.route': route, 'http.response.status_code': status, 'aiops.tracking_id': c.get('trackingId') });
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
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
      deps.facts.record({
        kind: 'request',
        trackingId: c.get('trackingId'),
        workspace: c.get('workspace') ?? '',
        name: `${method} ${route}`,
        status: status >= 500 ? 'error' : 'ok',
        durationMs,
        attrs: { http_status: String(status), sub: principal?.sub ?? '', ...(c.get('eventAttributes') ?? {}) },
      });
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
