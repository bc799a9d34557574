import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Config } from '../../config/env.ts';
import { problems } from '../../core/problem.ts';
import { ROLE_NAMES } from '../../core/roles.ts';
import { router } from '../openapi.ts';
import type { AppDeps } from '../deps.ts';

/** The one module only a dev-mode service sends, and only to a loopback client. */
export const DEV_SIGN_IN_FILE = 'dev-sign-in.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

/**
 * True when the request comes straight from this machine: a loopback peer
 * address and no proxy header (a proxy on the same host would otherwise make
 * every remote client look local). Without a socket (app.request in tests) it
 * is false.
 */
export function loopbackClient(c: Context): boolean {
  if (c.req.header('forwarded') || c.req.header('x-forwarded-for') || c.req.header('x-real-ip')) return false;
  let address: string | undefined;
  try {
    address = getConnInfo(c).remote.address;
  } catch {
    return false;
  }
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** The console's Content-Security-Policy: nothing inline, nothing from elsewhere; who may frame it is configured. */
export function consolePolicy(config: Pick<Config, 'AIOPS_UI_FRAME_ANCESTORS'>): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${config.AIOPS_UI_FRAME_ANCESTORS}`,
  ].join('; ');
}

/** Who may hand the console a token by postMessage: configured, else the origins allowed to frame it. */
export function embedOrigins(config: Pick<Config, 'AIOPS_UI_EMBED_ORIGINS' | 'AIOPS_UI_FRAME_ANCESTORS'>): string[] {
  if (config.AIOPS_UI_EMBED_ORIGINS.length) return config.AIOPS_UI_EMBED_ORIGINS;
  return config.AIOPS_UI_FRAME_ANCESTORS.split(/\s+/).filter((s) => /^https?:\/\//.test(s));
}

const escapeAttribute = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Reads the console's files once, at start. Each file is named by the hash of
 * its bytes (ETag); index.html points at its entry points, app.js and
 * style.css, with `?v=<hash>`, which may be cached for a year. The modules
 * app.js imports keep their plain names (an import names one URL) and are
 * revalidated.
 */
function loadAssets(dir: string): { assets: Map<string, Asset>; index: string } {
  const assets = new Map<string, Asset>();
  if (!fs.existsSync(dir)) throw new Error(`AIOPS_UI_DIR ${dir} does not exist: the console's files are missing`);
  for (const name of fs.readdirSync(dir).sort()) {
    const type = TYPES[path.extname(name)];
    if (!type || !/^[a-z0-9-]+\.[a-z]+$/.test(name)) continue;
    const body = fs.readFileSync(path.join(dir, name));
    assets.set(name, { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) });
  }
  const index = assets.get('index.html');
  if (!index) throw new Error(`AIOPS_UI_DIR ${dir} has no index.html`);
  const html = index.body
    .toString('utf8')
    .replace(/(src|href)="\.\/(app\.js|style\.css)"/g, (m, attr: string, file: string) =>
      assets.has(file) ? `${attr}="./${file}?v=${assets.get(file)!.hash}"` : m,
    );
  return { assets, index: html };
}

const indexRoute = createRoute({
  method: 'get',
  path: '/ui/',
  tags: ['ui'],
  operationId: 'getConsole',
  summary: 'The web console (sign in with a token from the host page, or in dev mode from this machine)',
  responses: { 200: { description: 'The console page', content: { 'text/html': { schema: z.string() } } } },
});
const redirectRoute = createRoute({
  method: 'get',
  path: '/ui',
  tags: ['ui'],
  operationId: 'redirectConsole',
  summary: 'Redirects to /ui/',
  responses: { 308: { description: 'To /ui/' } },
});
const fileRoute = createRoute({
  method: 'get',
  path: '/ui/{file}',
  tags: ['ui'],
  operationId: 'getConsoleFile',
  summary: "One of the console's modules or its style sheet",
  request: { params: z.object({ file: z.string().openapi({ example: 'app.js' }) }) },
  responses: {
    200: { description: 'The file', content: { 'text/javascript': { schema: z.string() }, 'text/css': { schema: z.string() } } },
    304: { description: 'Not modified (If-None-Match)' },
    404: { description: 'No such file' },
  },
});

/** /ui: the web console, static files read at start, under a strict CSP. Mounted at the root (for /ui and /ui/). */
export function uiRoutes(deps: Pick<AppDeps, 'config'>) {
  const app = router();
  const { config } = deps;
  const { assets, index } = loadAssets(path.resolve(config.AIOPS_UI_DIR));
  const csp = consolePolicy(config);
  const origins = escapeAttribute(embedOrigins(config).join(' '));

  const secure = createMiddleware(async (c, next) => {
    await next();
    c.header('Content-Security-Policy', csp);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
  });
  app.use('/ui', secure);
  app.use('/ui/*', secure);

  app.openapi(redirectRoute, (c) => c.redirect('ui/', 308));
  app.openapi(indexRoute, (c) => {
    // Per request: the dev sign-in is offered only in dev mode and only to this machine.
    const dev = config.devAuth && loopbackClient(c);
    const html = index
      .replace('content="{{embed-origins}}"', `content="${origins}"`)
      .replace('content="{{dev-sign-in}}"', `content="${dev ? 'on' : 'off'}"`)
      .replace('content="{{dev-roles}}"', `content="${dev ? ROLE_NAMES.join(' ') : ''}"`);
    return c.body(html, 200, { 'Content-Type': TYPES['.html']!, 'Cache-Control': 'no-store' });
  });
  app.openapi(fileRoute, (c) => {
    const name = c.req.valid('param').file;
    const asset = name === 'index.html' ? undefined : assets.get(name);
    if (!asset) throw problems.notFound(`there is no console file ${name}`);
    if (name === DEV_SIGN_IN_FILE && !(config.devAuth && loopbackClient(c))) throw problems.notFound(`there is no console file ${name}`);
    const etag = `"${asset.hash}"`;
    const versioned = c.req.query('v') === asset.hash;
    const headers = {
      ETag: etag,
      'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
      'Content-Type': asset.type,
    };
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(asset.body), 200, headers);
  });
  return app;
}
