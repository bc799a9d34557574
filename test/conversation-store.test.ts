import fs from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BaseCheckpointSaver, PendingWrite } from '@langchain/langgraph-checkpoint';
import { json, startTestService, tempDir } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { buildChatGraph } from '../src/agents/orchestrator/graph.ts';
import type { ApprovalRecord } from '../src/core/proposal.ts';
import type { Evidence } from '../src/core/evidence.ts';
import { FileCheckpointSaver } from '../src/storage/file-checkpointer.ts';
import { FileThreadIndex, type ThreadIndex, type ThreadRecord } from '../src/storage/threads.ts';
import { FileApprovalStore, type ApprovalStore } from '../src/storage/approvals.ts';
import { conversationDbFile, openSqliteConversations, sweepSqlite } from '../src/storage/conversation-db.ts';
import { RetentionSweeper, sweepPostgres } from '../src/storage/retention-sweep.ts';

const postgres = process.env.AIOPS_TEST_POSTGRES_URL;
const requirePostgres = process.env.AIOPS_REQUIRE_POSTGRES === '1';
const DAY = 86_400_000;

/** Copies every checkpoint of a thread (all namespaces, with pending writes) from one saver to another, oldest first. */
async function copyThread(from: BaseCheckpointSaver, to: BaseCheckpointSaver, threadId: string) {
  const tuples = [];
  for await (const t of from.list({ configurable: { thread_id: threadId } })) tuples.push(t);
  tuples.sort((a, b) => String(a.config.configurable?.checkpoint_id).localeCompare(String(b.config.configurable?.checkpoint_id)));
  for (const t of tuples) {
    const ns = t.config.configurable?.checkpoint_ns ?? '';
    const parent = t.parentConfig?.configurable?.checkpoint_id;
    const saved = await to.put(
      { configurable: { thread_id: threadId, checkpoint_ns: ns, ...(parent ? { checkpoint_id: parent } : {}) } },
      t.checkpoint,
      t.metadata!,
      t.checkpoint.channel_versions,
    );
    const byTask = new Map<string, PendingWrite[]>();
    for (const [task, channel, value] of t.pendingWrites ?? []) byTask.set(task, [...(byTask.get(task) ?? []), [channel, value]]);
    for (const [task, writes] of byTask) await to.putWrites(saved, writes, task);
  }
  return tuples.length;
}

describe('the JSON files of the earlier embedded store are imported once', () => {
  it('brings over threads, checkpoints and a pending approval; the conversation continues and the approval is decided', async () => {
    const dataDir = tempDir();
    const first = await startTestService({ AIOPS_DATA_DIR: dataDir });
    await seedScenario(first.service.deps.store, first.service.deps.ingest, 'payment-bad-deploy', 2);
    const token = await first.token({ roles: ['sre'] });
    const res = await first.request('/v1/chat', {
      method: 'POST',
      token,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: 'why are payments failing?' }),
    });
    const a = await json<{ thread_id: string; answer: string; evidence: { id: string }[]; approvals: { approval_id: string }[] }>(res);
    expect(a.approvals).toHaveLength(1);
    await first.close();

    // Today's conversation, written again as the earlier version kept it, by that version's own code; then no database.
    const db = await openSqliteConversations(dataDir);
    const thread = (await db.threads.get(a.thread_id))!;
    const approval = (await db.approvals.get(a.approvals[0]!.approval_id))!;
    const dir = `${dataDir}/threads`;
    const legacySaver = new FileCheckpointSaver(`${dir}/checkpoints`);
    expect(await copyThread(db.checkpointer, legacySaver, a.thread_id)).toBeGreaterThan(0);
    expect(await copyThread(db.checkpointer, legacySaver, `approval:${approval.approval_id}`)).toBeGreaterThan(0);
    db.close();
    const legacyThreads = new FileThreadIndex(`${dir}/index.json`);
    await legacyThreads.create(thread);
    await legacyThreads.close();
    const legacyApprovals = new FileApprovalStore(`${dir}/approvals.json`);
    await legacyApprovals.create(approval);
    await legacyApprovals.close();
    // Let the file saver's writes land.
    await legacySaver.deleteThread('none');
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('conversations.db'))) fs.rmSync(`${dir}/${f}`);
    expect(fs.readdirSync(`${dir}/checkpoints`)).toHaveLength(2);

    const second = await startTestService({ AIOPS_DATA_DIR: dataDir });
    try {
      expect(second.logs()).toMatch(/conversations imported from the JSON files/);
      expect(fs.existsSync(`${dir}/index.json`)).toBe(false);
      expect(fs.existsSync(`${dir}/index.json.imported`)).toBe(true);
      expect(fs.existsSync(`${dir}/approvals.json.imported`)).toBe(true);
      expect(fs.existsSync(`${dir}/checkpoints.imported`)).toBe(true);
      const list = await json<{ threads: { id: string }[] }>(await second.request('/v1/threads', { token }));
      expect(list.threads.map((t) => t.id)).toEqual([a.thread_id]);
      const view = await json<{ messages: { role: string; content: string }[]; evidence: { id: string }[]; turns: number }>(
        await second.request(`/v1/threads/${a.thread_id}`, { token }),
      );
      expect(view.turns).toBe(1);
      expect(view.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(view.messages[1]!.content).toBe(a.answer);
      expect(view.evidence.map((e) => e.id)).toEqual(expect.arrayContaining(a.evidence.map((e) => e.id)));
      const next = await second.request(`/v1/threads/${a.thread_id}/messages`, {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: 'why do you think so?' }),
      });
      expect(next.status).toBe(200);
      expect(await json<{ turn: number }>(next)).toMatchObject({ turn: 2 });
      const approver = await second.token({ sub: 'bob', roles: ['approver'] });
      const decided = await second.request(`/v1/threads/${a.thread_id}/approvals/${approval.approval_id}`, {
        method: 'POST',
        token: approver,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      expect(decided.status).toBe(200);
      expect((await json<{ approval: { status: string } }>(decided)).approval.status).toBe('not_sent');
    } finally {
      await second.close();
    }
    // Once imported, never again.
    const again = await openSqliteConversations(dataDir);
    try {
      expect(again.imported).toEqual({ threads: 0, checkpoints: 0, approvals: 0 });
      expect((await again.threads.get(a.thread_id))?.turns).toBe(2);
    } finally {
      again.close();
    }
  });
});

