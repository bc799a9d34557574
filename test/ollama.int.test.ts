import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';

// Runs against a real Ollama when OLLAMA_URL is set (with the model of policies/llm.yaml pulled).
const url = process.env.OLLAMA_URL;

describe.runIf(url)('a real Ollama', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ OLLAMA_URL: url! });
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
  }, 300_000);
  afterAll(() => svc?.close());

  it('answers about the payment deploy, grounded or by the narrator', async () => {
    const token = await svc.token({ roles: ['sre'] });
    const a = await json<{ path: string; answer: string; hypotheses: { service: string }[] }>(
      await svc.request('/v1/chat', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'why are payments failing?' }),
      }),
    );
    expect(a.hypotheses[0]!.service).toBe('payment');
    expect(a.answer).toMatch(/payment/i);
    expect(['llm', 'deterministic']).toContain(a.path);
  }, 300_000);
});

describe.skipIf(url)('a real Ollama', () => {
  it('is not configured: set OLLAMA_URL to run these', () => {
    expect(url).toBeUndefined();
  });
});
