import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { scoped } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { IntakeResult } from '../schemas.ts';
import { problems } from '../../core/problem.ts';
import { AlertmanagerWebhook, fromAlertmanager, fromPlain, PlainAlert, type AlertGroup } from '../../alerts/schema.ts';
import type { Scope } from '../../core/scope.ts';
import type { AlertIntake } from '../../alerts/intake.ts';
import type { AppDeps } from '../deps.ts';

/** A JWT with role `alerts`, or the workspace's webhook secret as the bearer token. */
const alertAuth: Record<string, string[]>[] = [{ bearerAuth: [] }, { alertWebhookSecret: [] }];
// .meta, not .openapi: these schemas may be built before @hono/zod-openapi extends zod.
const AlertmanagerBody = AlertmanagerWebhook.meta({ id: 'AlertmanagerWebhook' });
const PlainBody = PlainAlert.meta({ id: 'PlainAlert' });
const accepted = {
  202: { description: 'Accepted; the investigation runs in the background on the thread', content: json(IntakeResult) },
  ...problemResponses(400, 401, 403, 413, 415, 503),
};

/**
 * Alert intake: answers 202 at once with the thread; the investigation runs
 * in the background. Needs role `alerts` (a JWT, or the workspace's webhook
 * secret as the bearer token).
 */
export function alertRoutes(deps: AppDeps, intake: AlertIntake) {
  const app = router();
  const body = jsonBody(deps.config.AIOPS_MAX_BODY_BYTES);
  const accept = async (c: Context, scope: Scope, group: AlertGroup) => {
    const result = await intake.receive(scope, group);
    c.set('eventAttributes', { outcome: result.outcome, thread_id: result.thread_id ?? '', alerts: String(group.alerts.length) });
    return result;
  };

  const alertmanager = createRoute({
    method: 'post',
    path: '/alertmanager',
    tags: ['alerts'],
    operationId: 'postAlertmanagerWebhook',
    summary: "Alertmanager's webhook (payload version 4)",
    description: `At most ${deps.policies.alerts.max_alerts} alerts per notification (set max_alerts in the webhook_config).`,
    security: alertAuth,
    parameters: workspaceHeader,
    middleware: [scoped('alerts'), body] as const,
    request: { body: jsonRequest(AlertmanagerBody) },
    responses: accepted,
  });
  const plain = createRoute({
    method: 'post',
    path: '/',
    tags: ['alerts'],
    operationId: 'postAlert',
    summary: 'A plain alert from another pipeline',
    security: alertAuth,
    parameters: workspaceHeader,
    middleware: [scoped('alerts'), body] as const,
    request: { body: jsonRequest(PlainBody) },
    responses: accepted,
  });

  app.openapi(alertmanager, async (c) => {
    const body = c.req.valid('json');
    const max = deps.policies.alerts.max_alerts;
    if (body.alerts.length > max)
      throw problems.validation(`at most ${max} alerts per notification`, [
        { field: 'alerts', message: `${body.alerts.length} alerts; set max_alerts in Alertmanager's webhook_config` },
      ]);
    return c.json(await accept(c, c.var.scope, fromAlertmanager(body)), 202);
  });
  app.openapi(plain, async (c) => c.json(await accept(c, c.var.scope, fromPlain(c.req.valid('json'), Date.now())), 202));
  return app;
}
