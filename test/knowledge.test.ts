import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { readRows } from '../src/clients/clickhouse.ts';
import { chunkMarkdown, DocumentError, markdownFiles } from '../src/knowledge/markdown.ts';
import { evaluateRetrieval, leaveOneOut, loadCases, matchCase, matchReport, thresholdErrors } from '../src/knowledge/eval.ts';
import { EmbeddedIndex } from '../src/knowledge/embedded.ts';
import { RunbookSearch } from '../src/knowledge/runbook-search.ts';
import { knowledgeRefs } from '../src/agents/narrator.ts';
import type { Evidence } from '../src/core/evidence.ts';

let svc: TestService;
let admin: string;
let reader: string;

beforeAll(async () => {
  svc = await startTestService();
  admin = await svc.token({ sub: 'kim', roles: ['knowledge-admin'] });
  reader = await svc.token({ sub: 'alice', roles: ['sre'] });
});
afterAll(() => svc?.close());

const put = (documents: unknown, token = admin, workspace?: string) =>
  svc.request('/v1/knowledge/documents', {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/json', ...(workspace ? { 'X-Workspace': workspace } : {}) },
    body: JSON.stringify({ documents }),
  });

interface SearchBody {
  backend: string;
  no_match: boolean;
  notes: string[];
  hits: {
    title: string;
    section: string;
    path: string;
    anchor: string;
    citation: string;
    workspace: string;
    snippet: string;
    match: string;
    match_score: number;
  }[];
}
const search = async (q: string, token = reader, extra = '') => {
  const res = await svc.request(`/v1/runbooks/search?q=${encodeURIComponent(q)}${extra}`, { token });
  expect(res.status).toBe(200);
  return json<SearchBody>(res);
};
const documentRows = async () =>
  Number((await readRows<{ n: string }>(svc.service.deps.store, { query: 'SELECT count() AS n FROM aiops_knowledge_documents' }))[0]!.n);

describe('the runbooks', () => {
  const files = markdownFiles('runbooks');

  it('are at least 15, each with front matter and symptoms, confirm, mitigate and do-not sections', () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const chunks = chunkMarkdown(f, readFileSync(f, 'utf8'), { source: 'runbook', maxChars: 1800 });
      const sections = chunks.map((c) => c.section);
      expect(sections, f).toEqual(expect.arrayContaining(['Overview', 'Symptoms', 'Confirm', 'Mitigate', 'Do not']));
      expect(chunks[0]!.alerts.length, f).toBeGreaterThan(0);
      expect(chunks[0]!.tags.length, f).toBeGreaterThan(0);
    }
  });

  it('are all indexed at start', async () => {
    const res = await svc.request('/v1/knowledge', { token: reader });
    const status = await json<{ runbooks: number; sections: number; backend: string; dense: boolean }>(res);
    expect(status).toMatchObject({ runbooks: files.length, backend: 'embedded', dense: false });
    expect(status.sections).toBeGreaterThan(files.length * 4);
  });

  it('answer the labelled alerts and questions: recall@3 at least 0.9 with words alone', async () => {
    const kb = svc.service.deps.knowledge;
    const cases = loadCases('evals/knowledge/runbook-queries.yaml');
    expect(cases.length).toBeGreaterThanOrEqual(50);
    const report = await evaluateRetrieval(cases, async (c) =>
      (await kb.searchRunbooks('shop', c.query ?? c.alertname!, { k: 10, alertname: c.alertname, mode: 'lexical' })).hits.map(
        (h) => h.path,
      ),
    );
    expect(report.misses).toEqual([]);
    expect(report.recall_at_3).toBeGreaterThanOrEqual(0.9);
    expect(report.recall_at_1).toBeGreaterThanOrEqual(0.8);
  });

  it('say no_match for what no runbook covers, at a threshold calibrated on the labelled set that holds up by leave-one-out', async () => {
    const kb = svc.service.deps.knowledge;
    const cases = loadCases('evals/knowledge/runbook-queries.yaml');
    expect(cases.filter((c) => c.expect.length === 0).length).toBeGreaterThanOrEqual(20);
    // Graded as an answer sees them: the tool's default three hits.
    const graded = await Promise.all(
      cases.map(async (c) =>
        matchCase(c, (await kb.searchRunbooks('shop', c.query ?? c.alertname!, { k: 3, alertname: c.alertname, mode: 'lexical' })).hits),
      ),
    );
    const threshold = svc.service.deps.policies.knowledge.match_threshold;
    // The policy's threshold makes as few errors on the set as any (bench:knowledge prints the calibration).
    const { errors, fewest } = thresholdErrors(graded, threshold);
    expect(errors).toBe(fewest);
    const atPolicy = matchReport(graded, threshold);
    expect(atPolicy.false_match_rate).toBeLessThanOrEqual(0.1);
    expect(atPolicy.cited_recall).toBeGreaterThanOrEqual(0.85);
    const loo = leaveOneOut(graded);
    expect(loo.false_match_rate).toBeLessThanOrEqual(0.15);
    expect(loo.cited_recall).toBeGreaterThanOrEqual(0.85);
    expect(loo.wrong_citation_rate).toBeLessThanOrEqual(0.1);
  });
});

