import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { policiesWith } from './helpers/fake-model.ts';
import { slackServer } from './helpers/slack-server.ts';
import { signSlackRequest, verifySlackRequest } from '../src/slack/signature.ts';

const SIGNING = 'slack-signing-secret-for-tests';
const BOT = 'xoxb-test-bot-token';
const SLACK_POLICY = `enabled: true
channels:
  shop: C0SHOP0001
users:
  U0ALICE001: { workspace: shop, roles: [sre] }
  U0OTHER001: { workspace: analytics, roles: [sre] }
approval_url: https://platform.example.com/aiops/approvals
`;

let svc: TestService;
let slack: Awaited<ReturnType<typeof slackServer>>;
let hook: string;
let faultStart: string;

beforeAll(async () => {
  slack = await slackServer(BOT);
  svc = await startTestService({
    SLACK_BOT_TOKEN: BOT,
    SLACK_SIGNING_SECRET: SIGNING,
    SLACK_API_URL: slack.url,
    AIOPS_POLICIES_DIR: policiesWith({ 'slack.yaml': SLACK_POLICY }),
  });
  faultStart = (await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2)).faultStart!;
  hook = await svc.token({ sub: 'alertmanager', roles: ['alerts'] });
});
afterAll(async () => {
  await svc?.close();
  await slack?.close();
});

/** A request as Slack sends it: signed over the raw body with the current timestamp. */
const send = (body: unknown, opts: { timestamp?: number; signature?: string; retry?: string } = {}) => {
  const raw = JSON.stringify(body);
  const ts = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  return svc.request('/v1/slack/events', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Slack-Request-Timestamp': ts,
      'X-Slack-Signature': opts.signature ?? signSlackRequest(SIGNING, ts, raw),
      ...(opts.retry ? { 'X-Slack-Retry-Num': opts.retry, 'X-Slack-Retry-Reason': 'http_timeout' } : {}),
    },
    body: raw,
  });
};
const settled = async () => {
  await svc.service.deps.alerts.settled();
  await svc.service.deps.slack!.settled();
};

describe('Slack request signing', () => {
  it('verifies v0 signatures over timestamp and raw body, in constant time, within five minutes', () => {
    const now = Date.now();
    const ts = String(Math.floor(now / 1000));
    const raw = '{"type":"url_verification","challenge":"x"}';
    expect(verifySlackRequest(SIGNING, ts, signSlackRequest(SIGNING, ts, raw), raw, now)).toEqual({ ok: true });
    expect(verifySlackRequest(SIGNING, ts, signSlackRequest(SIGNING, ts, raw), `${raw} `, now)).toMatchObject({
      ok: false,
      reason: /does not match/,
    });
    expect(
      verifySlackRequest(SIGNING, String(Number(ts) - 301), signSlackRequest(SIGNING, String(Number(ts) - 301), raw), raw, now),
    ).toMatchObject({ ok: false, reason: /five minutes/ });
    expect(verifySlackRequest(SIGNING, ts, 'v0=abc', raw, now)).toMatchObject({ ok: false, reason: /malformed/ });
    expect(verifySlackRequest(SIGNING, undefined, undefined, raw, now)).toMatchObject({ ok: false });
  });

  it('answers url_verification; refuses a stale timestamp and a bad signature (401), outside the JWT check', async () => {
    const ok = await send({ type: 'url_verification', challenge: 'c-123', token: 'legacy' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ challenge: 'c-123' });
    const stale = await send({ type: 'url_verification', challenge: 'c' }, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('content-type')).toMatch(/problem\+json/);
    const forged = await send({ type: 'url_verification', challenge: 'c' }, { signature: `v0=${'0'.repeat(64)}` });
    expect(forged.status).toBe(401);
    expect(svc.logs()).toMatch(/a Slack request failed its signature check/);
  });
});

describe('alert threads in Slack', () => {
  let threadTs: string;
  let threadId: string;

  it('posts the alert and the investigation as replies under one message, with approvals linking to the platform UI', async () => {
    const res = await svc.request('/v1/alerts', {
      method: 'POST',
      token: hook,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        id: 'payment-errors',
        title: 'HighErrorRate',
        severity: 'critical',
        service: 'checkout',
        description: 'checkout errors above 5%',
        starts_at: faultStart,
      }),
    });
    threadId = (await json<{ thread_id: string }>(res)).thread_id;
    await settled();
    const [root, reply] = slack.posted;
    expect(root).toMatchObject({ channel: 'C0SHOP0001', token: BOT });
    expect(root!.thread_ts).toBeUndefined();
    expect(root!.text).toMatch(/HighErrorRate on checkout\* firing \(critical\)/);
    threadTs = '1700000000.000001';
    expect(reply).toMatchObject({ channel: 'C0SHOP0001', thread_ts: threadTs });
    expect(reply!.text).toMatch(/bad deploy of payment/);
    const approval = reply!.blocks!.find((b) => b.text?.text.startsWith('*Proposed:*'))!;
    expect(approval.text!.text).toMatch(
      /roll payment back to 2\.4\.1.*Not approvable from Slack: <https:\/\/platform\.example\.com\/aiops\/approvals\?thread=[^|]+&amp;approval=[^|]+\|approve or reject in the platform UI>/,
    );
  });

  it('a reply in the Slack thread becomes a follow-up turn as the mapped user; a retry is not processed twice', async () => {
    const before = slack.posted.length;
    const event = {
      type: 'event_callback',
      event_id: 'Ev0001',
      event: {
        type: 'message',
        user: 'U0ALICE001',
        text: 'what changed in payment?',
        channel: 'C0SHOP0001',
        ts: '1700000100.000100',
        thread_ts: threadTs,
      },
    };
    const first = await send(event);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ok: true, handled: 'queued' });
    const retry = await send(event, { retry: '1' });
    expect(await retry.json()).toEqual({ ok: true, handled: 'duplicate' });
    await settled();
    const posted = slack.posted.slice(before);
    expect(posted).toHaveLength(1);
    expect(posted[0]).toMatchObject({ channel: 'C0SHOP0001', thread_ts: threadTs });
    const t = await json<{ turns: number; messages: { role: string; content: string }[] }>(
      await svc.request(`/v1/threads/${threadId}`, { token: await svc.token({ roles: ['sre'] }) }),
    );
    expect(t.turns).toBe(2);
    expect(t.messages.filter((m) => m.role === 'user').at(-1)!.content).toBe('what changed in payment?');
  });

  it('ignores bots, users of another workspace get told, and unknown threads are left alone', async () => {
    const before = slack.posted.length;
    await send({
      type: 'event_callback',
      event_id: 'Ev0002',
      event: { type: 'message', bot_id: 'B1', text: 'echo', channel: 'C0SHOP0001', ts: '1700000200.000100', thread_ts: threadTs },
    });
    await send({
      type: 'event_callback',
      event_id: 'Ev0003',
      event: {
        type: 'message',
        user: 'U0ALICE001',
        text: 'hello',
        channel: 'C0SHOP0001',
        ts: '1700000300.000100',
        thread_ts: '1600000000.000001',
      },
    });
    await send({
      type: 'event_callback',
      event_id: 'Ev0004',
      event: { type: 'message', user: 'U0OTHER001', text: 'show me', channel: 'C0SHOP0001', ts: '1700000400.000100', thread_ts: threadTs },
    });
    await settled();
    const posted = slack.posted.slice(before);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toMatch(/not mapped to workspace shop/);
  });
});
