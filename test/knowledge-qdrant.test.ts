import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { qdrantServer } from './helpers/qdrant-server.ts';
import { ollamaServer } from './helpers/ollama-server.ts';
import { policiesWith } from './helpers/fake-model.ts';
import { markdownFiles } from '../src/knowledge/markdown.ts';

let qdrant: Awaited<ReturnType<typeof qdrantServer>>;
let ollama: Awaited<ReturnType<typeof ollamaServer>>;
let svc: TestService;
let env: Record<string, string>;
let reader: string;
let admin: string;

const KNOWLEDGE_POLICY = `embedding_model: test-embed
rrf_k: 60
candidates: 40
chunk_max_chars: 1800
refresh_s: 3600
embedding_timeout_ms: 2000
qdrant:
  collection: kb_test
  incidents_collection: incidents_test
  retry_after_s: 1
`;

beforeAll(async () => {
  qdrant = await qdrantServer();
  ollama = await ollamaServer(() => ({ status: 500, error: 'no chat in this test' }));
  env = { QDRANT_URL: qdrant.url, OLLAMA_URL: ollama.url, AIOPS_POLICIES_DIR: policiesWith({ 'knowledge.yaml': KNOWLEDGE_POLICY }) };
  svc = await startTestService(env);
  await svc.service.deps.knowledge.settled();
  reader = await svc.token({ roles: ['sre'] });
  admin = await svc.token({ sub: 'kim', roles: ['knowledge-admin'] });
});
afterAll(async () => {
  await svc?.close();
  await qdrant?.close();
  await ollama?.close();
});

const search = async (q: string, token = reader) => {
  const res = await svc.request(`/v1/runbooks/search?q=${encodeURIComponent(q)}`, { token });
  expect(res.status).toBe(200);
  return json<{ backend: string; dense: boolean; notes: string[]; hits: { path: string; citation: string; section: string }[] }>(res);
};
const put = (documents: unknown) =>
  svc.request('/v1/knowledge/documents', {
    method: 'POST',
    token: admin,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ documents }),
  });
const ops = (name: string, from = 0) => qdrant.requests.slice(from).filter((r) => r.operation === name);

describe('Qdrant as the knowledge engine (a local server that follows its REST API)', () => {
  it('creates the collection with a named dense vector, a bm25 sparse vector with IDF, and payload indexes, and loads every section', () => {
    const kb = qdrant.collections.get('kb_test')!;
    expect(kb.config).toEqual({ vectors: { dense: { size: 64, distance: 'Cosine' } }, sparse_vectors: { bm25: { modifier: 'idf' } } });
    expect(Object.keys(kb.indexes).sort()).toEqual(['alerts', 'path', 'source', 'workspace']);
    expect(kb.points.size).toBe(svc.service.deps.knowledge.status().sections);
    const point = [...kb.points.values()][0]!;
    expect(Object.keys(point.vector).sort()).toEqual(['bm25', 'dense']);
    expect(point.payload).toMatchObject({ source: 'runbook', workspace: '*' });
    expect(ollama.embedRequests[0]!.model).toBe('test-embed');
  });

  it('sends only requests that validate against the OpenAPI document, and the server answers in its shapes', async () => {
    expect(qdrant.requests.length).toBeGreaterThan(5);
    expect(qdrant.invalid).toEqual([]);
    expect(qdrant.responseErrors).toEqual([]);
    // The check has teeth: a body Qdrant would refuse is refused here too.
    const bad = await fetch(`${qdrant.url}/collections/kb_test/points/query`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prefetch: [{ using: 3 }], limit: -1 }),
    });
    expect(bad.status).toBe(400);
    expect(qdrant.invalid.map((i) => i.operation)).toEqual(['query_points']);
    qdrant.invalid.length = 0;
  });

  it('searches with sparse and dense prefetches fused by RRF, scoped to the shared and the caller’s workspace', async () => {
    const from = qdrant.requests.length;
    const body = await search('pods are OOMKilled and restart in a loop');
    expect(body).toMatchObject({ backend: 'qdrant', dense: true, notes: [] });
    expect(body.hits[0]!.path).toBe('runbooks/crash-loop-oom.md');
    const q = ops('query_points', from)[0]!.body;
    expect(q.query).toEqual({ rrf: { k: 60, weights: [1, 1] } });
    expect(q.prefetch.map((p: { using: string }) => p.using)).toEqual(['bm25', 'dense']);
    expect(q.prefetch[0].filter.must).toContainEqual({ key: 'workspace', match: { any: ['*', 'shop'] } });
  });

  it('adds a prefetch (weighted) of the documents written for the alert when the alert name is known; grades as the embedded index does', async () => {
    const from = qdrant.requests.length;
    const res = await svc.request('/v1/runbooks/search?q=certificate&alertname=X509CertificateExpiry', { token: reader });
    const body = await json<{ backend: string; no_match: boolean; hits: { path: string; match: string }[] }>(res);
    expect(body).toMatchObject({ backend: 'qdrant', no_match: false });
    expect(body.hits[0]).toMatchObject({ path: 'runbooks/certificate-expiry.md', match: 'exact' });
    const q = ops('query_points', from)[0]!.body;
    expect(q.query.rrf.weights).toEqual([1, 1, 2]);
    expect(q.prefetch[2].filter.must).toContainEqual({ key: 'path', match: { any: ['runbooks/certificate-expiry.md'] } });
    const uncovered = await json<{ backend: string; no_match: boolean; hits: { match: string }[] }>(
      await svc.request(`/v1/runbooks/search?q=${encodeURIComponent('customers do not receive password reset emails')}`, { token: reader }),
    );
    expect(uncovered).toMatchObject({ backend: 'qdrant', no_match: true });
    expect(uncovered.hits.every((h) => h.match === 'weak')).toBe(true);
  });

  it('indexes documents into Qdrant as they are added and removes them when deleted', async () => {
    const res = await put([
      {
        path: 'db/failover.md',
        markdown: '# Database failover\n\n## Mitigate\n\nPromote the Pelicanstore replica with the failover job.\n',
      },
    ]);
    expect(res.status).toBe(200);
    expect((await json<{ notes: string[] }>(res)).notes).toEqual([]);
    const points = [...qdrant.collections.get('kb_test')!.points.values()].filter((p) => p.payload.path === 'db/failover.md');
    expect(points.map((p) => [p.payload.workspace, p.payload.anchor])).toEqual([['shop', 'mitigate']]);
    expect((await search('Pelicanstore replica')).hits[0]).toMatchObject({ path: 'db/failover.md', citation: 'db/failover.md#mitigate' });
    // Another workspace's query does not reach it, in Qdrant either.
    expect(
      (await search('Pelicanstore replica', await svc.token({ roles: ['sre'], workspaces: ['analytics'] }))).hits.some(
        (h) => h.path === 'db/failover.md',
      ),
    ).toBe(false);
    expect((await svc.request('/v1/knowledge/documents/db/failover.md', { method: 'DELETE', token: admin })).status).toBe(200);
    expect([...qdrant.collections.get('kb_test')!.points.values()].some((p) => p.payload.path === 'db/failover.md')).toBe(false);
  });

  it('keeps past incidents per workspace in their own collection, through @langchain/qdrant', async () => {
    const kb = svc.service.deps.knowledge;
    const at = new Date().toISOString();
    const incident = (workspace: string, id: string, service: string) => ({
      workspace,
      id,
      thread_id: id,
      source: 'chat' as const,
      created_at: at,
      updated_at: at,
      question: `why is ${service} failing?`,
      alertname: '',
      root_service: service,
      root_kind: 'oom_crashloop',
      summary: `${service} ran out of memory and restarted in a loop`,
      evidence: [{ id: 'rc1', kind: 'oom_kill', summary: `12 OOM kills of ${service}` }],
      runbooks: ['runbooks/crash-loop-oom.md#mitigate'],
      status: 'closed' as const,
      threads: [id],
    });
    await kb.recordIncident(incident('shop', 'thread-a', 'cart'));
    await kb.recordIncident(incident('analytics', 'thread-b', 'etl'));
    await kb.settled();
    const col = qdrant.collections.get('incidents_test')!;
    expect([...col.points.values()].map((p) => (p.payload.metadata as { workspace: string }).workspace).sort()).toEqual([
      'analytics',
      'shop',
    ]);
    expect(Object.keys(col.indexes)).toContain('metadata.workspace');

    const from = qdrant.requests.length;
    const shop = await kb.similarIncidents('shop', 'out of memory restarts');
    expect(shop.backend).toBe('qdrant');
    expect(shop.hits.map((h) => h.incident.id)).toEqual(['thread-a']);
    expect(ops('query_points', from).find((r) => r.path.includes('incidents_test'))!.body.filter).toEqual({
      must: [{ key: 'metadata.workspace', match: { value: 'shop' } }],
    });
    expect((await kb.similarIncidents('analytics', 'cart out of memory')).hits.map((h) => h.incident.workspace)).toEqual(['analytics']);
    expect(qdrant.invalid).toEqual([]);
  });
});