describe('chunking markdown', () => {
  const doc = [
    '---',
    'title: Payment gateway timeouts',
    'alerts: [PaymentGatewaySlow]',
    'tags: [payments]',
    '---',
    '# Gateway timeouts',
    'Intro text.',
    '## Symptoms',
    'Slow charges.',
    '```sh',
    '## not a heading inside code',
    '```',
    '## Notes',
    'First notes.',
    '## Notes',
    'Second notes.',
    '## Empty',
    '',
  ].join('\n');

  it('splits at second-level headings with GitHub anchors; code fences do not split; repeated headings get -1', () => {
    const chunks = chunkMarkdown('team/gateway.md', doc, { source: 'document', workspace: 'shop', maxChars: 1800 });
    expect(chunks.map((c) => [c.section, c.anchor])).toEqual([
      ['Overview', 'gateway-timeouts'],
      ['Symptoms', 'symptoms'],
      ['Notes', 'notes'],
      ['Notes', 'notes-1'],
    ]);
    expect(chunks[1]!.text).toContain('## not a heading inside code');
    expect(chunks[0]).toMatchObject({
      title: 'Payment gateway timeouts',
      alerts: ['PaymentGatewaySlow'],
      workspace: 'shop',
      path: 'team/gateway.md',
    });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(4);
    // The same document in another workspace is another set of chunks.
    const other = chunkMarkdown('team/gateway.md', doc, { source: 'document', workspace: 'other', maxChars: 1800 });
    expect(other.map((c) => c.id).some((id) => chunks.some((c) => c.id === id))).toBe(false);
  });

  it('splits long sections at paragraphs', () => {
    const long = `# T\n## Big\n${Array.from({ length: 30 }, (_, i) => `Paragraph ${i} ${'words '.repeat(30)}`).join('\n\n')}`;
    const chunks = chunkMarkdown('big.md', long, { source: 'document', maxChars: 600 });
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.every((c) => c.text.length <= 600 + 20)).toBe(true);
    expect(new Set(chunks.map((c) => c.anchor))).toEqual(new Set(['big']));
  });

  it('names the front matter field that does not validate', () => {
    expect(() => chunkMarkdown('x.md', '---\nalerts: KubePodCrashLooping\n---\n# X\n', { source: 'document', maxChars: 1800 })).toThrow(
      /front matter field "alerts"/,
    );
    expect(() => chunkMarkdown('x.md', '---\ntitle: [unclosed\n---\n# X\n', { source: 'document', maxChars: 1800 })).toThrow(DocumentError);
  });
});

