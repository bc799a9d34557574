import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { sharedDir } from './helpers/shared.ts';

const SECRET = 'shop-webhook-secret-0123456789';
let svc: TestService;
let hook: string; // a JWT with role alerts
let alice: string;
let faultStart: string;

beforeAll(async () => {
  svc = await startTestService({ AIOPS_ALERT_WEBHOOK_SECRETS: `shop=${SECRET}` });
  const seeded = await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
  faultStart = seeded.faultStart!;
  hook = await svc.token({ sub: 'alertmanager', roles: ['alerts'], ttlSeconds: 3600 });
  alice = await svc.token({ sub: 'alice', roles: ['sre'] });
});
afterAll(() => svc?.close());

const example = (name: string) =>
  JSON.parse(fs.readFileSync(sharedDir('specs', 'alertmanager', 'examples', name), 'utf8')) as Record<string, unknown> & {
    groupKey: string;
    alerts: Record<string, unknown>[];
  };
const post = (body: unknown, token: string = hook, path = '/v1/alerts/alertmanager') =>
  svc.request(path, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const settled = () => svc.service.deps.alerts.settled();

/** Runs `fn` with the clock (Date only) moved ahead by `ms`, then moves it back. */
async function withClockAhead<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const installed = !vi.isFakeTimers();
  if (installed) vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
  vi.setSystemTime(Date.now() + ms);
  try {
    return await fn();
  } finally {
    vi.setSystemTime(Date.now() - ms);
    if (installed) vi.useRealTimers();
  }
}
interface Thread {
  id: string;
  kind: string;
  status: string;
  turns: number;
  messages: { role: string; content: string; meta?: { hypotheses: { service: string; kind: string }[]; routing: { method: string } } }[];
}
const thread = async (id: string) => json<Thread>(await svc.request(`/v1/threads/${id}`, { token: alice }));

/** An Alertmanager notification about payment errors in the simulated shop. */
function paymentAlert(status: 'firing' | 'resolved', groupKey = '{}:{alertname="HighErrorRate"}', extra: Record<string, unknown>[] = []) {
  return {
    version: '4',
    groupKey,
    status,
    receiver: 'hks-aiops',
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', severity: 'critical', namespace: 'shop' },
    commonAnnotations: { summary: 'Error ratio above 5%', runbook_url: 'https://runbooks.example.com/high-error-rate' },
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'HighErrorRate', severity: 'critical', service: 'checkout', namespace: 'shop' },
        annotations: { description: 'checkout fails more than 5% of its requests' },
        startsAt: faultStart,
        endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: 'a1b2c3d4e5f60718',
      },
      ...extra,
    ],
  };
}