describe('when Qdrant fails', () => {
  it('searches the embedded index with a note and a warning, takes writes, and catches Qdrant up when it is back', async () => {
    qdrant.setDown(true);
    const down = await search('certificate has expired');
    expect(down.backend).toBe('embedded');
    expect(down.hits[0]!.path).toBe('runbooks/certificate-expiry.md');
    expect(down.notes.join(' ')).toMatch(/Qdrant/);
    expect(svc.logs()).toMatch(/Qdrant failed; knowledge search uses the embedded index/);

    const res = await put([
      { path: 'net/egress.md', markdown: '# Egress proxy\n\nThe Ocelotgate proxy drops idle connections after 60 s.\n' },
    ]);
    expect(res.status).toBe(200);
    expect((await json<{ notes: string[] }>(res)).notes.join(' ')).toMatch(/Qdrant did not take the change/);
    expect((await search('Ocelotgate')).hits[0]!.path).toBe('net/egress.md');

    qdrant.setDown(false);
    await new Promise((r) => setTimeout(r, 1100));
    // The first search after the pause starts the catch-up and is answered locally.
    expect((await search('Ocelotgate')).backend).toBe('embedded');
    await expect.poll(async () => (await search('Ocelotgate')).backend, { timeout: 5000 }).toBe('qdrant');
    expect((await search('Ocelotgate')).hits[0]!.path).toBe('net/egress.md');
    expect([...qdrant.collections.get('kb_test')!.points.values()].some((p) => p.payload.path === 'net/egress.md')).toBe(true);
  });
});

describe('re-indexing', () => {
  it('is incremental across restarts: unchanged sections are neither embedded nor sent again', async () => {
    const dataDir = svc.dataDir;
    await svc.close();
    const upsertsBefore = ops('upsert_points').length;
    const embedsBefore = ollama.embedRequests.length;
    svc = await startTestService({ ...env, AIOPS_DATA_DIR: dataDir });
    await svc.service.deps.knowledge.settled();
    expect(ops('upsert_points').length).toBe(upsertsBefore);
    expect(ollama.embedRequests.length).toBe(embedsBefore);
    expect(svc.service.deps.knowledge.status()).toMatchObject({ runbooks: markdownFiles('runbooks').length, backend: 'qdrant' });
    expect(qdrant.invalid).toEqual([]);
  });
});
