import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readRows, type Store } from '../src/clients/clickhouse.ts';
import { json, startTestService, tempDir, type TestService } from './helpers/service.ts';
import { logRecord, logsPayload, metricsPayload, nanos } from './helpers/otlp.ts';

const postgres = process.env.AIOPS_TEST_POSTGRES_URL;
const requirePostgres = process.env.AIOPS_REQUIRE_POSTGRES === '1';

const T0 = Date.now() - 5 * 60_000;
const unique = () => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

function poster(svc: TestService, token: string) {
  return (path: string, body: string) =>
    svc.request(path, { method: 'POST', token, headers: { 'Content-Type': 'application/json' }, body });
}

const count = async (store: Store, table: string, service: string) =>
  Number(
    (
      await readRows<{ n: number }>(store, {
        query: 'SELECT count() AS n FROM {t:Identifier} WHERE ServiceName = {s:String}',
        params: { t: table, s: service },
      })
    )[0]!.n,
  );

/** Makes every INSERT into `table` fail as an unreachable store would, until the returned function is called. */
function failInserts(store: Store, table: string): () => void {
  const spies = [...new Set(store.inserters)].map((client) => {
    const exec = client.exec.bind(client);
    return vi.spyOn(client, 'exec').mockImplementation(async (params) => {
      if (params.query.includes(`\`${table}\``)) throw Object.assign(new Error('injected: connection reset'), { code: 'ECONNRESET' });
      return exec(params);
    });
  });
  return () => {
    for (const s of spies) s.mockRestore();
  };
}

describe('OTLP requests are written once (embedded store)', () => {
  const dataDir = tempDir();
  let svc: TestService;
  let post: ReturnType<typeof poster>;

  beforeAll(async () => {
    svc = await startTestService({ AIOPS_DATA_DIR: dataDir });
    post = poster(svc, await svc.token({ roles: ['ingest'] }));
  });
  afterAll(() => svc.close());

  it('writes 20 identical requests sent at once once, and answers all 20 alike', async () => {
    const service = `burst-${unique()}`;
    const body = JSON.stringify(
      logsPayload({ 'service.name': service }, [
        logRecord(T0, 'one'),
        logRecord(T0 + 1, 'two'),
        logRecord(T0 + 2, 'bad', { traceId: 'not-hex' }),
      ]),
    );
    const answers = await Promise.all(Array.from({ length: 20 }, () => post('/v1/logs', body)));
    const texts = await Promise.all(answers.map((r) => r.text()));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(texts).size).toBe(1);
    expect(JSON.parse(texts[0]!)).toMatchObject({ partialSuccess: { rejectedLogRecords: '1' } });
    expect(await count(svc.service.deps.store, 'otel_logs', service)).toBe(2);
  });

  it('answers duplicates waiting on a failed write with its failure, keeps what was written, and lets a retry write the rest', async () => {
    const service = `flaky-${unique()}`;
    const body = JSON.stringify(
      metricsPayload({ 'service.name': service }, [
        { name: 'cpu', gauge: { dataPoints: [{ timeUnixNano: nanos(T0), asDouble: 0.5 }] } },
        { name: 'requests', sum: { isMonotonic: true, dataPoints: [{ timeUnixNano: nanos(T0), asInt: '7' }] } },
      ]),
    );
    const store = svc.service.deps.store;
    const restore = failInserts(store, 'otel_metrics_sum');
    let failed: Response[];
    try {
      failed = await Promise.all(Array.from({ length: 5 }, () => post('/v1/metrics', body)));
    } finally {
      restore();
    }
    expect(failed.map((r) => r.status)).toEqual(Array(5).fill(503));
    expect(await count(store, 'otel_metrics_gauge', service)).toBe(1);
    expect(await count(store, 'otel_metrics_sum', service)).toBe(0);

    // The claim was given up: the retry writes the table that failed, and only that one.
    expect((await post('/v1/metrics', body)).status).toBe(200);
    expect((await post('/v1/metrics', body)).status).toBe(200);
    expect(await count(store, 'otel_metrics_gauge', service)).toBe(1);
    expect(await count(store, 'otel_metrics_sum', service)).toBe(1);
  });

  it('still refuses to write a body again after a restart on the same data folder', async () => {
    const service = `restart-${unique()}`;
    const body = JSON.stringify(logsPayload({ 'service.name': service }, [logRecord(T0, 'before the restart')]));
    expect((await post('/v1/logs', body)).status).toBe(200);
    await svc.close();

    svc = await startTestService({ AIOPS_DATA_DIR: dataDir });
    post = poster(svc, await svc.token({ roles: ['ingest'] }));
    const again = await post('/v1/logs', body);
    expect(again.status).toBe(200);
    expect(await json(again)).toEqual({});
    expect(await count(svc.service.deps.store, 'otel_logs', service)).toBe(1);
    // A new body is still written after the restart.
    const other = JSON.stringify(logsPayload({ 'service.name': service }, [logRecord(T0, 'after the restart')]));
    expect((await post('/v1/logs', other)).status).toBe(200);
    expect(await count(svc.service.deps.store, 'otel_logs', service)).toBe(2);
  });
});