describe('POST /v1/alerts/alertmanager', () => {
  it('accepts the real example payloads at once (202 with the thread)', async () => {
    for (const name of ['prom_post_request.json', 'prom_post_request_12_alerts.json']) {
      const body = example(name);
      const res = await post({ ...body, groupKey: `${body.groupKey}:${name}` });
      expect(res.status, name).toBe(202);
      const r = await json<{ thread_id: string; outcome: string }>(res);
      expect(r.outcome).toBe('investigating');
      expect(r.thread_id).toMatch(/^[0-9a-f-]{36}$/);
    }
    await settled();
  });

  it('names a missing field (400), refuses a wrong token (401) and a token without the alerts role (403)', async () => {
    const body = example('prom_post_request.json');
    const { groupKey: _, ...noKey } = body;
    const missing = await post(noKey);
    expect(missing.status).toBe(400);
    expect(missing.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await json<{ errors: { field: string }[] }>(missing)).errors.map((e) => e.field)).toEqual(['groupKey']);
    const noName = await post({ ...body, alerts: [{ labels: { severity: 'warning' }, startsAt: '2026-11-22T06:00:00Z' }] });
    expect((await json<{ errors: { field: string; message: string }[] }>(noName)).errors[0]).toMatchObject({
      field: 'alerts[0].labels',
      message: 'labels.alertname is required',
    });
    expect((await post({ ...body, version: '3' })).status).toBe(400);
    expect((await post(body, 'not-a-token')).status).toBe(401);
    expect((await post(body, 'shop-webhook-secret-wrong-value')).status).toBe(401);
    expect((await post(body, alice)).status).toBe(403);
  });

  it('takes the workspace webhook secret as a bearer token, and only on the alert routes', async () => {
    const body = example('prom_post_request.json');
    const res = await post({ ...body, groupKey: 'secret-auth' }, SECRET);
    expect(res.status).toBe(202);
    expect((await svc.request('/v1/whoami', { token: SECRET })).status).toBe(401);
    await settled();
  });

  it('starts one investigation for 100 identical notifications in a burst', async () => {
    const body = paymentAlert('firing', 'burst-group');
    const results = await Promise.all(
      Array.from({ length: 100 }, () => post(body).then((r) => json<{ thread_id: string; outcome: string }>(r))),
    );
    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'investigating')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(99);
    expect(new Set(results.map((r) => r.thread_id)).size).toBe(1);
    await settled();
    const t = await thread(results[0]!.thread_id);
    expect(t.turns).toBe(1);
  });

  it('for the payment-bad-deploy incident, the first answer names the payment deploy, without an LLM', async () => {
    const res = await post(paymentAlert('firing'));
    const { thread_id } = await json<{ thread_id: string }>(res);
    await settled();
    const t = await thread(thread_id);
    expect(t).toMatchObject({ kind: 'alert', status: 'firing', turns: 1 });
    expect(t.messages[0]).toMatchObject({
      role: 'user',
      content: expect.stringMatching(/^Alert HighErrorRate is firing for checkout since \d\d:\d\d UTC, severity critical/),
    });
    const answer = t.messages[1]!;
    expect(answer.content).toMatch(/Likely cause: a bad deploy of payment/);
    expect(answer.meta!.hypotheses[0]).toMatchObject({ service: 'payment', kind: 'bad_deploy' });
    expect(answer.content).toMatch(/runbooks\/error-rise-after-deploy\.md#mitigate/);
    const list = await json<{ threads: { id: string }[] }>(await svc.request('/v1/threads?kind=alert&status=firing', { token: alice }));
    expect(list.threads.map((x) => x.id)).toContain(thread_id);
  });

  it('a retry soon after is nothing; a repeat later is a "still firing" note; a new alert extends the investigation', async () => {
    const body = paymentAlert('firing');
    const again = await json<{ outcome: string; thread_id: string }>(await post(body));
    expect(again.outcome).toBe('duplicate');
    // Past repeat_note_after (10m), without waiting for it: the clock moves, not the test.
    const later = await withClockAhead(11 * 60_000, async () => json<{ outcome: string }>(await post(body)));
    expect(later.outcome).toBe('still_firing');
    await settled();
    let t = await thread(again.thread_id);
    expect(t.messages.at(-1)!.content).toMatch(/^Still firing: HighErrorRate \(1 alert\), since \d\d:\d\d UTC; notification \d+\./);
    expect(t.turns).toBe(1);

    const extended = paymentAlert('firing', undefined, [
      {
        status: 'firing',
        labels: { alertname: 'HighLatency', severity: 'warning', service: 'frontend' },
        annotations: { summary: 'p95 above 1 s' },
        startsAt: faultStart,
        fingerprint: 'ffee000011112222',
      },
    ]);
    expect((await json<{ outcome: string }>(await post(extended))).outcome).toBe('extended');
    await settled();
    t = await thread(again.thread_id);
    expect(t.turns).toBe(2);
    expect(t.messages.filter((m) => m.role === 'user').at(-1)!.content).toMatch(/^New alerts in this group: HighLatency \(frontend\)\./);
  });

  it('people follow up in the alert thread with the investigation’s evidence in context', async () => {
    const { thread_id } = await json<{ thread_id: string }>(await post(paymentAlert('firing')));
    const res = await svc.request(`/v1/threads/${thread_id}/messages`, {
      method: 'POST',
      token: alice,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'what version did payment run before?' }),
    });
    expect(res.status).toBe(200);
    const a = await json<{ turn: number; answer: string }>(res);
    expect(a.turn).toBeGreaterThanOrEqual(2);
  });

  it('resolved closes the thread with a summary and records the incident', async () => {
    const res = await json<{ outcome: string; thread_id: string }>(await post(paymentAlert('resolved')));
    expect(res.outcome).toBe('resolved');
    await settled();
    const t = await thread(res.thread_id);
    expect(t.status).toBe('resolved');
    expect(t.messages.at(-1)!.content).toMatch(
      /^Resolved at \d\d:\d\d UTC after \d+ min \(HighErrorRate, HighLatency\)\. Root cause found: payment, bad deploy/,
    );
    // The incident the alert's investigation opened is closed now, so it is a past incident to find.
    expect(svc.service.deps.knowledge.openIncidents('shop', res.thread_id)).toEqual([]);
    const similar = await svc.service.deps.knowledge.similarIncidents('shop', 'HighErrorRate payment bad deploy');
    const mine = similar.hits.find((h) => h.incident.threads.includes(res.thread_id))!.incident;
    expect(mine).toMatchObject({ source: 'alert', alertname: 'HighErrorRate', root_service: 'payment', status: 'closed' });
    expect(mine.summary).toMatch(/Resolved after \d+ min/);
    // Resolving again changes nothing; firing again reopens the same thread.
    expect((await json<{ outcome: string }>(await post(paymentAlert('resolved')))).outcome).toBe('duplicate');
    const reopened = await json<{ outcome: string; thread_id: string }>(await post(paymentAlert('firing')));
    expect(reopened).toMatchObject({ outcome: 'reopened', thread_id: res.thread_id });
    await settled();
    expect((await thread(res.thread_id)).status).toBe('firing');
  });

  it('ignores a resolution for a group it never saw', async () => {
    expect(await json(await post(paymentAlert('resolved', 'never-seen')))).toMatchObject({ outcome: 'ignored', thread_id: null });
  });
});

