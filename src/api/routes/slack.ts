import { createRoute, z } from '@hono/zod-openapi';
import { problems } from '../../core/problem.ts';
import { json, problemResponses, router } from '../openapi.ts';
import { SlackEnvelope, type SlackAdapter } from '../../slack/adapter.ts';
import { verifySlackRequest } from '../../slack/signature.ts';
import type { AppDeps } from '../deps.ts';

const MAX_EVENT_BYTES = 256 * 1024;

const events = createRoute({
  method: 'post',
  path: '/events',
  tags: ['slack'],
  operationId: 'slackEvents',
  summary: "Slack's Events API (enabled in policies/slack.yaml); signed by Slack, no JWT",
  description:
    'The signature is checked over the raw body before anything else is read, so the body is not validated by zod middleware; ' +
    'event types the service does not use are acknowledged and ignored. 404 when the Slack adapter is not enabled.',
  security: [{ slackSignature: [] }],
  parameters: [
    {
      name: 'X-Slack-Request-Timestamp',
      in: 'header',
      required: true,
      description: 'Seconds since the epoch; a stale one is refused',
      schema: { type: 'string' },
    },
  ],
  request: {
    body: { required: true, content: { 'application/json': { schema: { type: 'object', description: 'A Slack Events API envelope' } } } },
  },
  responses: {
    200: {
      description: 'Acknowledged; for url_verification, the challenge',
      content: json(z.union([z.object({ ok: z.literal(true), handled: z.string() }), z.object({ challenge: z.string() })])),
    },
    ...problemResponses(400, 401, 404, 413),
  },
});

/**
 * Slack's Events API. Not behind the JWT: Slack signs each request with the
 * app's signing secret instead, checked over the raw body before anything
 * else is read. Answers within Slack's 3 seconds; work goes on after.
 */
export function slackRoutes(deps: AppDeps, adapter: SlackAdapter | undefined, signingSecret: string | undefined) {
  const app = router();
  app.openapi(events, async (c) => {
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
    if (!parsed.success) return c.json({ ok: true as const, handled: 'ignored' }, 200);
    const result = adapter.receive(parsed.data, c.get('trackingId'));
    c.set('eventAttributes', { slack: result.handled, retry: c.req.header('x-slack-retry-num') ?? '0' });
    if (result.challenge !== undefined) return c.json({ challenge: result.challenge }, 200);
    return c.json({ ok: true as const, handled: result.handled }, 200);
  });
  return app;
}