describe('GET /v1/runbooks/search', () => {
  it('finds the runbook for an alert, with title, path and anchor to cite', async () => {
    const body = await search('pod restarting again and again', reader, '&alertname=KubePodCrashLooping&k=3');
    expect(body.backend).toBe('embedded');
    expect(body.hits).toHaveLength(3);
    expect(body.hits[0]).toMatchObject({
      path: 'runbooks/crash-loop-oom.md',
      title: 'Pods crash-loop after out-of-memory kills',
      workspace: '*',
    });
    expect(body.hits[0]!.citation).toBe(`${body.hits[0]!.path}#${body.hits[0]!.anchor}`);
    expect(body.hits[0]!.snippet.length).toBeGreaterThan(20);
  });

  it('is open to every role that may chat, and refuses the rest', async () => {
    expect((await svc.request('/v1/runbooks/search?q=dns', { token: await svc.token({ roles: ['viewer'] }) })).status).toBe(200);
    const ingest = await svc.request('/v1/runbooks/search?q=dns', { token: await svc.token({ roles: ['ingest'] }) });
    expect(ingest.status).toBe(403);
    expect(ingest.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await svc.request('/v1/runbooks/search?q=dns')).status).toBe(401);
  });

  it('names the failing query parameters', async () => {
    const res = await svc.request(`/v1/runbooks/search?k=100&mode=fuzzy&alertname=${'x'.repeat(201)}`, { token: reader });
    expect(res.status).toBe(400);
    const p = await json<{ errors: { field: string }[] }>(res);
    expect(p.errors.map((e) => e.field).sort()).toEqual(['alertname', 'k', 'mode', 'q']);
  });

  it('grades each hit (exact, strong, weak) and says no_match when none is exact or strong', async () => {
    const named = await search('pods restarting', reader, '&alertname=KubePodCrashLooping&k=3');
    expect(named).toMatchObject({ no_match: false, hits: [{ path: 'runbooks/crash-loop-oom.md', match: 'exact' }, {}, {}] });
    const words = await search('hikari says the pool is exhausted and requests wait');
    expect(words.no_match).toBe(false);
    expect(words.hits[0]).toMatchObject({ path: 'runbooks/connection-pool-exhaustion.md', match: 'strong' });
    expect(words.hits[0]!.match_score).toBeGreaterThan(0.5);
    const uncovered = await search('customers do not receive password reset emails');
    expect(uncovered.no_match).toBe(true);
    expect(uncovered.hits.length).toBeGreaterThan(0);
    expect(uncovered.hits.map((h) => h.match)).toEqual(uncovered.hits.map(() => 'weak'));
    // An alert title in words is searched, but is never an exact match.
    const title = await search('pods restarting', reader, `&alertname=${encodeURIComponent('Kube pod crash looping')}`);
    expect(title.hits[0]!.path).toBe('runbooks/crash-loop-oom.md');
    expect(title.hits.some((h) => h.match === 'exact')).toBe(false);
  });

  it('says so when dense retrieval is asked for without an embedding model', async () => {
    const body = await search('dns', reader, '&mode=dense');
    expect(body.hits).toEqual([]);
    expect(body.notes.join(' ')).toMatch(/no embedding model/);
  });
});

