import { describe, expect, it } from 'vitest';
import { json, startTestService, tempDir } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';

const postgres = process.env.AIOPS_TEST_POSTGRES_URL;
const requirePostgres = process.env.AIOPS_REQUIRE_POSTGRES === '1';

const ask = (svc: Awaited<ReturnType<typeof startTestService>>, token: string, path: string, message: string) =>
  svc.request(path, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message }) });

describe('threads survive a restart (embedded SQLite store)', () => {
  it('continues a conversation and decides a pending approval after the service restarts on the same data folder', async () => {
    const dataDir = tempDir();
    const first = await startTestService({ AIOPS_DATA_DIR: dataDir });
    await seedScenario(first.service.deps.store, first.service.deps.ingest, 'payment-bad-deploy', 2);
    const token = await first.token({ roles: ['sre'] });
    const a = await json<{ thread_id: string; evidence: { id: string }[]; approvals: { approval_id: string; status: string }[] }>(
      await ask(first, token, '/v1/chat', 'why are payments failing?'),
    );
    expect(a.approvals[0]?.status).toBe('pending');
    // A second thread, for paging.
    const other = await json<{ thread_id: string }>(await ask(first, token, '/v1/chat', 'is checkout slow?'));
    await first.close();
    const fs = await import('node:fs');
    expect(fs.existsSync(`${dataDir}/threads/conversations.db`)).toBe(true);

    const second = await startTestService({ AIOPS_DATA_DIR: dataDir });
    try {
      const view = await json<{ messages: { role: string }[]; evidence: { id: string }[]; turns: number }>(
        await second.request(`/v1/threads/${a.thread_id}`, { token }),
      );
      expect(view.turns).toBe(1);
      expect(view.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(view.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(a.evidence.map((e) => e.id)));
      const b = await json<{ turn: number; thread_id: string; answer: string }>(
        await ask(second, token, `/v1/threads/${a.thread_id}/messages`, 'why do you think so?'),
      );
      expect(b).toMatchObject({ turn: 2, thread_id: a.thread_id });
      expect(b.answer).toMatch(/payment/);
      // The proposal of the first run is decided after the restart: the interrupted approval graph resumes from the database.
      const approver = await second.token({ sub: 'bob', roles: ['approver'] });
      const decided = await second.request(`/v1/threads/${a.thread_id}/approvals/${a.approvals[0]!.approval_id}`, {
        method: 'POST',
        token: approver,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(decided.status).toBe(200);
      expect((await json<{ approval: { status: string } }>(decided)).approval.status).toBe('not_sent');
      // Cursor paging: one thread a page, newest change first; the last page has no cursor.
      const page1 = await json<{ threads: { id: string }[]; next_cursor: string | null }>(
        await second.request('/v1/threads?limit=1', { token }),
      );
      expect(page1.threads.map((t) => t.id)).toEqual([a.thread_id]);
      const page2 = await json<{ threads: { id: string }[]; next_cursor: string | null }>(
        await second.request(`/v1/threads?limit=1&cursor=${page1.next_cursor}`, { token }),
      );
      expect(page2).toEqual({ threads: [expect.objectContaining({ id: other.thread_id })], next_cursor: null });
      const bad = await second.request('/v1/threads?cursor=nonsense', { token });
      expect(bad.status).toBe(400);
      expect((await json<{ errors: { field: string }[] }>(bad)).errors[0]!.field).toBe('cursor');
    } finally {
      await second.close();
    }
  });
});

describe('approvals in PostgreSQL', () => {
  it('one decision wins when replicas race, and a due check is claimed once', async (ctx) => {
    if (!postgres) {
      if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
      return ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
    }
    const { PostgresApprovalStore } = await import('../src/storage/approvals.ts');
    const { openPostgres } = await import('../src/clients/postgres.ts');
    // Two replicas: each its own pool, as two processes would have.
    const pools = [openPostgres(postgres), openPostgres(postgres)] as const;
    const [a, b] = await Promise.all([PostgresApprovalStore.open(pools[0]), PostgresApprovalStore.open(pools[1])]);
    try {
      const id = `test-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const now = new Date().toISOString();
      await a.create({
        approval_id: id,
        thread_id: `t-${id}`,
        workspace: 'shop',
        action: 'scale',
        params: { service: 'payment', replicas: 3 },
        summary: 'scale payment to 3 replicas',
        reason: 'test',
        evidence_ids: ['so1'],
        risk: 'medium',
        agent: 'sre',
        approvers: ['approver'],
        self_approval: false,
        requested_by: 'alice',
        requested: true,
        status: 'pending',
        created_at: now,
        expires_at: now,
        idempotency_key: 'k',
      });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).transition(id, ['pending'], { status: 'approved', decided_by: `user${i}` })),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await b.get(id))!.status).toBe('approved');
      await a.transition(id, ['approved'], {
        status: 'accepted',
        verification: { state: 'scheduled', at: new Date(Date.now() - 1000).toISOString() },
      });
      const claims = await Promise.all([a.claimVerification(new Date()), b.claimVerification(new Date())]);
      expect(claims.filter((c) => c?.approval_id === id)).toHaveLength(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
  it('holds one pending proposal per workspace, action and target, also when replicas race', async (ctx) => {
    if (!postgres) {
      if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
      return ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
    }
    const { PostgresApprovalStore, PendingExists } = await import('../src/storage/approvals.ts');
    const { openPostgres } = await import('../src/clients/postgres.ts');
    const pools = [openPostgres(postgres), openPostgres(postgres)] as const;
    const [a, b] = await Promise.all([PostgresApprovalStore.open(pools[0]), PostgresApprovalStore.open(pools[1])]);
    try {
      const workspace = `ws-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const now = new Date().toISOString();
      const record = (id: string, replicas: number) => ({
        approval_id: id,
        thread_id: `t-${id}`,
        workspace,
        action: 'scale' as const,
        params: { service: 'payment', replicas },
        summary: `scale payment to ${replicas} replicas`,
        reason: 'test',
        evidence_ids: ['so1'],
        risk: 'medium' as const,
        agent: 'sre',
        approvers: ['approver'],
        self_approval: false,
        requested_by: 'alice',
        requested: false,
        status: 'pending' as const,
        created_at: now,
        expires_at: now,
        idempotency_key: 'k',
      });
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).create(record(`${workspace}-${i}`, i + 1))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results.filter((x) => x.status === 'rejected'))
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PendingExists);
      const pending = await b.pending(workspace, 'scale', 'payment');
      expect(pending?.status).toBe('pending');
      expect(await a.pending(workspace, 'rollback', 'payment')).toBeUndefined();
      // Once it is no longer pending, the next one may be recorded.
      await a.transition(pending!.approval_id, ['pending'], { status: 'expired' });
      await b.create(record(`${workspace}-next`, 9));
      expect((await a.pending(workspace, 'scale', 'payment'))?.approval_id).toBe(`${workspace}-next`);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

describe('threads shared by two instances (PostgreSQL)', () => {
  it('a thread started on one instance continues on another', async (ctx) => {
    if (!postgres) {
      if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
      return ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
    }
    // Two instances, each with its own data folder (its own embedded ClickHouse): only PostgreSQL is shared.
    const a = await startTestService({ POSTGRES_URL: postgres });
    await seedScenario(a.service.deps.store, a.service.deps.ingest, 'payment-bad-deploy', 2);
    const token = await a.token({ sub: `pg-${Date.now()}`, roles: ['sre'] });
    const first = await json<{ thread_id: string }>(await ask(a, token, '/v1/chat', 'why are payments failing?'));
    await a.close();

    // The second instance trusts the same signing key (one control plane) and has its own data folder.
    const fs = await import('node:fs');
    const dirB = tempDir();
    fs.mkdirSync(`${dirB}/dev-auth`, { recursive: true });
    fs.copyFileSync(`${a.dataDir}/dev-auth/signing-key.json`, `${dirB}/dev-auth/signing-key.json`);
    const b = await startTestService({ POSTGRES_URL: postgres, AIOPS_DATA_DIR: dirB });
    try {
      const view = await json<{ messages: { role: string; content: string }[]; turns: number }>(
        await b.request(`/v1/threads/${first.thread_id}`, { token }),
      );
      expect(view.turns).toBe(1);
      expect(view.messages[1]!.content).toMatch(/bad deploy of payment/);
      const list = await json<{ threads: { id: string }[] }>(await b.request('/v1/threads', { token }));
      expect(list.threads.map((t) => t.id)).toContain(first.thread_id);
      const next = await json<{ turn: number }>(await ask(b, token, `/v1/threads/${first.thread_id}/messages`, 'anything else?'));
      expect(next.turn).toBe(2);
      // The proposal made on the first instance is decided on the second: the interrupted approval graph resumes from PostgreSQL.
      const pending = (first as unknown as { approvals: { approval_id: string }[] }).approvals[0]!;
      const approver = await b.token({ sub: 'bob', roles: ['approver'] });
      const decided = await b.request(`/v1/threads/${first.thread_id}/approvals/${pending.approval_id}`, {
        method: 'POST',
        token: approver,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(decided.status).toBe(200);
      expect((await json<{ approval: { status: string } }>(decided)).approval.status).toBe('not_sent');
    } finally {
      await b.close();
    }
  });
});
