import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { tracking } from './middleware/tracking.ts';
import { observe } from './middleware/observe.ts';
import { authenticate } from './middleware/auth.ts';
import { Problem, problems } from '../core/problem.ts';
import { healthRoutes } from './routes/health.ts';
import { otlpRoutes } from './routes/otlp.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { demoRoutes } from './routes/demo.ts';
import { toolRoutes } from './routes/tools.ts';
import { chatRoutes } from './routes/chat.ts';
import { knowledgeRoutes } from './routes/knowledge.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { alertRoutes } from './routes/alerts.ts';
import { slackRoutes } from './routes/slack.ts';
import type { AppDeps } from './deps.ts';
import type { AppEnv } from './env.ts';

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', tracking);
  app.use('*', observe(deps));
  app.route('/', healthRoutes(deps));

  // Slack signs its requests itself; this route is outside the JWT check below.
  app.route('/v1', slackRoutes(deps, deps.slack, deps.config.SLACK_SIGNING_SECRET));

  const v1 = new Hono<AppEnv>();
  v1.use('*', authenticate(deps.verifier, { webhookSecrets: deps.config.AIOPS_ALERT_WEBHOOK_SECRETS }));
  v1.route('/', whoamiRoutes());
  v1.route('/', otlpRoutes(deps));
  v1.route('/', demoRoutes(deps));
  v1.route('/', toolRoutes(deps));
  v1.route('/', chatRoutes(deps));
  v1.route('/', knowledgeRoutes(deps));
  v1.route('/', approvalRoutes(deps, deps.approvals));
  v1.route('/', alertRoutes(deps, deps.alerts));
  app.route('/v1', v1);

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
  return app;
}

export function problemResponse(c: Context<AppEnv>, p: Problem): Response {
  const headers: Record<string, string> = { 'Content-Type': 'application/problem+json', ...(p.headers ?? {}) };
  const id = c.get('trackingId');
  if (id) headers['X-Request-Id'] = id;
  return new Response(JSON.stringify(p.body(id)), { status: p.status, headers });
}

/** The methods registered for a path, for 405 answers. */
function allowedMethods(app: Hono<AppEnv>): (path: string) => string[] {
  let table: { re: RegExp; method: string }[] | undefined;
  return (path) => {
    table ??= app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => ({
        method: r.method,
        re: new RegExp(
          `^${r.path
            .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
            .replace(/\/:[^/]+/g, '/[^/]+')
            .replace(/\*/g, '.*')}/?$`,
        ),
      }));
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