describe('POST /v1/alerts (plain JSON)', () => {
  it('takes a plain alert from another pipeline, routed by its name (a security alert goes to Security)', async () => {
    const res = await post(
      { id: 'login-burst-1', title: 'AuthFailureBurst', severity: 'critical', service: 'frontend', description: 'failed logins spike' },
      hook,
      '/v1/alerts',
    );
    expect(res.status).toBe(202);
    const { thread_id } = await json<{ thread_id: string }>(res);
    await settled();
    const t = await thread(thread_id);
    expect(t.messages[1]!.meta!.routing.method).toBe('rules');
    const bad = await post({ title: '', severity: 'loud' }, hook, '/v1/alerts');
    expect(bad.status).toBe(400);
    expect((await json<{ errors: { field: string }[] }>(bad)).errors.map((e) => e.field).sort()).toEqual(['severity', 'title']);
  });
});

describe('an alert about something the telemetry never mentions', () => {
  it('says no telemetry names its host and job, what was checked, and keeps the shop incident apart as another problem', async () => {
    const res = await post(
      {
        version: '4',
        groupKey: '{}:{alertname="NodeEvent"}',
        status: 'firing',
        receiver: 'hks-aiops',
        groupLabels: { alertname: 'NodeEvent' },
        commonLabels: { alertname: 'NodeEvent', severity: 'warning', host: 'infrastructure002A', job: 'data_collector' },
        commonAnnotations: { summary: 'Node event on infrastructure002A' },
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'NodeEvent', severity: 'warning', host: 'infrastructure002A', job: 'data_collector' },
            annotations: { description: 'the collector on infrastructure002A reported an event' },
            startsAt: new Date(Date.now() - 5 * 60_000).toISOString(),
            endsAt: '0001-01-01T00:00:00Z',
          },
        ],
      },
      hook,
    );
    expect(res.status).toBe(202);
    const { thread_id } = await json<{ thread_id: string }>(res);
    await settled();
    const t = await thread(thread_id);
    const answer = t.messages.find((m) => m.role === 'assistant' && m.meta)!;
    expect(answer.content).toContain('No telemetry in workspace shop names host infrastructure002A and job data_collector');
    expect(answer.content).toContain('I checked the resource attributes');
    expect(answer.content).not.toMatch(/Likely cause/);
    expect(answer.meta!.hypotheses).toEqual([]);
    if (/payment/.test(answer.content))
      expect(answer.content).toMatch(/Other problems in shop meanwhile, not shown to be related: [^\n]*payment/);
    const approvals = await json<{ approvals: unknown[] }>(await svc.request(`/v1/threads/${thread_id}/approvals`, { token: alice }));
    expect(approvals.approvals).toEqual([]);
  });
});
