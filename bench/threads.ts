/**
 * Conversation storage at 1k, 10k and 100k stored threads: start time and
 * resident memory after start, GET /v1/threads latency, and what one chat
 * turn (a question, then a follow-up) stores and how long its writes take.
 * The threads are put straight into the store (copies of a real thread), each
 * size in a fresh process on a copy of one seeded data folder.
 *
 * With --postgres URL, also GET /v1/threads's query on PostgreSQL (PostgresThreadIndex) at the same
 * sizes, in a workspace of its own that is removed afterwards.
 *
 *   npm run bench:threads -- [--sizes 1000,10000,100000] [--quick] [--postgres postgres://…]
 *   npm run bench:threads -- --phase postgres --postgres postgres://…   (the PostgreSQL listing only)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchService, percentile, report, round } from './lib.ts';
import { seedDemo } from '../src/demo/seed.ts';

const { values: opts } = parseArgs({
  args: process.argv.slice(2),
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '1000,10000,100000' },
    phase: { type: 'string', default: 'main' },
    dir: { type: 'string', default: '' },
    count: { type: 'string', default: '0' },
    postgres: { type: 'string', default: '' },
  },
  strict: true,
});

const QUESTION = 'why are payments failing?';
const FOLLOW_UP = 'why do you think so?';
const self = new URL(import.meta.url).pathname;
const store = await import('./threads-store.ts');

/** Runs one phase in its own process (fresh memory, chDB bound to one folder); its last stdout line is the result. */
function phase(name: string, dir: string, count = 0): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, '--phase', name, '--dir', dir, '--count', String(count)], {
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC' },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`bench/threads.ts phase ${name} failed (${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );

/** Seeds the demo telemetry and answers one question: the thread every stored copy is made from. */
async function seed(dir: string) {
  const { service, token } = await benchService({ AIOPS_DATA_DIR: dir });
  await seedDemo(service.deps.store, service.deps.ingest, service.deps.config.TENANT_ATTRIBUTE, {
    scenario: 'payment-bad-deploy',
    seed: 7,
    hours: 1,
  });
  const sre = await token(['sre']);
  const res = await service.app.request('/v1/chat', {
    method: 'POST',
    headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: QUESTION }),
  });
  const answer = (await res.json()) as { thread_id: string };
  await service.close();
  return { template: answer.thread_id };
}

