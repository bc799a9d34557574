import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../src/clients/clickhouse.ts';
import { capturingLogger, json, startTestService, type TestService } from './helpers/service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService();
});
afterAll(() => svc.close());

describe('service basics', () => {
  it('answers health, readiness with named dependencies, and metrics', async () => {
    expect(await json(await svc.request('/healthz'))).toEqual({ status: 'ok' });
    const ready = await svc.request('/readyz');
    expect(ready.status).toBe(200);
    const body = await json<{ checks: Record<string, { status: string }> }>(ready);
    expect(body.checks.clickhouse!.status).toBe('ok');
    expect(body.checks.ollama!.status).toBe('not configured');
    expect(body.checks.control_plane!.status).toBe('not configured');
    const metrics = await (await svc.request('/metrics')).text();
    expect(metrics).toContain('aiops_http_requests_total{method="GET",route="/readyz",status="200"}');
  });

  it('reports an optional dependency that is down without failing readiness', async () => {
    const { Readiness } = await import('../src/api/readiness.ts');
    const r = new Readiness(svc.service.deps.store, [{ name: 'ollama', url: 'http://127.0.0.1:9', probePath: '/api/version' }]);
    const out = await r.check();
    expect(out.ready).toBe(true);
    expect(out.checks.ollama!.status).toBe('down');
  });

  it('logs /readyz polls while the first demo seed runs at info; a store that is down is an error', async () => {
    const { Readiness } = await import('../src/api/readiness.ts');
    const { createApp } = await import('../src/api/app.ts');
    const demo: { status: 'starting' | 'seeding' | 'ready'; lastError: string | undefined } = { status: 'starting', lastError: undefined };
    const { logger, lines } = capturingLogger();
    const app = createApp({ ...svc.service.deps, logger, readiness: new Readiness(svc.service.deps.store, [], demo) });
    const statuses: number[] = [];
    for (const status of ['starting', 'seeding', 'seeding', 'ready'] as const) {
      demo.status = status;
      statuses.push((await app.request('/readyz')).status);
    }
    expect(statuses).toEqual([503, 503, 503, 200]);
    const polls = lines()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; route?: string; status?: number; msg: string })
      .filter((l) => l.route === '/readyz');
    expect(polls.map((l) => [l.status, l.level, l.msg])).toEqual([
      [503, 30, 'request'],
      [503, 30, 'request'],
      [503, 30, 'request'],
      [200, 20, 'request'],
    ]);

    // ClickHouse not answering is a real failure: still an error.
    const down = capturingLogger();
    const failing = {
      reader: { ping: async () => ({ success: false as const, error: new Error('connect ECONNREFUSED 127.0.0.1:8123') }) },
    };
    const broken = createApp({ ...svc.service.deps, logger: down.logger, readiness: new Readiness(failing, [], demo) });
    expect((await broken.request('/readyz')).status).toBe(503);
    expect(down.lines()).toMatch(/"level":50,.*"route":"\/readyz".*"msg":"request failed"/);
  });

  it('echoes a tracking id: the caller’s, the W3C trace id, or a new one', async () => {
    const given = await svc.request('/healthz', { headers: { 'X-Request-Id': 'req-12345678' } });
    expect(given.headers.get('x-request-id')).toBe('req-12345678');
    const traced = await svc.request('/healthz', { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
    expect(traced.headers.get('x-request-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const fresh = await svc.request('/healthz', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as problem+json', async () => {
    const nf = await svc.request('/nowhere', { headers: { 'X-Request-Id': 'trace-404-abcdef' } });
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toBe('application/problem+json');
    expect(await json(nf)).toMatchObject({ type: 'urn:hks-aiops:problem:not-found', status: 404, tracking_id: 'trace-404-abcdef' });
    const token = await svc.token({ roles: ['ingest'] });
    const na = await svc.request('/v1/logs', { token });
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('POST');
    const na2 = await svc.request('/healthz', { method: 'POST' });
    expect(na2.status).toBe(405);
  });

  it('validates the demo seed request and its scope', async () => {
    const both = await svc.token({ roles: ['ingest'], workspaces: ['shop', 'analytics'] });
    const bad = await svc.request('/v1/demo/seed', {
      method: 'POST',
      token: both,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'meteor-strike', hours: 900, color: 'red' }),
    });
    expect(bad.status).toBe(400);
    const fields = (await json<{ errors: { field: string }[] }>(bad)).errors.map((e) => e.field).sort();
    expect(fields).toEqual(['(body)', 'hours', 'scenario']);
    const shopOnly = await svc.request('/v1/demo/seed', {
      method: 'POST',
      token: await svc.token({ roles: ['ingest'], workspaces: ['shop'] }),
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'none' }),
    });
    expect(shopOnly.status).toBe(403);
    const off = await svc.request('/v1/demo/seed', {
      method: 'POST',
      token: both,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ scenario: 'none' }),
    });
    expect(off.status).toBe(409);
    expect((await json(off)).detail).toMatch(/AIOPS_DEMO=off/);
  });

  it('keeps a wide event per request, always for errors', async () => {
    await svc.request('/nowhere-else', { headers: { 'X-Request-Id': 'wide-event-check-1' } });
    await svc.service.deps.wideEvents.flush();
    const rows = await readRows<{ route: string; status: number; error: string }>(svc.service.deps.store, {
      query: "SELECT route, status, error FROM aiops_wide_events WHERE tracking_id = 'wide-event-check-1'",
    });
    expect(rows).toEqual([{ route: 'unmatched', status: 404, error: '' }]);
  });
});