interface Backend {
  checkpointer: BaseCheckpointSaver;
  threads: ThreadIndex;
  approvals: ApprovalStore;
  sweep(now: number): Promise<number>;
  /** Checkpoint rows the thread still has. */
  rows(threadId: string): Promise<number>;
  close(): Promise<void>;
}

const keep = { chatMs: 1 * DAY, alertMs: 2 * DAY };

/** Threads of several ages and kinds, one with a pending approval: what is listed, and what a sweep removes. */
async function retentionCase(b: Backend, workspace: string) {
  const now = Date.now();
  const graph = buildChatGraph(b.checkpointer);
  const evidence = (id: string): Evidence => ({
    id,
    tool: 'log_search',
    kind: 'logs',
    summary: `${'payment failed with a timeout while calling the bank '.repeat(20)}`,
    service: 'payment',
    numbers: { count: 12 },
    attributes: {},
    window: { from: new Date(now - 3_600_000).toISOString(), to: new Date(now).toISOString() },
    query_id: `q-${id}`,
  });
  const make = async (name: string, kind: ThreadRecord['kind'], ageMs: number) => {
    const at = new Date(now - ageMs).toISOString();
    const t: ThreadRecord = {
      id: `${workspace}-${name}`,
      workspace,
      owner: 'alice',
      title: name,
      kind,
      status: kind === 'alert' ? 'firing' : 'open',
      created_at: at,
      updated_at: at,
      turns: 1,
      last_path: 'deterministic',
      alert_key: kind === 'alert' ? `key-${name}` : null,
    };
    await b.threads.create(t);
    await graph.updateState(
      { configurable: { thread_id: t.id } },
      { messages: [{ role: 'user', content: name, at, turn: 1 }], evidence: [evidence(`${name}1`), evidence(`${name}2`)], turn: 1 },
      'respond',
    );
    return t.id;
  };
  const ids = {
    freshChat: await make('fresh-chat', 'chat', 2 * 3_600_000),
    oldChat: await make('old-chat', 'chat', 3 * DAY),
    youngAlert: await make('young-alert', 'alert', 1.5 * DAY),
    oldAlert: await make('old-alert', 'alert', 3 * DAY),
    waiting: await make('waiting', 'chat', 5 * DAY),
    decided: await make('decided', 'chat', 5 * DAY),
  };
  const approval = (id: string, thread: string, status: ApprovalRecord['status'], service: string): ApprovalRecord => ({
    approval_id: id,
    thread_id: thread,
    workspace,
    action: 'scale',
    params: { service, replicas: 3 },
    summary: 'scale',
    reason: 'test',
    evidence_ids: [],
    risk: 'medium',
    agent: 'sre',
    approvers: ['approver'],
    self_approval: false,
    requested_by: 'alice',
    requested: true,
    status,
    created_at: new Date(now - 5 * DAY).toISOString(),
    expires_at: new Date(now + DAY).toISOString(),
    idempotency_key: id,
  });
  await b.approvals.create(approval(`${workspace}-a1`, ids.waiting, 'pending', 'payment'));
  await b.approvals.create(approval(`${workspace}-a2`, ids.decided, 'rejected', 'checkout'));

  const listed = async () => (await b.threads.list({ workspace, limit: 100 })).map((t) => t.id).sort();
  const kept = [ids.freshChat, ids.youngAlert, ids.waiting].sort();
  // Expired threads leave listings at once, before any sweep.
  expect(await listed()).toEqual(kept);
  for (const id of Object.values(ids)) expect(await b.rows(id)).toBeGreaterThan(0);

  expect(await b.sweep(now)).toBeGreaterThanOrEqual(3);
  expect(await listed()).toEqual(kept);
  for (const id of [ids.oldChat, ids.oldAlert, ids.decided]) {
    expect(await b.threads.get(id)).toBeUndefined();
    expect(await b.rows(id)).toBe(0);
  }
  expect(await b.approvals.byThread(ids.decided)).toEqual([]);
  // Kept threads keep their state; the one waiting for approval is there until the approval is decided.
  const state = await graph.getState({ configurable: { thread_id: ids.waiting } });
  expect(state.values.evidence.map((e: Evidence) => e.id)).toEqual(['waiting1', 'waiting2']);
  await b.approvals.transition(`${workspace}-a1`, ['pending'], { status: 'expired' });
  expect(await listed()).toEqual([ids.freshChat, ids.youngAlert].sort());
  // The background sweeper runs one sweep as it starts.
  const sweeper = new RetentionSweeper(() => b.sweep(Date.now()), 3_600_000);
  sweeper.start();
  await sweeper.stop();
  expect(await b.threads.get(ids.waiting)).toBeUndefined();
  expect(await b.rows(ids.waiting)).toBe(0);
  expect(await b.rows(ids.freshChat)).toBeGreaterThan(0);
}