/** Starts the service on a folder holding `count` threads; lists, then answers a question and a follow-up. */
async function measure(dir: string) {
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  const { service, token } = await benchService({ AIOPS_DATA_DIR: dir });
  const startMs = performance.now() - started;
  gc?.();
  const rssMb = process.memoryUsage().rss / 2 ** 20;
  const sre = await token(['sre']);
  const get = async (url: string) => {
    const t = performance.now();
    const res = await service.app.request(url, { headers: { Authorization: `Bearer ${sre}` } });
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
    await res.json();
    return performance.now() - t;
  };
  const list = async (url: string) => {
    const ms: number[] = [];
    for (let i = 0; i < 25; i++) ms.push(await get(url));
    return { p50: round(median(ms), 2), max: round(Math.max(...ms), 2) };
  };
  const own = await list('/v1/threads?limit=20');
  const alerts = await list('/v1/threads?kind=alert&limit=20');
  const timing = store.instrument(service);
  const turn = async (message: string, threadId?: string) => {
    const res = await service.app.request(threadId ? `/v1/threads/${threadId}/messages` : '/v1/chat', {
      method: 'POST',
      headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    if (res.status !== 200) throw new Error(`turn: ${res.status} ${await res.text()}`);
    return (await res.json()) as { thread_id: string };
  };
  const first = await turn(QUESTION);
  const afterFirst = { bytes: await store.storedBytes(service, first.thread_id), ms: timing.take() };
  await turn(FOLLOW_UP, first.thread_id);
  const afterSecond = { bytes: await store.storedBytes(service, first.thread_id), ms: timing.take() };
  await service.close();
  return {
    start_ms: round(startMs),
    rss_mb_after_start: round(rssMb),
    list_own_ms: own,
    list_alerts_ms: alerts,
    turn1_stored_kb: round(afterFirst.bytes.stored / 1024),
    turn1_written_kb: round(afterFirst.bytes.written / 1024),
    turn1_write_ms: round(afterFirst.ms, 2),
    turn2_stored_kb: round((afterSecond.bytes.stored - afterFirst.bytes.stored) / 1024),
    turn2_written_kb: round((afterSecond.bytes.written - afterFirst.bytes.written) / 1024),
    turn2_write_ms: round(afterSecond.ms, 2),
  };
}

/** The thread index's listing on PostgreSQL with `size` threads in one workspace (1% the caller's, 10% alerts). */
async function postgresListing(url: string, sizes: number[]) {
  const { openPostgres } = await import('../src/clients/postgres.ts');
  const { PostgresThreadIndex } = await import('../src/storage/threads.ts');
  const { PostgresApprovalStore } = await import('../src/storage/approvals.ts');
  const pool = openPostgres(url);
  const keep = { chatMs: 90 * 86_400_000, alertMs: 180 * 86_400_000 };
  const index = await PostgresThreadIndex.open(pool, keep);
  await PostgresApprovalStore.open(pool);
  const workspace = `bench-${process.pid}-${Date.now()}`;
  const out: Record<string, unknown>[] = [];
  try {
    let have = 0;
    for (const size of sizes) {
      await pool.query(
        `INSERT INTO aiops_threads (id, workspace, owner, title, kind, status, created_at, updated_at, turns, last_path, alert_key)
         SELECT $1 || '-' || i, $1, CASE WHEN i % 100 = 0 THEN 'bench' ELSE 'user-' || (i % 500) END, 'a question',
                CASE WHEN i % 10 = 0 THEN 'alert' ELSE 'chat' END, 'open', now() - i * interval '1 second',
                now() - i * interval '1 second', 1, 'deterministic', NULL
         FROM generate_series($2::int, $3::int - 1) AS i`,
        [workspace, have, size],
      );
      have = size;
      await pool.query('ANALYZE aiops_threads');
      const time = async (q: Parameters<typeof index.list>[0]) => {
        const ms: number[] = [];
        for (let i = 0; i < 25; i++) {
          const t = performance.now();
          await index.list(q);
          ms.push(performance.now() - t);
        }
        return { p50: round(median(ms), 2), max: round(Math.max(...ms), 2) };
      };
      const first = await index.list({ workspace, owner: 'bench', limit: 21 });
      out.push({
        threads: size,
        list_own_ms: await time({ workspace, owner: 'bench', limit: 21 }),
        list_own_next_page_ms: await time({ workspace, owner: 'bench', limit: 21, after: first.at(-1)! }),
        list_alerts_ms: await time({ workspace, kind: 'alert', limit: 21 }),
      });
    }
  } finally {
    await pool.query('DELETE FROM aiops_threads WHERE workspace = $1', [workspace]);
    await pool.end();
  }
  return out;
}

if (opts.phase === 'seed') {
  process.stdout.write(`${JSON.stringify(await seed(opts.dir))}\n`);
  process.exit(0);
} else if (opts.phase === 'postgres') {
  // Only the PostgreSQL listing (no service): --phase postgres --postgres URL [--sizes …].
  const sizes = opts.quick ? [200, 1000] : opts.sizes.split(',').map(Number);
  report('threads', { quick: opts.quick, store: 'postgres', postgres: await postgresListing(opts.postgres, sizes) });
} else if (opts.phase === 'measure') {
  process.stdout.write(`${JSON.stringify(await measure(opts.dir))}\n`);
  process.exit(0);
} else {
  const sizes = opts.quick ? [200, 1000] : opts.sizes.split(',').map(Number);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-threads-'));
  const base = path.join(root, 'base');
  const { template } = phase('seed', base) as { template: string };
  const results: Record<string, unknown>[] = [];
  try {
    for (const size of sizes) {
      const dir = path.join(root, `n${size}`);
      fs.cpSync(base, dir, { recursive: true });
      const fillStarted = performance.now();
      await store.fill(dir, String(template), size);
      const fillMs = performance.now() - fillStarted;
      results.push({ threads: size, fill_ms: round(fillMs), ...phase('measure', dir, size) });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const postgres = opts.postgres ? await postgresListing(opts.postgres, sizes) : undefined;
  report('threads', { quick: opts.quick, store: store.kind, results, ...(postgres ? { postgres } : {}) });
}