describe('alerts sent as plain titles', () => {
  const tool = (args: unknown) =>
    svc.request('/v1/tools/search_runbooks', {
      method: 'POST',
      token: reader,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(args),
    });

  it('search_runbooks takes a title with spaces as the alert and still cites a runbook', async () => {
    const res = await tool({ query: 'checkout requests fail', alertname: 'High error rate on checkout', k: 3 });
    expect(res.status).toBe(200);
    const body = await json<{ evidence: { attributes: Record<string, string> }[] }>(res);
    expect(body.evidence[0]!.attributes.citation).toMatch(/^runbooks\/(error-rise-after-deploy|upstream-5xx)\.md#/);
  });

  it('search_runbooks evidence carries the match grade and no_match', async () => {
    const body = await json<{ evidence: { attributes: Record<string, string>; numbers: Record<string, number> }[]; notes: string[] }>(
      await tool({ query: 'customers do not receive password reset emails' }),
    );
    expect(body.evidence.length).toBeGreaterThan(0);
    expect(body.evidence.every((e) => e.attributes.match === 'weak' && e.attributes.no_match === 'true')).toBe(true);
    expect(typeof body.evidence[0]!.numbers.match_score).toBe('number');
    expect(body.notes.join(' ')).toMatch(/no_match/);
    const exact = await json<{ evidence: { attributes: Record<string, string> }[] }>(
      await tool({ query: 'certificate', alertname: 'X509CertificateExpiry' }),
    );
    expect(exact.evidence[0]!.attributes).toMatchObject({ match: 'exact', no_match: 'false', path: 'runbooks/certificate-expiry.md' });
  });

  it('GET /v1/runbooks/search too: the title is searched as words', async () => {
    const body = await search('requests fail', reader, `&alertname=${encodeURIComponent('High error rate on checkout')}&k=3`);
    expect(body.hits[0]!.path).toMatch(/^runbooks\/(error-rise-after-deploy|upstream-5xx)\.md$/);
  });
});

describe('documents that copy or shadow a built-in runbook', () => {
  const dns = () => readFileSync('runbooks/dns-failures.md', 'utf8');

  it('may not take a path under the built-in runbooks prefix', async () => {
    const res = await put([{ path: 'runbooks/dns-failures.md', markdown: '# Our DNS\n\nThe Kiwidns resolver answers for the shop.\n' }]);
    expect(res.status).toBe(400);
    expect((await json<{ errors: { field: string; message: string }[] }>(res)).errors).toEqual([
      { field: 'documents[0].path', message: expect.stringMatching(/runbooks\/ holds the built-in runbooks/) },
    ]);
    expect((await search('Kiwidns resolver')).hits.some((h) => h.workspace === 'shop')).toBe(false);
  });

  it('are skipped with a note when they have the text of a built-in runbook (aiops knowledge index ./runbooks --prefix …)', async () => {
    const rows = await documentRows();
    const res = await put([{ path: 'team-runbooks/dns-failures.md', markdown: dns() }]);
    expect(res.status).toBe(200);
    const body = await json<{ changes: { path: string; status: string }[]; notes: string[] }>(res);
    expect(body.changes).toEqual([expect.objectContaining({ path: 'team-runbooks/dns-failures.md', status: 'skipped' })]);
    expect(body.notes.join(' ')).toMatch(/same text as the built-in runbook runbooks\/dns-failures\.md/);
    expect(await documentRows()).toBe(rows);
    const hits = (await search('lookups fail with no such host', reader, '&k=10')).hits;
    expect(hits.some((h) => h.path === 'team-runbooks/dns-failures.md')).toBe(false);
  });

  it('show each section once: a team copy with one section more adds that section only', async () => {
    const extended = `${dns()}\n## Our resolver\n\nThe Kiwidns resolver answers for the shop.\n`;
    expect((await put([{ path: 'team/dns-notes.md', markdown: extended }])).status).toBe(200);
    const hits = (await search('lookups fail with no such host temporary failure in name resolution', reader, '&k=10')).hits;
    const shown = hits.map((h) => `${h.section}|${h.snippet}`);
    expect(new Set(shown).size).toBe(shown.length);
    // The runbook keeps its citation; the copy's identical sections are not shown.
    expect(hits.filter((h) => h.path === 'team/dns-notes.md' && h.section !== 'Our resolver')).toEqual([]);
    expect((await search('Kiwidns resolver')).hits[0]).toMatchObject({ path: 'team/dns-notes.md', section: 'Our resolver' });
    expect((await svc.request('/v1/knowledge/documents/team/dns-notes.md', { method: 'DELETE', token: admin })).status).toBe(200);
  });
});

describe('a runbook collection named after its alerts (file names and titles, no front matter)', () => {
  const docs: Record<string, string> = {
    'alerts/TargetDown.md':
      '# TargetDown\n\n## Meaning\n\nPrometheus cannot scrape a target: its endpoint does not answer.\n\n## Mitigation\n\nLook at the pod behind the endpoint and at the network policy in front of it.\n',
    // Named by its title only, and by its file name only.
    'alerts/pod-readiness.md':
      '# KubePodNotReady\n\n## Meaning\n\nA pod has not been ready for 15 minutes: the endpoint is unreachable and the pod is not ready.\n\n## Mitigation\n\nDescribe the pod; read its readiness probe and events.\n',
    'alerts/NodeFilesystemSpaceFillingUp.md':
      '# A filesystem is filling up\n\n## Meaning\n\nA filesystem on a node will be full within a day.\n\n## Mitigation\n\nFind what writes; clean logs and images.\n',
  };
  const index = new EmbeddedIndex({ rrfK: 60, candidates: 40 });
  for (const [p, md] of Object.entries(docs)) index.upsert(chunkMarkdown(p, md, { source: 'runbook', maxChars: 1800 }));
  const s = new RunbookSearch({ index, embedder: { embedQuery: async () => ({}) }, threshold: 0.32 });
  const query = 'the pod is not ready and its endpoint is unreachable';
  const first = async (q: string, alertname?: string) =>
    (await s.search('shop', q, { k: 3, mode: 'lexical', ...(alertname ? { alertname } : {}) })).hits;

  it('ranks the document whose file name or title is the alert name first, as an exact match', async () => {
    expect((await first(query))[0]!.path).toBe('alerts/pod-readiness.md');
    const named = await first(query, 'TargetDown');
    expect(named[0]).toMatchObject({ path: 'alerts/TargetDown.md', match: 'exact' });
    expect(named.filter((h) => h.path !== 'alerts/TargetDown.md').every((h) => h.match !== 'exact')).toBe(true);
    expect((await first('filesystem full', 'KubePodNotReady'))[0]).toMatchObject({ path: 'alerts/pod-readiness.md', match: 'exact' });
    expect((await first(query, 'NodeFilesystemSpaceFillingUp'))[0]).toMatchObject({
      path: 'alerts/NodeFilesystemSpaceFillingUp.md',
      match: 'exact',
    });
  });

  it('keeps to the words for an alert no document is named after, or a title in words', async () => {
    const other = await first('a filesystem on a node will be full', 'DiskWillFillIn4Hours');
    expect(other[0]!.path).toBe('alerts/NodeFilesystemSpaceFillingUp.md');
    expect(other.some((h) => h.match === 'exact')).toBe(false);
    const title = await first(query, 'Target down');
    expect(title.some((h) => h.match === 'exact')).toBe(false);
  });
});

describe('answers cite runbooks', () => {
  const ev = (id: string, match: string | undefined, citation: string): Evidence => ({
    id,
    tool: 'search_runbooks',
    kind: 'runbook',
    summary: citation,
    numbers: {},
    attributes: { title: 'T', section: 'S', path: citation.split('#')[0]!, citation, ...(match ? { match } : {}) },
    window: { from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z' },
    query_id: 'q',
  });
  const run = (agent: string, ids: string[]) => ({
    agent,
    tool: 'search_runbooks',
    args: {},
    evidence_ids: ids,
    notes: [],
    rendered: '',
    elapsed_ms: 1,
  });

  it('only on an exact or strong match', () => {
    const evidence = [ev('rb1', 'weak', 'runbooks/a.md#x'), ev('rb2', 'strong', 'runbooks/b.md#y'), ev('rb3', 'weak', 'runbooks/c.md#z')];
    expect(knowledgeRefs(evidence, [run('sre', ['rb1', 'rb2'])], ['sre']).runbooks.map((e) => e.id)).toEqual(['rb2']);
    expect(knowledgeRefs(evidence, [run('sre', ['rb3'])], ['sre']).runbooks).toEqual([]);
    expect(knowledgeRefs([ev('rb4', 'exact', 'runbooks/d.md#w')], [run('sre', ['rb4'])], ['sre']).runbooks.map((e) => e.id)).toEqual([
      'rb4',
    ]);
    // Evidence without a grade (written before grades) is not cited either.
    expect(knowledgeRefs([ev('rb5', undefined, 'runbooks/e.md#v')], [run('sre', ['rb5'])], ['sre']).runbooks).toEqual([]);
  });
});

const GATEWAY = (extra = '') => `---
title: Payment gateway timeouts
alerts: [PaymentGatewaySlow]
tags: [payments, gateway]
---
# Payment gateway timeouts

Our card processor Zanzibarpay answers slowly at month end.

## Symptoms

Charges time out after 10 s; checkout shows "payment pending".

## Mitigate

Switch the payment service to the fallback processor with the feature flag payments.fallback.
${extra}`;

describe('POST /v1/knowledge/documents', () => {
  it('needs the knowledge-admin role', async () => {
    const res = await put([{ path: 'payments/gateway.md', markdown: GATEWAY() }], reader);
    expect(res.status).toBe(403);
    expect((await json<{ detail: string }>(res)).detail).toMatch(/knowledge-admin/);
  });

  it('checks every document before writing any, naming the failing fields', async () => {
    const before = await documentRows();
    const badPath = await put([
      { path: '../etc/passwd.md', markdown: GATEWAY() },
      { path: 'ok.md', markdown: '' },
      { path: 'notes.txt', markdown: 'x' },
    ]);
    expect(badPath.status).toBe(400);
    const p1 = await json<{ errors: { field: string }[] }>(badPath);
    expect([...new Set(p1.errors.map((e) => e.field))]).toEqual(['documents[0].path', 'documents[1].markdown', 'documents[2].path']);

    const dup = await put([
      { path: 'a.md', markdown: GATEWAY() },
      { path: 'a.md', markdown: GATEWAY() },
    ]);
    expect(dup.status).toBe(400);
    expect((await json<{ errors: { field: string }[] }>(dup)).errors[0]!.field).toBe('documents[1].path');

    // One good document and one with broken front matter: neither is written.
    const mixed = await put([
      { path: 'payments/gateway.md', markdown: GATEWAY() },
      { path: 'payments/broken.md', markdown: '---\nalerts: {not: a list}\n---\n# Broken\n' },
    ]);
    expect(mixed.status).toBe(400);
    const p2 = await json<{ detail: string; errors: { field: string; message: string }[] }>(mixed);
    expect(p2.detail).toMatch(/nothing was written/);
    expect(p2.errors).toEqual([{ field: 'documents[1].markdown', message: expect.stringMatching(/front matter field "alerts"/) }]);
    expect(await documentRows()).toBe(before);
    expect((await search('Zanzibarpay')).hits.filter((h) => h.path === 'payments/gateway.md')).toEqual([]);

    const notJson = await svc.request('/v1/knowledge/documents', {
      method: 'POST',
      token: admin,
      headers: { 'Content-Type': 'application/json' },
      body: '{"documents": [',
    });
    expect(notJson.status).toBe(400);
    const huge = await put([{ path: 'huge.md', markdown: `# Huge\n${'x'.repeat(1_100_000)}` }]);
    expect(huge.status).toBe(413);
  });

  it('adds documents searchable in the workspace only; sending them again changes nothing', async () => {
    const res = await put([{ path: 'payments/gateway.md', markdown: GATEWAY() }]);
    expect(res.status).toBe(200);
    const body = await json<{ workspace: string; changes: { path: string; status: string; sections: number }[] }>(res);
    expect(body).toMatchObject({ workspace: 'shop', changes: [{ path: 'payments/gateway.md', status: 'added', sections: 3 }] });

    const found = await search('Zanzibarpay slow at month end');
    expect(found.hits[0]).toMatchObject({ path: 'payments/gateway.md', workspace: 'shop', title: 'Payment gateway timeouts' });
    // Another workspace does not see it.
    const otherReader = await svc.token({ roles: ['sre'], workspaces: ['analytics'] });
    expect((await search('Zanzibarpay slow at month end', otherReader)).hits.some((h) => h.path === 'payments/gateway.md')).toBe(false);

    const rows = await documentRows();
    const again = await json<{ changes: { status: string }[] }>(await put([{ path: 'payments/gateway.md', markdown: GATEWAY() }]));
    expect(again.changes[0]!.status).toBe('unchanged');
    expect(await documentRows()).toBe(rows);
  });

  it('replaces a document: changed sections are updated, dropped ones disappear', async () => {
    const withExtra = GATEWAY('\n## Escalation\n\nPage the Quokkateam on-call through the vendor portal.\n');
    expect(
      (await json<{ changes: { status: string; sections: number }[] }>(await put([{ path: 'payments/gateway.md', markdown: withExtra }])))
        .changes[0],
    ).toMatchObject({ status: 'updated', sections: 4 });
    expect((await search('Quokkateam vendor portal')).hits[0]).toMatchObject({ path: 'payments/gateway.md', section: 'Escalation' });
    await put([{ path: 'payments/gateway.md', markdown: GATEWAY() }]);
    expect((await search('Quokkateam vendor portal')).hits.some((h) => h.section === 'Escalation')).toBe(false);

    const list = await json<{ documents: { path: string; updated_by: string }[] }>(
      await svc.request('/v1/knowledge/documents', { token: reader }),
    );
    expect(list.documents).toEqual([expect.objectContaining({ path: 'payments/gateway.md', updated_by: 'kim' })]);
  });

  it('deletes a document of the workspace; 404 when there is none', async () => {
    await put([{ path: 'tmp/scratch.md', markdown: '# Scratch\n\nWombatflux notes.\n' }]);
    expect((await search('Wombatflux')).hits[0]?.path).toBe('tmp/scratch.md');
    const del = await svc.request('/v1/knowledge/documents/tmp/scratch.md', { method: 'DELETE', token: admin });
    expect(del.status).toBe(200);
    expect((await search('Wombatflux')).hits.some((h) => h.path === 'tmp/scratch.md')).toBe(false);
    expect((await svc.request('/v1/knowledge/documents/tmp/scratch.md', { method: 'DELETE', token: admin })).status).toBe(404);
    // The project's runbooks are not documents of a workspace.
    expect((await svc.request('/v1/knowledge/documents/runbooks/dns-failures.md', { method: 'DELETE', token: admin })).status).toBe(404);
    expect((await svc.request('/v1/knowledge/documents/..%2Fx.md', { method: 'DELETE', token: admin })).status).toBe(400);
  });
});

describe('past incidents', () => {
  it('keeps one incident per incident while it lasts, never cites it as a past one, and finds it once it is over', async () => {
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'cart-oom-crashloop', 2);
    const ask = async (message: string) => {
      const res = await svc.request('/v1/chat', {
        method: 'POST',
        token: reader,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message }),
      });
      expect(res.status).toBe(200);
      return json<{
        thread_id: string;
        answer: string;
        hypotheses: unknown[];
        similar_incidents: { thread_id: string; root_service: string; root_kind: string }[];
        citations: { citation: string }[];
      }>(res);
    };
    const kb = svc.service.deps.knowledge;
    const first = await ask('customers get errors when they open their cart');
    expect(first.similar_incidents).toEqual([]);
    expect(first.citations[0]!.citation).toMatch(/^runbooks\/crash-loop-oom\.md#/);
    expect(kb.openIncidents('shop')).toHaveLength(1);

    // A second thread about the same live incident updates it and does not cite it as "seen before".
    const second = await ask('cart is failing again, what is going on?');
    expect(second.similar_incidents.map((i) => i.thread_id)).not.toContain(first.thread_id);
    expect(second.answer).not.toMatch(/Seen before/);
    const open = kb.openIncidents('shop');
    expect(open).toHaveLength(1);
    expect(open[0]!.threads.sort()).toEqual([first.thread_id, second.thread_id].sort());

    // The signal recovers: an investigation of the present finds no fault, and the incident closes.
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'none', 2);
    const quiet = await ask('is anything wrong with the shop?');
    expect(quiet.hypotheses).toEqual([]);
    expect(kb.openIncidents('shop')).toEqual([]);

    // When it happens again, the closed incident is the one seen before.
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'cart-oom-crashloop', 2);
    const again = await ask('customers get errors when they open their cart');
    expect(again.similar_incidents[0]).toMatchObject({ thread_id: first.thread_id, root_service: 'cart', root_kind: 'oom_crashloop' });
    expect(again.answer).toMatch(new RegExp(`Seen before: .*thread ${first.thread_id}`));

    // The same question through the tool API: found in shop, nothing in another workspace.
    const tool = (token: string) =>
      svc.request('/v1/tools/similar_incidents', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ query: 'cart out of memory crash loop' }),
      });
    const mine = await json<{ evidence: { attributes: Record<string, string> }[] }>(await tool(reader));
    expect(mine.evidence.map((e) => e.attributes.thread_id)).toContain(first.thread_id);
    const other = await json<{ evidence: unknown[]; notes: string[] }>(
      await tool(await svc.token({ roles: ['sre'], workspaces: ['analytics'] })),
    );
    expect(other.evidence).toEqual([]);

    const bad = await svc.request('/v1/tools/similar_incidents', {
      method: 'POST',
      token: reader,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ query: '', k: 50 }),
    });
    expect(bad.status).toBe(400);
  }, 300_000);
});

