import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SCENARIO_END } from './helpers/scenario.ts';
import { logRecord, logsPayload } from './helpers/otlp.ts';
import { slackServer } from './helpers/slack-server.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { scenarioOrThrow, seedDemo, writeRange } from '../src/demo/seed.ts';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../src/briefings/delivery.ts';
import type { Briefing } from '../src/briefings/types.ts';
import { checkGrounding } from '../src/agents/grounding.ts';

const MIN = 60_000;
const SECRET = 'briefing-webhook-secret-for-tests';
/** The fault scenario's telemetry ends here; after it, the same world without the fault (recovered). */
const FAULT_END = SCENARIO_END - 30 * MIN;
const FAULT_START = FAULT_END - scenarioOrThrow('payment-bad-deploy').faultOffsetMinutes * MIN;

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver: fails the first `failFirst` requests with 503, records the rest. */
function receiver(failFirst: number) {
  const received: Received[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls++;
      if (calls <= failFirst) {
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  return { server, received, calls: () => calls };
}

let svc: TestService;
let sre: string;
let slack: Awaited<ReturnType<typeof slackServer>>;
const hook = receiver(1);
const failing = receiver(1000);

async function run(body: Record<string, unknown>, token = sre): Promise<{ status: number; b: Briefing }> {
  const res = await svc.request('/v1/briefings', {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const b = await json<Briefing>(res);
  if (res.status >= 300) throw new Error(`${res.status}: ${JSON.stringify(b)}`);
  return { status: res.status, b };
}

beforeAll(async () => {
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => failing.server.listen(0, '127.0.0.1', r));
  const port = (s: http.Server) => (s.address() as AddressInfo).port;
  slack = await slackServer('xoxb-briefing-test');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-briefing-policies-'));
  for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(dir, f));
  fs.writeFileSync(
    path.join(dir, 'briefings.yaml'),
    stringify({
      scheduler: false,
      link_base: 'https://platform.example.com/aiops',
      delivery: { attempts: 3, backoff: '50ms', timeout: '2s' },
      workspaces: {
        shop: [
          {
            name: 'twenty',
            schedule: { every: '20m' },
            skip_quiet: false,
            delivery: { webhook: { url: `http://127.0.0.1:${port(hook.server)}/hook`, secret_env: 'BRIEFING_TEST_SECRET' } },
          },
          {
            name: 'failing',
            schedule: { every: '20m' },
            skip_quiet: false,
            delivery: { webhook: { url: `http://127.0.0.1:${port(failing.server)}/hook`, secret_env: 'BRIEFING_TEST_SECRET' } },
          },
          {
            name: 'to-slack',
            schedule: { cron: '0 * * * *' },
            period: '20m',
            skip_quiet: true,
            delivery: { slack: { channel: 'C0BRIEF01' } },
          },
        ],
      },
    }),
  );
  process.env.BRIEFING_TEST_SECRET = SECRET;
  svc = await startTestService({ AIOPS_POLICIES_DIR: dir, SLACK_BOT_TOKEN: 'xoxb-briefing-test', SLACK_API_URL: slack.url });
  const { store, ingest } = svc.service.deps;
  // Two hours of the payment fault scenario, then half an hour of the same shop without the fault.
  const seeded = await seedDemo(store, ingest, 'k8s.namespace.name', {
    scenario: 'payment-bad-deploy',
    seed: 7,
    hours: 2,
    end: FAULT_END,
  });
  expect(Date.parse(seeded.faultStart!)).toBe(FAULT_START);
  await writeRange(ingest, scenarioOrThrow('none'), 7, FAULT_START, FAULT_END, SCENARIO_END);
  sre = await svc.token({ roles: ['sre'] });
  // A log line carrying markup, in the first briefing's period: the page must show it as text.
  const ingestToken = await svc.token({ roles: ['ingest'] });
  const lines = [0, 1, 2, 3].map((i) =>
    logRecord(FAULT_START + (8 + i) * MIN, `payment callback rejected: <script>alert("owned")</script> order ${1000 + i}`, {
      severityNumber: 17,
      severityText: 'ERROR',
    }),
  );
  const res = await svc.request('/v1/logs', {
    method: 'POST',
    token: ingestToken,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(logsPayload({ 'service.name': 'checkout', 'k8s.namespace.name': 'shop' }, lines)),
  });
  expect(res.status).toBe(200);
}, 600_000);

afterAll(async () => {
  await svc?.close();
  hook.server.close();
  failing.server.close();
  await slack?.close();
});

const iso = (ms: number) => new Date(ms).toISOString();

describe('briefings of an injected fault', () => {
  const results: Briefing[] = [];

  it('list the fault as a new incident with its origin, then ongoing, then resolved after recovery', async () => {
    // The fault starts at FAULT_START; these periods follow one another on the same schedule.
    for (const end of [FAULT_START + 22 * MIN, FAULT_START + 42 * MIN, SCENARIO_END]) {
      results.push((await run({ name: 'twenty', period: '20m', end: iso(end) })).b);
    }
    const [first, second, third] = results as [Briefing, Briefing, Briefing];
    const open = (b: Briefing) => b.incidents.filter((i) => i.status !== 'resolved');
    const said = results.map((b) => `${b.summary}\ngaps: ${b.gaps.join('; ')}`).join('\n---\n');

    expect(open(first), said).toHaveLength(1);
    expect(first.incidents[0]).toMatchObject({ origin: 'payment', status: 'new' });
    expect(first.incidents[0]!.services).toContain('checkout');
    expect(first.incidents[0]!.evidence_ids.length).toBeGreaterThan(0);
    expect(first.quiet).toBe(false);
    const ids = new Set(first.evidence.map((e) => e.id));
    for (const id of first.incidents[0]!.evidence_ids) expect(ids).toContain(id);

    expect(second.previous_id).toBe(first.id);
    expect(open(second), said).toHaveLength(1);
    expect(second.incidents[0]).toMatchObject({ id: first.incidents[0]!.id, origin: 'payment' });
    expect(['ongoing', 'worse']).toContain(second.incidents[0]!.status);

    expect(third.previous_id).toBe(second.id);
    expect(open(third), said).toHaveLength(0);
    expect(third.incidents).toEqual([expect.objectContaining({ id: first.incidents[0]!.id, status: 'resolved' })]);
    // Every number, time and name the narrator wrote is in the evidence.
    for (const b of results) {
      const services = [...new Set(b.key_metrics.map((m) => m.service))];
      const windowTimes = [b.period.start.slice(11, 16), b.period.end.slice(11, 16)];
      const { report } = checkGrounding(b.summary, b.evidence, services, { tolerance: 0.02, maxUnsupportedShare: 0, windowTimes });
      expect(report, `${b.summary}\n${JSON.stringify(report)}`).toMatchObject({
        unsupported_numbers: [],
        unsupported_entities: [],
        unknown_citations: [],
      });
    }
  });

  it('gives no incident for a fault-free period, and an all-quiet summary', async () => {
    const { b } = await run({ name: 'quiet-check', period: '20m', end: iso(FAULT_START - 5 * MIN) });
    expect(b.incidents).toEqual([]);
    expect(b.quiet).toBe(true);
    expect(b.summary).toMatch(/^All quiet in shop/);
    expect(new Set(b.key_metrics.map((m) => m.name))).toEqual(new Set(['traffic', 'error_ratio', 'p95_latency', 'saturation']));
    const sat = b.key_metrics.find((m) => m.name === 'saturation' && m.service === 'payment')!;
    expect(sat.value).toBeGreaterThan(0);
    expect(sat.value).toBeLessThan(1.5);
    expect(['up', 'down', 'stable']).toContain(sat.trend);
  });

  it('is idempotent per workspace, name and period', async () => {
    const again = await run({ name: 'twenty', period: '20m', end: iso(FAULT_START + 22 * MIN) });
    expect(again.status).toBe(200);
    expect(again.b.id).toBe(results[0]!.id);
    const list = await json<{ briefings: { id: string }[] }>(await svc.request('/v1/briefings?name=twenty', { token: sre }));
    expect(list.briefings.map((x) => x.id)).toEqual([results[2]!.id, results[1]!.id, results[0]!.id]);
  });

  it('delivers to the webhook signed, with an idempotency key, after a retry', async () => {
    await svc.service.deps.briefings.settled();
    expect(hook.calls()).toBeGreaterThanOrEqual(results.length + 1);
    const got = hook.received.find((r) => r.headers[IDEMPOTENCY_HEADER.toLowerCase()] === results[0]!.id)!;
    expect(got).toBeDefined();
    const ts = String(got.headers[TIMESTAMP_HEADER.toLowerCase()]);
    const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${got.body}`).digest('hex')}`;
    expect(got.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(expected);
    expect(JSON.parse(got.body)).toMatchObject({
      id: results[0]!.id,
      workspace: 'shop',
      link: `https://platform.example.com/aiops/v1/briefings/${results[0]!.id}.html`,
    });
    const stored = await json<Briefing>(await svc.request(`/v1/briefings/${results[0]!.id}`, { token: sre }));
    expect(stored.delivery).toEqual([expect.objectContaining({ channel: 'webhook', status: 'delivered' })]);
  });

  it('records a failing receiver on the briefing after its retries, and keeps the briefing', async () => {
    const { b } = await run({ name: 'failing', period: '20m', end: iso(FAULT_START + 22 * MIN) });
    await svc.service.deps.briefings.settled();
    expect(failing.calls()).toBe(3);
    const stored = await json<Briefing>(await svc.request(`/v1/briefings/${b.id}`, { token: sre }));
    expect(stored.delivery).toEqual([expect.objectContaining({ channel: 'webhook', status: 'failed', attempts: 3, error: 'HTTP 503' })]);
    expect(stored.incidents.length).toBeGreaterThan(0);
  });

  it('posts a Block Kit summary with a link to Slack, and does not deliver a quiet period when the policy says so', async () => {
    const { b } = await run({ name: 'to-slack', end: iso(FAULT_START + 22 * MIN) });
    const quiet = await run({ name: 'to-slack', end: iso(FAULT_START - 5 * MIN) });
    await svc.service.deps.briefings.settled();
    expect(slack.posted).toHaveLength(1);
    const m = slack.posted[0]!;
    expect(m.channel).toBe('C0BRIEF01');
    expect(m.text).toMatch(/1 incident\(s\): shop to-slack briefing/);
    expect(JSON.stringify(m.blocks)).toContain(`https://platform.example.com/aiops/v1/briefings/${b.id}.html`);
    expect(JSON.stringify(m.blocks)).toContain('payment');
    const stored = await json<Briefing>(await svc.request(`/v1/briefings/${b.id}`, { token: sre }));
    expect(stored.delivery).toEqual([expect.objectContaining({ channel: 'slack', target: 'C0BRIEF01', status: 'delivered' })]);
    expect(quiet.b.quiet).toBe(true);
    expect(quiet.b.delivery).toEqual([expect.objectContaining({ channel: 'slack', status: 'skipped' })]);
  });

  it('renders HTML with inline SVG charts and escapes telemetry text', async () => {
    const res = await svc.request(`/v1/briefings/${results[0]!.id}.html`, { token: sre });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('<svg');
    expect(html).toMatch(/class="(anomaly|incident)"/);
    expect(html).toContain('payment');
    const b = results[0]!;
    expect(b.evidence.some((e) => `${e.summary} ${(e.examples ?? []).join(' ')}`.includes('<script>'))).toBe(true);
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;');
  });
});

describe('reading and running briefings', () => {
  it('needs sre or admin to run and a chat role to read', async () => {
    const viewer = await svc.token({ roles: ['viewer'] });
    const res = await svc.request('/v1/briefings', {
      method: 'POST',
      token: viewer,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ period: '20m' }),
    });
    expect(res.status).toBe(403);
    expect((await svc.request('/v1/briefings', { token: viewer })).status).toBe(200);
    const ingestOnly = await svc.token({ roles: ['ingest'] });
    expect((await svc.request('/v1/briefings', { token: ingestOnly })).status).toBe(403);
  });

  it('answers bad input with problem+json naming the fields', async () => {
    const res = await svc.request('/v1/briefings', {
      method: 'POST',
      token: sre,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Bad Name', period: '0s', end: 'yesterday', extra: 1 }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const p = await json<{ errors: { field: string }[] }>(res);
    expect(p.errors.map((e) => e.field).sort()).toEqual(expect.arrayContaining(['end', 'name', 'period']));
    const missing = await svc.request('/v1/briefings/br_00000000000000000000', { token: sre });
    expect(missing.status).toBe(404);
    const badId = await svc.request('/v1/briefings/nope', { token: sre });
    expect(badId.status).toBe(400);
    expect((await json<{ errors: { field: string }[] }>(badId)).errors[0]!.field).toBe('id');
  });
});