/** Pages of `limit` through a workspace's threads cover each thread once, newest change first. */
async function pagingCase(threads: ThreadIndex, workspace: string) {
  const base = Date.now() - 3_600_000;
  for (let i = 0; i < 45; i++) {
    // Pairs with the same time: the id orders them.
    const at = new Date(base + Math.floor(i / 2) * 1000).toISOString();
    await threads.create({
      id: `${workspace}-p${String(i).padStart(2, '0')}`,
      workspace,
      owner: i % 3 ? 'alice' : 'bob',
      title: `t${i}`,
      kind: 'chat',
      status: 'open',
      created_at: at,
      updated_at: at,
      turns: 0,
      last_path: null,
      alert_key: null,
    });
  }
  const all = await threads.list({ workspace, limit: 100 });
  const seen: string[] = [];
  let after: { updated_at: string; id: string } | undefined;
  for (;;) {
    const page = await threads.list({ workspace, limit: 20, ...(after ? { after } : {}) });
    seen.push(...page.map((t) => t.id));
    if (page.length < 20) break;
    after = page.at(-1)!;
  }
  expect(seen).toEqual(all.map((t) => t.id));
  expect(new Set(seen).size).toBe(45);
  expect(all[0]!.id).toBe(`${workspace}-p44`);
  const alice = await threads.list({ workspace, owner: 'alice', limit: 100 });
  expect(alice.every((t) => t.owner === 'alice')).toBe(true);
  expect(alice).toHaveLength(30);
}

async function sqliteBackend(): Promise<Backend & { paging: ThreadIndex }> {
  const c = await openSqliteConversations(tempDir(), keep);
  return {
    checkpointer: c.checkpointer,
    threads: c.threads,
    approvals: c.approvals,
    paging: c.threads,
    sweep: (now) => sweepSqlite(c, keep, now),
    rows: async (id) =>
      (
        c.db
          .prepare(
            `SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = ?) + (SELECT count(*) FROM writes WHERE thread_id = ?)
                  + (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = ?) AS n`,
          )
          .get(id, id, id) as { n: number }
      ).n,
    close: async () => c.close(),
  };
}