describe('after a restart', () => {
  it('keeps documents and incidents (they live in ClickHouse) and the runbooks', async () => {
    // A document of another workspace, so that the start log has two to count.
    const analyticsAdmin = await svc.token({ sub: 'kim', roles: ['knowledge-admin'], workspaces: ['analytics'] });
    expect(
      (await put([{ path: 'etl/backfill.md', markdown: '# Backfill\n\nRun the Heronflow backfill at night.\n' }], analyticsAdmin)).status,
    ).toBe(200);
    const dataDir = svc.dataDir;
    await svc.close();
    svc = await startTestService({ AIOPS_DATA_DIR: dataDir });
    reader = await svc.token({ sub: 'alice', roles: ['sre'] });
    // The start log counts what the list shows: stored, not deleted, per workspace (deleted ones and runbooks are not documents).
    const started = svc
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; documents?: number; documents_by_workspace?: Record<string, number>; runbooks?: number })
      .find((l) => l.msg.startsWith('knowledge indexed'))!;
    const listed = await json<{ documents: unknown[] }>(await svc.request('/v1/knowledge/documents', { token: reader }));
    expect(started.documents_by_workspace).toEqual({ shop: listed.documents.length, analytics: 1 });
    expect(started.documents).toBe(listed.documents.length + 1);
    expect(started.runbooks).toBe(markdownFiles('runbooks').length);
    const shopStatus = await json<{ documents: number }>(await svc.request('/v1/knowledge', { token: reader }));
    expect(shopStatus.documents).toBe(listed.documents.length);
    expect((await search('Zanzibarpay slow at month end')).hits[0]?.path).toBe('payments/gateway.md');
    const status = await json<{ incidents: number; runbooks: number }>(await svc.request('/v1/knowledge', { token: reader }));
    expect(status.incidents).toBeGreaterThanOrEqual(2);
    expect(status.runbooks).toBe(markdownFiles(path.resolve('runbooks')).length);
  });
});
