import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, unknown> }>;
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};
interface ProblemBody {
  type: string;
  status: number;
  detail: string;
  tracking_id: string;
  errors: { field: string; message: string }[];
}

/** A Hono route path as OpenAPI writes it: `:id` and `:path{.+}` become `{id}` and `{path}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)(\{[^/]*\})?/g, '{$1}');

let svc: TestService;
let doc: Document;
beforeAll(async () => {
  svc = await startTestService();
  const res = await svc.request('/openapi.json');
  expect(res.status).toBe(200);
  doc = await json<Document>(res);
});
afterAll(() => svc.close());

describe('GET /openapi.json', () => {
  it('is public and a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route of the app with its methods, and nothing else', () => {
    const registered = new Set(
      svc.service.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`),
    );
    const described = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)));
    expect([...registered].sort()).toEqual([...described].sort());
    expect(registered).toContain('post /v1/threads/{id}/approvals/{approval_id}');
    expect(registered).toContain('delete /v1/knowledge/documents/{path}');
  });

  it('names, tags and secures each operation', () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.values(item).map((op) => ({ path, op })));
    const ids = operations.map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, op } of operations) {
      expect(op.tags?.length, path).toBeGreaterThan(0);
      expect(op.summary, path).toBeTruthy();
      const schemes = (op.security ?? []).flatMap((s) => Object.keys(s));
      if (path === '/v1/slack/events') expect(schemes).toEqual(['slackSignature']);
      else if (path.startsWith('/v1/alerts')) expect(schemes).toEqual(['bearerAuth', 'alertWebhookSecret']);
      // The console's dev sign-in: dev mode and loopback clients only, before any token exists.
      else if (path === '/v1/dev/token') expect(schemes).toEqual([]);
      else if (path.startsWith('/v1/')) expect(schemes).toEqual(['bearerAuth']);
      else expect(schemes).toEqual([]);
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['alertWebhookSecret', 'bearerAuth', 'slackSignature']);
  });

  it('describes the main bodies and the problem answers from the zod schemas', () => {
    const chat = doc.paths['/v1/chat']!.post!;
    expect(Object.keys(chat.responses['200']!.content!)).toEqual(['application/json', 'text/event-stream']);
    expect(chat.responses['400']!.content).toHaveProperty(['application/problem+json']);
    expect(Object.keys(doc.paths['/v1/threads/{id}/approvals/{approval_id}']!.post!.responses['200']!.content!)).toContain(
      'text/event-stream',
    );
    for (const name of ['ChatRequest', 'ChatAnswer', 'ThreadView', 'ToolResult', 'Problem', 'Evidence', 'AlertmanagerWebhook']) {
      expect(doc.components.schemas, name).toHaveProperty([name]);
    }
  });
});

describe('validation through the zod middleware', () => {
  it('answers a bad body with the problem+json the service always gave, naming each field', async () => {
    const token = await svc.token({ roles: ['ingest'], workspaces: ['shop', 'analytics'] });
    const res = await svc.request('/v1/demo/seed', {
      method: 'POST',
      token,
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'openapi-validation-1' },
      body: JSON.stringify({ scenario: 'meteor-strike', hours: 900, color: 'red' }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const p = await json<ProblemBody>(res);
    expect(p).toMatchObject({
      type: 'urn:hks-aiops:problem:validation',
      status: 400,
      detail: 'the request body is not valid',
      tracking_id: 'openapi-validation-1',
    });
    expect(p.errors.map((e) => e.field).sort()).toEqual(['(body)', 'hours', 'scenario']);
  });

  it('answers a bad query the same way', async () => {
    const token = await svc.token({ roles: ['auditor'] });
    const res = await svc.request('/v1/audit?kind=everything&limit=0', { token });
    expect(res.status).toBe(400);
    const p = await json<ProblemBody>(res);
    expect(p.detail).toBe('the query parameters are not valid');
    expect(p.errors.map((e) => e.field).sort()).toEqual(['kind', 'limit']);
  });

  it('keeps the body checks that come before zod: media type, empty, not JSON, too large', async () => {
    const token = await svc.token({ roles: ['sre'] });
    const post = (body: string, type = 'application/json') =>
      svc.request('/v1/chat', { method: 'POST', token, headers: { 'Content-Type': type }, body });
    const text = await post('{"message":"hi"}', 'text/plain');
    expect(text.status).toBe(415);
    expect(await json(text)).toMatchObject({ type: 'urn:hks-aiops:problem:unsupported-media-type' });
    for (const body of ['', '{"message":']) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect((await json<ProblemBody>(res)).errors.map((e) => e.field)).toEqual(['(body)']);
    }
    const big = await post(JSON.stringify({ message: 'x'.repeat(svc.config.AIOPS_MAX_BODY_BYTES) }));
    expect(big.status).toBe(413);
  });

  it('checks the token and the role before the body', async () => {
    const noToken = await svc.request('/v1/chat', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    expect(noToken.status).toBe(401);
    const ingest = await svc.request('/v1/chat', {
      method: 'POST',
      token: await svc.token({ roles: ['ingest'] }),
      headers: { 'Content-Type': 'application/json' },
      body: '{',
    });
    expect(ingest.status).toBe(403);
  });
});
