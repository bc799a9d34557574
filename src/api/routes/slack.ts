import { Hono } from 'hono';
import { problems } from '../../core/problem.ts';
import { SlackEnvelope, type SlackAdapter } from '../../slack/adapter.ts';
import { verifySlackRequest } from '../../slack/signature.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Slack's Events API. Not behind the JWT: Slack signs each request with the
 * app's signing secret instead, checked over the raw body before anything
 * else is read. Answers within Slack's 3 seconds; work goes on after.
 */
export function slackRoutes(deps: AppDeps, adapter: SlackAdapter | undefined, signingSecret: string | undefined) {
  const app = new Hono<AppEnv>();
  app.post('/slack/events', async (c) => {
    if (!adapter || !signingSecret)
      throw problems.notFound('the Slack adapter is not enabled (policies/slack.yaml, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)');
    if (Number(c.req.header('content-length') ?? 0) > MAX_EVENT_BYTES) throw problems.tooLarge(MAX_EVENT_BYTES);
    const raw = await c.req.text();
    if (Buffer.byteLength(raw) > MAX_EVENT_BYTES) throw problems.tooLarge(MAX_EVENT_BYTES);
    const check = verifySlackRequest(signingSecret, c.req.header('x-slack-request-timestamp'), c.req.header('x-slack-signature'), raw);
    if (!check.ok) {
      deps.logger.warn({ tracking_id: c.get('trackingId'), reason: check.reason }, 'a Slack request failed its signature check');
      throw problems.unauthorized(`Slack signature check failed: ${check.reason}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw problems.badRequest('the body is not JSON');
    }
    const parsed = SlackEnvelope.safeParse(body);
    // Event types we do not use are acknowledged, so Slack does not retry them.
    if (!parsed.success) return c.json({ ok: true, handled: 'ignored' });
    const result = adapter.receive(parsed.data, c.get('trackingId'));
    c.set('eventAttributes', { slack: result.handled, retry: c.req.header('x-slack-retry-num') ?? '0' });
    if (result.challenge !== undefined) return c.json({ challenge: result.challenge });
    return c.json({ ok: true, handled: result.handled });
  });
  return app;
}
