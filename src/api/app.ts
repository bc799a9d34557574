import type { OpenAPIHono } from '@hono/zod-openapi';
import { tracking } from './middleware/tracking.ts';
import { observe } from './middleware/observe.ts';
import { authenticate } from './middleware/auth.ts';
import { handleErrors } from './errors.ts';
import { router, serveOpenApi } from './openapi.ts';
import { healthRoutes } from './routes/health.ts';
import { otlpRoutes } from './routes/otlp.ts';
import { whoamiRoutes } from './routes/whoami.ts';
import { demoRoutes } from './routes/demo.ts';
import { toolRoutes } from './routes/tools.ts';
import { chatRoutes, threadRoutes } from './routes/chat.ts';
import { approvalRoutes, workspaceApprovalRoutes } from './routes/approvals.ts';
import { auditRoutes } from './routes/audit.ts';
import { knowledgeRoutes, runbookRoutes } from './routes/knowledge.ts';
import { alertRoutes } from './routes/alerts.ts';
import { slackRoutes } from './routes/slack.ts';
import { evalRoutes } from './routes/evals.ts';
import { evalChoice } from './middleware/eval-choice.ts';
import { briefingRoutes } from './routes/briefings.ts';
import { statsRoutes, traceRoutes } from './routes/observability.ts';
import { uiRoutes } from './routes/ui.ts';
import { devRoutes } from './routes/dev.ts';
import type { AppDeps } from './deps.ts';
import type { AppEnv } from './env.ts';

/** The route map: each resource's sub-app at its prefix; its routes, schemas and checks are in routes/. */
export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = router();
  app.use('*', tracking);
  app.use('*', observe(deps));

  // Public: probes, metrics and the OpenAPI description.
  app.route('/', healthRoutes(deps));
  serveOpenApi(app, '/openapi.json');
  // The web console: static files under a strict CSP; it calls /v1 with a bearer token, never a cookie.
  app.route('/', uiRoutes(deps));

  // Slack signs its requests itself; mounted before the JWT check below, which it never reaches.
  app.route('/v1/slack', slackRoutes(deps, deps.slack, deps.config.SLACK_SIGNING_SECRET));

  // Dev mode only, loopback clients only: the console's dev sign-in. Mounted before the JWT check, as Slack is.
  app.route('/v1/dev', devRoutes(deps));

  app.use('/v1/*', authenticate(deps.verifier, { webhookSecrets: deps.config.AIOPS_ALERT_WEBHOOK_SECRETS }));
  // Eval runs choose prompt versions and the model of a turn with headers (role eval only).
  app.use('/v1/*', evalChoice(deps.prompts, deps.modelAvailable));
  app.route('/v1/whoami', whoamiRoutes());
  app.route('/v1', otlpRoutes(deps)); // OTLP/HTTP fixes the paths: /v1/logs, /v1/metrics, /v1/traces
  app.route('/v1/demo', demoRoutes(deps));
  app.route('/v1/tools', toolRoutes(deps));
  app.route('/v1/chat', chatRoutes(deps));
  app.route('/v1/threads', threadRoutes(deps));
  app.route('/v1/threads/:id/approvals', approvalRoutes(deps, deps.approvals));
  app.route('/v1/approvals', workspaceApprovalRoutes(deps, deps.approvals));
  app.route('/v1/audit', auditRoutes(deps, deps.approvals));
  app.route('/v1/runbooks', runbookRoutes(deps));
  app.route('/v1/knowledge', knowledgeRoutes(deps));
  app.route('/v1/alerts', alertRoutes(deps, deps.alerts));
  app.route('/v1/evals', evalRoutes(deps, deps.evals));
  app.route('/v1/briefings', briefingRoutes(deps, deps.briefings));
  app.route('/v1/trace', traceRoutes(deps));
  app.route('/v1/stats', statsRoutes(deps));

  handleErrors(app, deps);
  return app;
}