async function postgresBackend(url: string): Promise<Backend & { paging: ThreadIndex }> {
  const { openPostgres } = await import('../src/clients/postgres.ts');
  const { PostgresThreadIndex } = await import('../src/storage/threads.ts');
  const { PostgresApprovalStore } = await import('../src/storage/approvals.ts');
  const { PostgresSaver } = await import('@langchain/langgraph-checkpoint-postgres');
  const pool = openPostgres(url);
  const saver = new PostgresSaver(pool);
  await saver.setup();
  const threads = await PostgresThreadIndex.open(pool, keep);
  const approvals = await PostgresApprovalStore.open(pool);
  return {
    checkpointer: saver,
    threads,
    approvals,
    paging: threads,
    sweep: (now) => sweepPostgres(pool, saver, keep, now),
    rows: async (id) => {
      const r = await pool.query(
        `SELECT (SELECT count(*) FROM checkpoints WHERE thread_id = $1) + (SELECT count(*) FROM checkpoint_writes WHERE thread_id = $1)
              + (SELECT count(*) FROM checkpoint_blobs WHERE thread_id = $1) AS n`,
        [id],
      );
      return Number(r.rows[0].n);
    },
    close: () => pool.end(),
  };
}

describe('retention and paging: embedded SQLite store', () => {
  it('leaves expired threads out of listings and removes them with their checkpoints; a pending approval keeps its thread', async () => {
    const b = await sqliteBackend();
    try {
      await retentionCase(b, 'shop');
    } finally {
      await b.close();
    }
  });
  it('pages through threads by cursor', async () => {
    const b = await sqliteBackend();
    try {
      await pagingCase(b.paging, 'shop');
    } finally {
      await b.close();
    }
  });
  it('keeps a turn small: bulky items once, deflated, in a table beside the checkpoints', async () => {
    const dir = tempDir();
    const c = await openSqliteConversations(dir);
    try {
      const graph = buildChatGraph(c.checkpointer);
      const config = { configurable: { thread_id: randomUUID() } };
      const evidence = Array.from({ length: 40 }, (_, i) => ({
        id: `e${i}`,
        tool: 'log_search',
        kind: 'logs',
        summary: `error ${i} ${randomBytes(750).toString('hex')}`,
        numbers: {},
        attributes: {},
        window: { from: '2026-01-01T00:00:00.000Z', to: '2026-01-01T01:00:00.000Z' },
        query_id: `q${i}`,
      }));
      await graph.updateState(config, { evidence, turn: 1 }, 'respond');
      const once = c.checkpointer.storedBytes(String(config.configurable.thread_id));
      // Four more checkpoints holding the same evidence store a little each, not the evidence again.
      for (let turn = 2; turn <= 5; turn++) await graph.updateState(config, { turn }, 'respond');
      const after = c.checkpointer.storedBytes(String(config.configurable.thread_id));
      expect(after - once).toBeLessThan(once / 4);
      expect(once).toBeLessThan(40 * 1500);
      const state = await graph.getState(config);
      expect(state.values.evidence).toEqual(evidence);
      expect(state.values.turn).toBe(5);
      const rows = c.db.prepare('SELECT count(*) AS n FROM checkpoints WHERE thread_id = ?').get(config.configurable.thread_id) as {
        n: number;
      };
      expect(rows.n).toBe(3);
    } finally {
      c.close();
    }
    expect(fs.existsSync(conversationDbFile(dir))).toBe(true);
  });
});

describe('retention and paging: PostgreSQL', () => {
  const needPostgres = (ctx: { skip: (note: string) => void }) => {
    if (postgres) return postgres;
    if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
    ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
    return undefined;
  };
  it('leaves expired threads out of listings and removes them with their checkpoints; a pending approval keeps its thread', async (ctx) => {
    const url = needPostgres(ctx);
    if (!url) return;
    const b = await postgresBackend(url);
    try {
      await retentionCase(b, `ret-${randomUUID()}`);
    } finally {
      await b.close();
    }
  });
  it('pages through threads by cursor', async (ctx) => {
    const url = needPostgres(ctx);
    if (!url) return;
    const b = await postgresBackend(url);
    try {
      await pagingCase(b.paging, `page-${randomUUID()}`);
    } finally {
      await b.close();
    }
  });
});
