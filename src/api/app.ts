import { Hono } from 'hono';
import { tracking } from './middleware/tracking.ts';
import { observe } from './middleware/observe.ts';
import { authenticate } from './middleware/auth.ts';
import { handleErrors } from './errors.ts';
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

  handleErrors(app, deps);
  return app;
}
