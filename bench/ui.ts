/**
 * The web console in headless Chromium against the service on a loopback port: how many bytes of
 * script a visit loads, and the time from navigation to first meaningful content (the chat page with
 * its thread list; a thread with an answer and its charts), cold (fresh profile) and warm (cached,
 * revalidated by ETag). Skips, saying so, when Chromium is missing (CI installs it).
 *
 *   npm run bench:ui -- [--runs 20] [--quick]
 */
import fs from 'node:fs';
import path from 'node:path';
import { benchService, options, percentile, report, round } from './lib.ts';
import { BenchData } from './data.ts';
import { chromiumAvailable, CHROMIUM, launchChromium, listenOnLoopback } from '../test/helpers/browser.ts';

const opts = options({ runs: { type: 'string', default: '20' } });
const runs = opts.quick ? 3 : Number(opts.runs);

if (!chromiumAvailable()) {
  if (process.env.AIOPS_REQUIRE_CHROMIUM === '1')
    throw new Error(`${CHROMIUM} is missing, and AIOPS_REQUIRE_CHROMIUM=1 makes that a failure`);
  process.stderr.write(`bench/ui: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium, or set AIOPS_CHROMIUM)\n`);
  process.exit(0);
}

const { service, token } = await benchService();
const server = await listenOnLoopback(service.app.fetch);
const data = new BenchData(service.deps.store, service.deps.ingest);
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
await data.seed('payment-bad-deploy', 2, end);
const sre = await token(['sre']);
const chat = await service.app.request('/v1/chat', {
  method: 'POST',
  headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json' },
  body: JSON.stringify({ message: 'why are payments failing?' }),
});
if (chat.status !== 200) throw new Error(`POST /v1/chat answered ${chat.status}`);
const threadId = ((await chat.json()) as { thread_id: string }).thread_id;

/** Injected by the browser (outside the page's CSP): when the first element matching the selector appeared, in ms since navigation. */
const watch = (selector: string) => `
  window.__firstContent = 0;
  new MutationObserver((_, o) => {
    if (document.querySelector(${JSON.stringify(selector)})) { window.__firstContent = performance.now(); o.disconnect(); }
  }).observe(document, { childList: true, subtree: true });
`;

const pages = [
  { name: 'chat page with its thread list', hash: '#/chat', selector: '.thread-list li' },
  { name: 'a thread with an answer and charts', hash: `#/chat/${threadId}`, selector: '.answer figure.chart svg polyline' },
];

const results: Record<string, unknown>[] = [];
let scriptBytes = 0;
const scripts = new Set<string>();
for (const p of pages) {
  const cold: number[] = [];
  const warm: number[] = [];
  const fcp: number[] = [];
  for (let i = 0; i < runs; i++) {
    // A fresh profile each run: the first visit is cold, the second warm (cached, revalidated).
    const browser = await launchChromium();
    await browser.context.addInitScript(watch(p.selector));
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on('response', (res) => {
      if (res.request().resourceType() === 'script' && res.status() === 200) scripts.add(new URL(res.url()).pathname);
    });
    for (const [k, out] of [
      ['cold', cold],
      ['warm', warm],
    ] as const) {
      await page.goto('about:blank');
      await page.goto(`${server.url}/ui/${p.hash.replace('#', `#token=${encodeURIComponent(sre)}&next=`)}`);
      // A function, not a string: the page's CSP forbids eval.
      await page.waitForFunction(() => (globalThis as unknown as { __firstContent: number }).__firstContent > 0, undefined, {
        timeout: 60_000,
      });
      out.push(await page.evaluate<number>('window.__firstContent'));
      if (k === 'cold') fcp.push(await page.evaluate<number>("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0"));
    }
    await browser.close();
  }
  const s = (xs: number[]) => [...xs].sort((a, b) => a - b);
  results.push({
    page: p.name,
    runs,
    first_render_cold_ms: { p50: round(percentile(s(cold), 50)), max: round(Math.max(...cold)) },
    first_render_warm_ms: { p50: round(percentile(s(warm), 50)), max: round(Math.max(...warm)) },
    first_contentful_paint_cold_ms: { p50: round(percentile(s(fcp), 50)) },
  });
}

// The bytes of each script the visits loaded, as the service sends them (preloaded responses have no body in the browser's events).
for (const url of scripts) scriptBytes += (await (await fetch(`${server.url}${url}`)).arrayBuffer()).byteLength;
const dir = path.resolve('ui');
const allScript = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.js'))
  .reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
report('ui', {
  quick: opts.quick,
  script_bytes_loaded: scriptBytes,
  script_files_loaded: [...scripts].sort(),
  script_bytes_all_modules: allScript,
  aim: { script_bytes: 200 * 1024, first_render_ms: 1000 },
  results,
});
await server.close();
await service.close();
