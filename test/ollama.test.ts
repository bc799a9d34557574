import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { citingDraft, ollamaServer, type OllamaRequest } from './helpers/ollama-server.ts';
import { policiesWith } from './helpers/fake-model.ts';

let server: Awaited<ReturnType<typeof ollamaServer>>;
let svc: TestService;
let failNext = false;

beforeAll(async () => {
  server = await ollamaServer((req: OllamaRequest) => {
    if (failNext) return { status: 500, error: 'model runner has unexpectedly stopped' };
    if (req.format) return { content: JSON.stringify({ agents: ['sre'], reason: 'errors in a service' }) };
    return { content: citingDraft(req.messages.find((m) => m.role === 'user')!.content) };
  });
  const policies = policiesWith({
    // Replies to the same question change from test to test: no LLM cache (test/observability.test.ts covers it).
    'llm.yaml': 'model: qwen2.5:3b\ntimeout_ms: 5000\nretries: 0\nprompts: { route: 1, synthesize: 1 }\ncache: { enabled: false }\n',
  });
  svc = await startTestService({ OLLAMA_URL: server.url, AIOPS_POLICIES_DIR: policies });
  await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
});
afterAll(async () => {
  await svc.close();
  await server.close();
});

describe('ChatOllama against a server that follows the Ollama API', () => {
  it('routes with a JSON schema format and streams the answer over /api/chat', async () => {
    const token = await svc.token({ roles: ['sre'] });
    const res = await svc.request('/v1/chat', {
      method: 'POST',
      token,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'why are payments failing?' }),
    });
    const a = await json<{ path: string; model: string; answer: string; routing: { method: string } }>(res);
    expect(a).toMatchObject({ path: 'llm', model: 'qwen2.5:3b' });
    expect(a.routing.method).toBe('llm');
    expect(a.answer).toMatch(/Likely cause: the payment rollout\. Payment 2\.5\.0 replaced 2\.4\.1/);
    const [route, draft] = server.requests;
    expect(route!.model).toBe('qwen2.5:3b');
    expect(route!.format).toMatchObject({ type: 'object', properties: { agents: { type: 'array' } } });
    expect(draft!.stream).toBe(true);
    expect(draft!.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(draft!.options).toMatchObject({ temperature: 0.1, num_ctx: 8192 });
  });

  it('reports the server in /readyz and falls back when it fails', async () => {
    const ready = await json<{ checks: Record<string, { status: string }> }>(await svc.request('/readyz'));
    expect(ready.checks.ollama!.status).toBe('ok');
    failNext = true;
    const token = await svc.token({ roles: ['sre'] });
    const a = await json<{ path: string; fallback_reason: string; routing: { method: string } }>(
      await svc.request('/v1/chat', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'why are payments failing?' }),
      }),
    );
    expect(a.path).toBe('deterministic');
    expect(a.routing.method).toBe('lexical');
    expect(a.fallback_reason).toMatch(/model failed/);
  });
});