describe('OTLP request keys in PostgreSQL (several replicas)', () => {
  const skipUnlessPostgres = (ctx: { skip: (note: string) => void }) => {
    if (postgres) return false;
    if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
    ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
    return true;
  };

  it('lets one replica write a key while the other waits for it, and a failed write be retried by the other', async (ctx) => {
    if (skipUnlessPostgres(ctx)) return;
    const { IngestClaims } = await import('../src/storage/ingest-claims.ts');
    const { openPostgres } = await import('../src/clients/postgres.ts');
    // Two replicas: each its own pool, as two processes would have.
    const pools = [openPostgres(postgres!), openPostgres(postgres!)] as const;
    try {
      const [a, b] = await Promise.all([IngestClaims.postgres(pools[0], 3_600_000), IngestClaims.postgres(pools[1], 3_600_000)]);
      const calls: string[] = [];
      /** A write that records itself and finishes when told to. */
      const held = (name: string, outcome: (pending: string[]) => { written: string[]; error?: unknown }) => {
        let started!: () => void;
        let finish!: () => void;
        const running = new Promise<void>((r) => (started = r));
        const go = new Promise<void>((r) => (finish = r));
        const write = async (pending: string[]) => {
          calls.push(`${name}:${pending.join(',')}`);
          started();
          await go;
          return outcome(pending);
        };
        return { write, running, finish };
      };
      const free = (name: string) => async (pending: string[]) => {
        calls.push(`${name}:${pending.join(',')}`);
        return { written: pending };
      };

      // Success: b waits in PostgreSQL for a's write, then finds the key written.
      const k1 = `test-${unique()}`;
      const first = held('a', (pending) => ({ written: pending }));
      const aDone = a.once(k1, ['otel_logs'], first.write);
      await first.running;
      const bDone = b.once(k1, ['otel_logs'], free('b'));
      await new Promise((r) => setTimeout(r, 300));
      expect(calls).toEqual(['a:otel_logs']);
      first.finish();
      await Promise.all([aDone, bDone]);
      expect(calls).toEqual(['a:otel_logs']);

      // Failure part-way: a wrote one table of two; b, waiting, writes only the other.
      calls.length = 0;
      const k2 = `test-${unique()}`;
      const failing = held('a', () => ({ written: ['otel_metrics_gauge'], error: new Error('sum failed') }));
      const aFailed = a.once(k2, ['otel_metrics_gauge', 'otel_metrics_sum'], failing.write);
      await failing.running;
      const bRetry = b.once(k2, ['otel_metrics_gauge', 'otel_metrics_sum'], free('b'));
      failing.finish();
      await expect(aFailed).rejects.toThrow('sum failed');
      await bRetry;
      expect(calls).toEqual(['a:otel_metrics_gauge,otel_metrics_sum', 'b:otel_metrics_sum']);

      // A replica started later (or a's restart) knows both keys.
      calls.length = 0;
      const c = await IngestClaims.postgres(pools[0], 3_600_000);
      await c.once(k1, ['otel_logs'], free('c'));
      await c.once(k2, ['otel_metrics_gauge', 'otel_metrics_sum'], free('c'));
      expect(calls).toEqual([]);
      await Promise.all([a.close(), b.close(), c.close()]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('a service with POSTGRES_URL writes a burst once, and another replica refuses the same body', async (ctx) => {
    if (skipUnlessPostgres(ctx)) return;
    const service = `replicas-${unique()}`;
    const body = JSON.stringify(logsPayload({ 'service.name': service }, [logRecord(T0, 'x'), logRecord(T0 + 1, 'y')]));
    const one = await startTestService({ POSTGRES_URL: postgres! });
    try {
      const post = poster(one, await one.token({ roles: ['ingest'] }));
      const answers = await Promise.all(Array.from({ length: 20 }, () => post('/v1/logs', body)));
      expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(await count(one.service.deps.store, 'otel_logs', service)).toBe(2);
    } finally {
      await one.close();
    }
    // Another replica (its own store here, PostgreSQL shared): the key is known, nothing is written.
    const two = await startTestService({ POSTGRES_URL: postgres! });
    try {
      const post = poster(two, await two.token({ roles: ['ingest'] }));
      expect((await post('/v1/logs', body)).status).toBe(200);
      expect(await count(two.service.deps.store, 'otel_logs', service)).toBe(0);
    } finally {
      await two.close();
    }
  });
});
