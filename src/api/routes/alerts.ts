import { Hono, type Context } from 'hono';
import { requireScope } from '../middleware/auth.ts';
import { jsonBody } from '../validate.ts';
import { problems } from '../../core/problem.ts';
import { AlertmanagerWebhook, fromAlertmanager, fromPlain, PlainAlert, type AlertGroup } from '../../alerts/schema.ts';
import type { AlertIntake } from '../../alerts/intake.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

/**
 * Alert intake: answers 202 at once with the thread; the investigation runs
 * in the background. Needs role `alerts` (a JWT, or the workspace's webhook
 * secret as the bearer token).
 */
export function alertRoutes(deps: AppDeps, intake: AlertIntake) {
  const app = new Hono<AppEnv>();
  const accept = async (c: Context<AppEnv>, group: AlertGroup) => {
    const { principal, workspace } = requireScope(c, 'alerts');
    const result = await intake.receive({ principal, workspace, trackingId: c.get('trackingId') }, group);
    c.set('eventAttributes', { outcome: result.outcome, thread_id: result.thread_id ?? '', alerts: String(group.alerts.length) });
    return c.json(result, 202);
  };

  app.post('/alerts/alertmanager', async (c) => {
    requireScope(c, 'alerts');
    const body = await jsonBody(c, AlertmanagerWebhook, deps.config.AIOPS_MAX_BODY_BYTES);
    const max = deps.policies.alerts.max_alerts;
    if (body.alerts.length > max)
      throw problems.validation(`at most ${max} alerts per notification`, [
        { field: 'alerts', message: `${body.alerts.length} alerts; set max_alerts in Alertmanager's webhook_config` },
      ]);
    return accept(c, fromAlertmanager(body));
  });

  app.post('/alerts', async (c) => {
    requireScope(c, 'alerts');
    const body = await jsonBody(c, PlainAlert, deps.config.AIOPS_MAX_BODY_BYTES);
    return accept(c, fromPlain(body, Date.now()));
  });

  return app;
}
