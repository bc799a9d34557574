import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { policiesWith } from './helpers/fake-model.ts';
import { Qdrant } from '../src/clients/qdrant.ts';

// Runs against a real Qdrant when QDRANT_URL is set (and a real Ollama for dense vectors when OLLAMA_URL is).
const url = process.env.QDRANT_URL;

describe.runIf(url)('a real Qdrant', () => {
  let svc: TestService;
  const collection = `aiops_it_${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    const policies = policiesWith({
      'knowledge.yaml': `qdrant:\n  collection: ${collection}\n  incidents_collection: ${collection}_incidents\n  retry_after_s: 1\n`,
    });
    svc = await startTestService({
      QDRANT_URL: url!,
      ...(process.env.OLLAMA_URL ? { OLLAMA_URL: process.env.OLLAMA_URL } : {}),
      AIOPS_POLICIES_DIR: policies,
    });
    await svc.service.deps.knowledge.settled();
  }, 300_000);
  afterAll(async () => {
    await svc?.close();
    const client = new Qdrant({ url: url!, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 10_000 }).rest;
    await client.deleteCollection(collection).catch(() => undefined);
    await client.deleteCollection(`${collection}_incidents`).catch(() => undefined);
  });

  it('loads the runbooks and answers with hybrid retrieval fused on the server', async () => {
    expect(svc.service.deps.knowledge.status()).toMatchObject({ backend: 'qdrant' });
    const token = await svc.token({ roles: ['sre'] });
    const res = await svc.request('/v1/runbooks/search?q=pods%20OOMKilled%20restarting&alertname=KubePodCrashLooping', { token });
    const body = await json<{ backend: string; hits: { path: string }[] }>(res);
    expect(body.backend).toBe('qdrant');
    expect(body.hits[0]!.path).toBe('runbooks/crash-loop-oom.md');
  }, 60_000);
});

describe.skipIf(url)('a real Qdrant', () => {
  it('is not configured: set QDRANT_URL to run these', () => {
    expect(url).toBeUndefined();
  });
});
