import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { json, startTestService, tempDir, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { controlPlaneServer } from './helpers/control-plane.ts';
import { chromiumAvailable, CHROMIUM, launchChromium, listenOnLoopback, requireChromium } from './helpers/browser.ts';
import { logsPayload, nanos } from './helpers/otlp.ts';
import { loadOrCreateDevKeys } from '../src/auth/dev-keys.ts';
import { loadConfig } from '../src/config/env.ts';

/**
 * The web console (issue 17) in headless Chromium against the whole service on
 * a loopback port with the payment-bad-deploy demo data: dev sign-in, a chat
 * turn streamed (progress, then the answer with citations and charts), the
 * proposed rollback approved by a second person, an alert thread, markup in a
 * log line shown as text, and an expired token. Screenshots of the main pages
 * go to test-output/screenshots/ (git-ignored).
 */

const SHOTS = path.resolve('test-output/screenshots');
const available = chromiumAvailable();
if (!available && requireChromium) throw new Error(`${CHROMIUM} is missing, and AIOPS_REQUIRE_CHROMIUM=1 makes that a failure`);

/** What the page saw, recorded by a script the browser injects (outside the page's CSP): first progress step, first answer, CSP violations. */
const WATCH = `
  window.__seen = { progress: 0, answer: 0, csp: [] };
  document.addEventListener('securitypolicyviolation', (e) => window.__seen.csp.push(e.violatedDirective + ' ' + e.blockedURI));
  new MutationObserver(() => {
    const now = performance.now();
    if (!window.__seen.progress && document.querySelector('.progress .steps li')) window.__seen.progress = now;
    if (!window.__seen.answer && document.querySelector('.msg.assistant .answer')) window.__seen.answer = now;
  }).observe(document, { childList: true, subtree: true });
`;

interface Seen {
  progress: number;
  answer: number;
  csp: string[];
}

describe.skipIf(!available)('the web console in Chromium', () => {
  let svc: TestService;
  let cp: Awaited<ReturnType<typeof controlPlaneServer>>;
  let server: Awaited<ReturnType<typeof listenOnLoopback>>;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let context: BrowserContext;
  let page: Page;
  let faultStart: string;
  let hostToken = '';
  const base = () => `${server.url}/ui/`;
  /** The platform's page on another origin: it frames the console and hands over a token once the console says it is ready. */
  const host = {
    origin: '',
    server: http.createServer((_req, res) => {
      const consoleOrigin = new URL(server.url).origin;
      res.setHeader('Content-Type', 'text/html');
      res.end(
        `<!doctype html><iframe id="c" src="${base()}" width="900" height="600"></iframe><script>` +
          "addEventListener('message', (e) => { window.lastMessage = e.data && e.data.type; if (e.data && e.data.type === 'aiops.ready') " +
          `e.source.postMessage({ type: 'aiops.token', token: ${JSON.stringify(hostToken)} }, ${JSON.stringify(consoleOrigin)}); });</script>`,
      );
    }),
  };

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    await new Promise<void>((r) => host.server.listen(0, '127.0.0.1', r));
    host.origin = `http://127.0.0.1:${(host.server.address() as AddressInfo).port}`;
    const dataDir = tempDir();
    const keys = await loadOrCreateDevKeys(dataDir);
    const defaults = loadConfig({ AIOPS_DATA_DIR: dataDir });
    cp = await controlPlaneServer({ publicJwk: keys.publicJwk, issuer: defaults.AUTH_ISSUER, audience: defaults.AUTH_AUDIENCE });
    // The console may be framed by the host page, which may hand it a token.
    svc = await startTestService({
      AIOPS_DATA_DIR: dataDir,
      CONTROL_PLANE_URL: cp.url,
      AIOPS_UI_FRAME_ANCESTORS: host.origin,
      // A token that expires during the test is refused a second later.
      AUTH_CLOCK_TOLERANCE: '1s',
    });
    faultStart = (await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2)).faultStart!;
    server = await listenOnLoopback(svc.service.app.fetch);
    browser = await launchChromium();
    context = browser.context;
    await context.addInitScript(WATCH);
    page = context.pages()[0] ?? (await context.newPage());
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await svc?.close();
    await cp?.close();
    await new Promise<void>((r) => host.server.close(() => r()));
  });

  const seen = () => page.evaluate<Seen>('window.__seen');
  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

  /** The dev sign-in form: a user and roles, a token from POST /v1/dev/token. */
  async function signIn(user: string, roles: string[]) {
    await page.goto(base());
    await page.getByRole('heading', { name: 'Dev sign-in' }).waitFor();
    await page.getByLabel('User').fill(user);
    for (const box of await page.locator('fieldset.roles input[type=checkbox]').all()) {
      await box.setChecked(roles.includes((await box.getAttribute('value')) ?? ''));
    }
    await page.getByRole('button', { name: 'Get a dev token' }).click();
    await expect.poll(() => page.locator('#who').textContent()).toContain(user);
  }

  async function ask(message: string) {
    await page.getByLabel('Message').fill(message);
    const before = await page.locator('.msg.assistant .answer').count();
    await page.getByLabel('Message').press('Enter');
    const answer = page.locator('.msg.assistant .answer').nth(before);
    await answer.waitFor({ timeout: 150_000 });
    return answer;
  }

  it('signs in with the dev form, streams progress, then the answer with citations and charts', async () => {
    await signIn('alice', ['sre']);
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    const answer = await ask('why are payments failing?');
    const s = await seen();
    expect(s.progress).toBeGreaterThan(0);
    expect(s.progress).toBeLessThan(s.answer);
    await expect.poll(() => answer.textContent()).toContain('bad deploy of payment');
    // The steps stay with the answer.
    expect(await page.locator('details.steps-done li.step').count()).toBeGreaterThan(3);

    // An evidence id in the text opens the item.
    await answer.getByRole('button', { name: 'Evidence rc1' }).first().click();
    const dialog = page.locator('dialog[open]');
    await expect.poll(() => dialog.locator('h2').textContent()).toBe('Evidence rc1');
    expect(await dialog.textContent()).toContain('2.5.0');
    await shot('chat-evidence');
    await page.keyboard.press('Escape');

    // The runbook citation opens the section.
    await answer.getByRole('button', { name: 'Error rate rises after a deploy — Mitigate' }).click();
    await expect.poll(() => dialog.textContent(), { timeout: 30_000 }).toContain('runbooks/error-rise-after-deploy.md#mitigate');
    await expect.poll(() => dialog.locator('pre.snippet').count(), { timeout: 30_000 }).toBe(1);
    await page.keyboard.press('Escape');

    // The answer's charts, drawn as SVG lines.
    const charts = answer.locator('figure.chart');
    expect(await charts.count()).toBeGreaterThanOrEqual(2);
    expect(await charts.locator('figcaption').allTextContents()).toContain('payment error ratio (payment)');
    expect(await charts.first().locator('svg polyline').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+){5,}/);
    expect(await answer.textContent()).toContain('roll payment back to 2.4.1');
    await shot('chat');

    // A follow-up in the same thread.
    expect(page.url()).toMatch(/#\/chat\/[A-Za-z0-9_-]+$/);
    const follow = await ask('what changed in payment?');
    await expect.poll(() => follow.textContent()).toContain('2.5.0');
    expect(await page.locator('.msg.assistant').count()).toBe(2);

    // Narrow, as in an embedded panel.
    await page.setViewportSize({ width: 400, height: 800 });
    await shot('chat-narrow');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows the proposal read-only to its asker; a second person with an approver role approves it and sees the outcome', async () => {
    await page.goto(`${base()}#/approvals`);
    const card = page.locator('article.approval', { hasText: 'roll payment back to 2.4.1' });
    await card.waitFor();
    expect(await card.textContent()).toContain('Read only: deciding needs the role approver or sre-lead.');
    expect(await card.getByRole('button', { name: 'Approve' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('bob', ['approver']);
    await page.goto(`${base()}#/approvals`);
    await card.waitFor();
    expect(await card.textContent()).toContain('payment fails since version 2.5.0 rolled out');
    await card.getByLabel('Comment (optional)').fill('matches the deploy');
    await shot('approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => card.locator('.outcome .status').textContent(), { timeout: 60_000 }).toBe('accepted');
    expect(await card.locator('.steps').textContent()).toMatch(/bob approved.*Control plane: accepted \(202\)/s);
    expect(await card.locator('.outcome').textContent()).toContain('bob at');
    expect(cp.executed.at(-1)).toMatchObject({
      action: 'rollback',
      sub: 'bob',
      body: expect.objectContaining({ params: { service: 'payment', to_version: '2.4.1' } }),
    });
    await shot('approvals-decided');
  });

  it('lists firing alert threads and opens one with its investigation', async () => {
    const hook = await svc.token({ sub: 'alertmanager', roles: ['alerts'], ttlSeconds: 3600 });
    const res = await svc.request('/v1/alerts/alertmanager', {
      method: 'POST',
      token: hook,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        version: '4',
        groupKey: '{}:{alertname="PaymentLatency"}',
        status: 'firing',
        receiver: 'hks-aiops',
        groupLabels: { alertname: 'PaymentLatency' },
        commonLabels: { alertname: 'PaymentLatency', severity: 'critical', namespace: 'shop' },
        commonAnnotations: { summary: 'payment fails too many requests' },
        externalURL: 'http://alertmanager:9093',
        alerts: [
          {
            status: 'firing',
            labels: { alertname: 'PaymentLatency', severity: 'critical', service: 'payment', namespace: 'shop' },
            annotations: { description: 'payment errors above 5%' },
            startsAt: faultStart,
            endsAt: '0001-01-01T00:00:00Z',
            generatorURL: 'http://prometheus:9090/graph',
            fingerprint: 'feedc0ffee000017',
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
    const { thread_id } = await json<{ thread_id: string }>(res);
    await svc.service.deps.alerts.settled();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('alice', ['sre']);
    await page.getByRole('link', { name: 'Alerts' }).click();
    const firing = page.locator('section', { has: page.getByRole('heading', { name: 'Firing' }) });
    const link = firing.locator(`a[href="#/alerts/${thread_id}"]`);
    await link.waitFor();
    expect(await page.locator('section', { has: page.getByRole('heading', { name: 'Resolved' }) }).textContent()).toContain(
      'No resolved alerts.',
    );
    await shot('alerts');
    await link.click();
    await page.locator('.msg.assistant .answer').first().waitFor();
    expect(await page.locator('main').textContent()).toMatch(/firing/);
    expect(await page.locator('.msg.assistant .answer').first().textContent()).toMatch(/payment/);
    await shot('alert-thread');
  });

  it('lists briefings and shows one with its figures and charts; eval runs need the role eval; stats the role admin', async () => {
    const sre = await svc.token({ sub: 'alice', roles: ['sre'] });
    const res = await svc.request('/v1/briefings', {
      method: 'POST',
      token: sre,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ui-test', period: '1h' }),
    });
    expect(res.status).toBe(201);
    const briefing = await json<{ id: string; summary: string; charts: unknown[] }>(res);
    await page.getByRole('link', { name: 'Briefings' }).click();
    await page.locator(`a[href="#/briefings/${briefing.id}"]`).click();
    await page.getByRole('heading', { name: /^ui-test briefing/ }).waitFor();
    expect(await page.locator('main').textContent()).toContain(briefing.summary);
    expect(await page.locator('table.grid caption').first().textContent()).toBe('Key figures');
    expect(await page.locator('main figure.chart').count()).toBe(briefing.charts.length);
    await shot('briefing');

    await page.getByRole('link', { name: 'Evals' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('Eval runs need the role eval.');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('eve', ['eval']);
    await page.getByRole('link', { name: 'Evals' }).click();
    await expect.poll(() => page.locator('main').textContent()).toContain('No eval runs yet');
    await page.getByRole('link', { name: 'Stats' }).click();
    await page.getByText('The service’s stats need the role admin or auditor.').waitFor();

    // The service's own stats: the chat turns asked by the earlier tests are counted.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('root', ['admin']);
    await page.getByRole('link', { name: 'Stats' }).click();
    const turns = page.locator('table.grid', { hasText: 'Counts' }).locator('tr', { hasText: /^chat turns/ });
    await turns.waitFor();
    expect(Number(await turns.locator('td').nth(1).textContent())).toBeGreaterThan(0);
    expect(await page.locator('table.grid caption').allTextContents()).toEqual(
      expect.arrayContaining(['Counts', 'Proposals by outcome', 'Routes', 'Graph nodes', 'Tools']),
    );
    await shot('stats');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn('alice', ['sre']);
  });

  it('shows a log line holding <script> and <img onerror> as text, and runs nothing', async () => {
    const ingest = await svc.token({ sub: 'collector', roles: ['ingest'] });
    const line = `Charge failed for <script>window.__xss='script'</script><img src=x onerror="window.__xss='img'"> card`;
    const res = await svc.request('/v1/logs', {
      method: 'POST',
      token: ingest,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(
        logsPayload({ 'service.name': 'payment', 'k8s.namespace.name': 'shop' }, [
          { timeUnixNano: nanos(Date.now() - 30_000), severityNumber: 17, severityText: 'ERROR', body: { stringValue: line } },
        ]),
      ),
    });
    expect(res.status).toBe(200);
    await page.goto(`${base()}#/chat`);
    await page.getByRole('heading', { name: 'New chat' }).waitFor();
    const answer = await ask('show error logs of payment');
    await expect.poll(() => answer.textContent()).toContain(`<img src=x onerror="window.__xss='img'">`);
    expect(await answer.textContent()).toContain(`<script>window.__xss='script'</script>`);
    // Also in the evidence item, where log lines are examples.
    await answer.getByRole('button', { name: 'Evidence ls1' }).first().click();
    await expect.poll(() => page.locator('dialog[open] pre.examples').textContent()).toContain('<img src=x onerror=');
    await shot('xss-as-text');
    await page.keyboard.press('Escape');
    // Nothing ran, no element was made from the markup, and CSP had nothing to block.
    expect(await page.evaluate<string | undefined>('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('main script').count()).toBe(0);
    expect((await seen()).csp).toEqual([]);
  });

  it('takes a token from the fragment, removes it from the address, and asks again when it expires', async () => {
    const token = await svc.token({ sub: 'erin', roles: ['viewer'], ttlSeconds: 2 });
    await page.goto(`${base()}#token=${token}`);
    await expect.poll(() => page.locator('#who').textContent()).toContain('erin');
    expect(page.url()).not.toContain('token=');
    expect(await page.evaluate<number>('history.length')).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 4000));
    await page.getByRole('link', { name: 'Approvals' }).click();
    await expect.poll(() => page.locator('#notice').textContent()).toContain('Your sign-in has expired');
    await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor();
    expect(await page.locator('#nav').isHidden()).toBe(true);
    await shot('expired');
    // Nothing of the token is kept by the browser.
    expect(await page.evaluate<unknown[]>('[localStorage.length, sessionStorage.length, document.cookie]')).toEqual([0, 0, '']);
  });

  it('takes a token from the host page by postMessage; a page at an origin not allowed cannot frame it', async () => {
    hostToken = await svc.token({ sub: 'frank', roles: ['sre'] });
    const hostPage = await context.newPage();
    await hostPage.goto(`${host.origin}/`);
    const frame = hostPage.frameLocator('#c');
    await expect.poll(() => frame.locator('#who').textContent(), { timeout: 30_000 }).toContain('frank');
    await expect.poll(() => hostPage.evaluate<string | undefined>('window.lastMessage')).toBe('aiops.token.accepted');
    await hostPage.close();
    // The same host page at another origin (localhost, not 127.0.0.1): not allowed to frame the console, which never loads there.
    const other = await context.newPage();
    await other.goto(host.origin.replace('127.0.0.1', 'localhost'));
    await new Promise((r) => setTimeout(r, 2000));
    expect(await other.frameLocator('#c').locator('#who').count()).toBe(0);
    expect(await other.evaluate<string | undefined>('window.lastMessage')).toBeUndefined();
    await other.close();
    const res = await svc.request('/ui/');
    expect(res.headers.get('content-security-policy')).toContain(`frame-ancestors ${host.origin}`);
    expect(await res.text()).toContain(`<meta name="aiops-embed-origins" content="${host.origin}">`);
  });
});
