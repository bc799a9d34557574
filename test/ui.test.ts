import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, tempDir, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { listenOnLoopback } from './helpers/browser.ts';
import { ROLE_NAMES } from '../src/core/roles.ts';
import { loadConfig } from '../src/config/env.ts';
import type { Problem } from '../src/core/problem.ts';
import { router } from '../src/api/openapi.ts';
import { uiRoutes } from '../src/api/routes/ui.ts';
import { devRoutes } from '../src/api/routes/dev.ts';

/**
 * The console's routes (issue 17): static files under a strict CSP with
 * caching by content hash, the dev sign-in only in dev mode and only for
 * loopback clients, and the workspace's pending proposals.
 */

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let svc: TestService;
let loop: Awaited<ReturnType<typeof listenOnLoopback>>;
beforeAll(async () => {
  svc = await startTestService();
  loop = await listenOnLoopback(svc.service.app.fetch);
});
afterAll(async () => {
  await loop?.close();
  await svc?.close();
});

describe('/ui', () => {
  it('redirects /ui to /ui/ and serves the page under a strict CSP, with no dev sign-in for a client it cannot see', async () => {
    const redirect = await svc.request('/ui');
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('ui/');
    const res = await svc.request('/ui/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('set-cookie')).toBeNull();
    const html = await res.text();
    expect(html).toContain('<meta name="aiops-dev-sign-in" content="off">');
    expect(html).toContain('<meta name="aiops-dev-roles" content="">');
    expect(html).toContain('<meta name="aiops-embed-origins" content="">');
    // Nothing inline for the CSP to allow: no script or style element with a body, no style or on* attribute.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    expect(html).toMatch(/<script type="module" src="\.\/app\.js\?v=[0-9a-f]{16}"><\/script>/);
  });

  it('serves modules with an ETag (304 when unchanged) and caches the hashed URL for a year', async () => {
    const html = await (await svc.request('/ui/')).text();
    const hash = /app\.js\?v=([0-9a-f]{16})/.exec(html)![1]!;
    const plain = await svc.request('/ui/app.js');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('etag')).toBe(`"${hash}"`);
    expect(plain.headers.get('cache-control')).toBe('no-cache');
    expect(plain.headers.get('content-security-policy')).toBe(CSP);
    expect((await svc.request(`/ui/app.js?v=${hash}`)).headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const again = await svc.request('/ui/thread.js', { headers: { 'If-None-Match': plain.headers.get('etag')! } });
    expect(again.status).toBe(200); // another file, another hash
    const same = await svc.request('/ui/app.js', { headers: { 'If-None-Match': `"${hash}"` } });
    expect(same.status).toBe(304);
    for (const p of ['/ui/nope.js', '/ui/index.html', '/ui/..%2Fpackage.json', '/ui/dev-sign-in.js']) {
      expect((await svc.request(p)).status, p).toBe(404);
    }
  });

  it('offers the dev sign-in to a loopback client of a dev-mode service, with the known roles', async () => {
    const html = await (await fetch(`${loop.url}/ui/`)).text();
    expect(html).toContain('<meta name="aiops-dev-sign-in" content="on">');
    expect(html).toContain(`<meta name="aiops-dev-roles" content="${ROLE_NAMES.join(' ')}">`);
    expect((await fetch(`${loop.url}/ui/dev-sign-in.js`)).status).toBe(200);
    // Behind a proxy on the same machine every client would look local: a proxy header turns it off.
    const proxied = await (await fetch(`${loop.url}/ui/`, { headers: { 'X-Forwarded-For': '203.0.113.9' } })).text();
    expect(proxied).toContain('<meta name="aiops-dev-sign-in" content="off">');
    expect((await fetch(`${loop.url}/ui/dev-sign-in.js`, { headers: { Forwarded: 'for=203.0.113.9' } })).status).toBe(404);
  });
});

describe('POST /v1/dev/token', () => {
  const ask = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${loop.url}/v1/dev/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('signs a short-lived token with known roles for a loopback client; the service accepts it', async () => {
    const res = await ask({ sub: 'alice', roles: ['sre', 'approver'], workspaces: ['shop'] });
    expect(res.status).toBe(200);
    const t = await json<{ token: string; expires_at: string; roles: string[] }>(res);
    expect(Date.parse(t.expires_at) - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(Date.parse(t.expires_at) - Date.now()).toBeGreaterThan(3500_000);
    const who = await svc.request('/v1/whoami', { token: t.token });
    expect(await json(who)).toEqual({ sub: 'alice', roles: ['sre', 'approver'], workspaces: ['shop'], workspace: 'shop' });
    expect(svc.logs()).not.toContain(t.token);
  });

  it('refuses unknown roles and bad names, naming the fields', async () => {
    const res = await ask({ sub: '<alice>', roles: ['root'], workspaces: [] });
    expect(res.status).toBe(400);
    const p = await json<{ errors: { field: string }[] }>(res);
    expect(p.errors.map((e) => e.field).sort()).toEqual(['roles[0]', 'sub', 'workspaces']);
  });

  it('is not there for a client that is not on loopback, or behind a proxy', async () => {
    const direct = await svc.request('/v1/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sub: 'alice', roles: ['sre'], workspaces: ['shop'] }),
    });
    expect(direct.status).toBe(404);
    expect((await ask({ sub: 'alice', roles: ['sre'], workspaces: ['shop'] }, { 'X-Forwarded-For': '203.0.113.9' })).status).toBe(404);
    expect((await ask({ sub: 'alice', roles: ['sre'], workspaces: ['shop'] }, { 'X-Real-IP': '203.0.113.9' })).status).toBe(404);
  });
});

describe('outside dev mode', () => {
  it('has no dev sign-in, not even for loopback clients; frame-ancestors follows the configuration', async () => {
    // The console's routes alone, on a config with a public key (so not dev mode): chDB allows one service per process.
    const config = loadConfig({
      AIOPS_DATA_DIR: tempDir(),
      AUTH_PUBLIC_KEY:
        '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAk94yXvL+d9omqXZkOKG14KM+9nBeheBke151qsuG6/U=\n-----END PUBLIC KEY-----\n',
      AIOPS_UI_FRAME_ANCESTORS: "'self' https://platform.example.com",
    });
    expect(config.devAuth).toBe(false);
    const app = router();
    app.route('/', uiRoutes({ config }));
    app.route('/v1/dev', devRoutes({ config }));
    app.onError((err, c) => c.json({ status: (err as Problem).status }, ((err as Problem).status ?? 500) as 404));
    const server = await listenOnLoopback(app.fetch);
    try {
      const res = await fetch(`${server.url}/ui/`);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'self' https://platform.example.com");
      const html = await res.text();
      expect(html).toContain('<meta name="aiops-dev-sign-in" content="off">');
      expect(html).toContain('<meta name="aiops-embed-origins" content="https://platform.example.com">');
      expect((await fetch(`${server.url}/ui/dev-sign-in.js`)).status).toBe(404);
      const token = await fetch(`${server.url}/v1/dev/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sub: 'alice', roles: ['sre'], workspaces: ['shop'] }),
      });
      expect(token.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses a frame-ancestors or embed origin that is not an origin', () => {
    expect(() => loadConfig({ AIOPS_UI_FRAME_ANCESTORS: "'none'; script-src *" })).toThrow(/AIOPS_UI_FRAME_ANCESTORS/);
    expect(() => loadConfig({ AIOPS_UI_EMBED_ORIGINS: 'https://ok.example.com,*' })).toThrow(/AIOPS_UI_EMBED_ORIGINS/);
    expect(loadConfig({ AIOPS_UI_EMBED_ORIGINS: 'https://a.example.com, http://b.example.com:8080' }).AIOPS_UI_EMBED_ORIGINS).toEqual([
      'https://a.example.com',
      'http://b.example.com:8080',
    ]);
  });
});

describe('GET /v1/approvals', () => {
  let pendingId: string;
  beforeAll(async () => {
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 1);
    const alice = await svc.token({ sub: 'alice', roles: ['sre'] });
    const res = await svc.request('/v1/chat', {
      method: 'POST',
      token: alice,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'why are payments failing?' }),
    });
    expect(res.status).toBe(200);
    const answer = await json<{ approvals: { approval_id: string; action: string }[] }>(res);
    pendingId = answer.approvals.find((a) => a.action === 'rollback')!.approval_id;
  });

  it("lists the workspace's pending proposals to chat and approver roles, with reason and evidence", async () => {
    for (const roles of [['viewer'], ['approver']]) {
      const res = await svc.request('/v1/approvals?status=pending', { token: await svc.token({ sub: 'bob', roles }) });
      expect(res.status, roles[0]).toBe(200);
      const body = await json<{ workspace: string; approvals: Record<string, unknown>[] }>(res);
      expect(body.workspace).toBe('shop');
      expect(body.approvals).toHaveLength(1);
      expect(body.approvals[0]).toMatchObject({
        approval_id: pendingId,
        status: 'pending',
        action: 'rollback',
        reason: expect.stringContaining('2.5.0'),
        evidence_ids: expect.arrayContaining(['rc1']),
      });
    }
    // Pending is the default; another state lists none yet.
    const token = await svc.token({ roles: ['sre'] });
    expect((await json<{ approvals: unknown[] }>(await svc.request('/v1/approvals', { token }))).approvals).toHaveLength(1);
    expect(
      (await json<{ approvals: unknown[] }>(await svc.request('/v1/approvals?status=accepted,rejected', { token }))).approvals,
    ).toEqual([]);
  });

  it('scopes the list to the workspace of the token, and checks roles and states', async () => {
    const analytics = await svc.token({ roles: ['sre'], workspaces: ['analytics'] });
    expect((await json<{ approvals: unknown[] }>(await svc.request('/v1/approvals', { token: analytics }))).approvals).toEqual([]);
    expect((await svc.request('/v1/approvals', { token: await svc.token({ roles: ['ingest'] }) })).status).toBe(403);
    expect((await svc.request('/v1/approvals')).status).toBe(401);
    const bad = await svc.request('/v1/approvals?status=pending,done', { token: analytics });
    expect(bad.status).toBe(400);
    expect((await json<{ errors: { field: string }[] }>(bad)).errors.map((e) => e.field)).toEqual(['status[1]']);
  });
});
