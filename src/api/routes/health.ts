import { createRoute, z } from '@hono/zod-openapi';
import { json, router } from '../openapi.ts';
import type { AppDeps } from '../deps.ts';
import { onlyWaiting } from '../readiness.ts';

const Check = z.object({
  status: z.enum(['ok', 'down', 'not configured', 'seeding', 'starting', 'failed', 'off']),
  required: z.boolean(),
  detail: z.string().optional(),
});
const Readiness = z
  .object({ status: z.enum(['ready', 'not ready']), checks: z.record(z.string(), Check) })
  .openapi('Readiness', { description: 'Each dependency by name; required ones must be ok' });

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['meta'],
  operationId: 'getHealth',
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'Alive', content: json(z.object({ status: z.literal('ok') })) } },
});

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['meta'],
  operationId: 'getReadiness',
  summary: 'Readiness: ClickHouse (and the first demo seed) answer; optional dependencies reported by name',
  responses: {
    200: { description: 'Ready', content: json(Readiness) },
    503: { description: 'A required dependency is not ready', content: json(Readiness) },
  },
});

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['meta'],
  operationId: 'getMetrics',
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
});

/** Public probes for the platform: no token. */
export function healthRoutes(deps: AppDeps) {
  const app = router();
  app.openapi(healthz, (c) => c.json({ status: 'ok' as const }, 200));
  app.openapi(readyz, async (c) => {
    const r = await deps.readiness.check();
    const body = { status: r.ready ? ('ready' as const) : ('not ready' as const), checks: r.checks };
    // Probes poll throughout the first seed: that 503 is expected, not an error to log.
    if (!r.ready && onlyWaiting(r.checks)) c.set('logLevel', 'info');
    return r.ready ? c.json(body, 200) : c.json(body, 503);
  });
  app.openapi(metrics, async (c) =>
    c.text(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType }),
  );
  return app;
}
