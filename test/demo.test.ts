import { describe, expect, it } from 'vitest';
import { readRows } from '../src/clients/clickhouse.ts';
import { json, startTestService, tempDir } from './helpers/service.ts';

const MIN = 60_000;

describe('demo data lifecycle', () => {
  const dataDir = tempDir();
  const env = { AIOPS_DATA_DIR: dataDir, AIOPS_DEMO: 'live', AIOPS_DEMO_HOURS: '0.5' };

  it('seeds an empty store at start and replaces the window on request', async () => {
    const svc = await startTestService(env);
    try {
      expect(svc.service.deps.demo?.status).toBe('ready');
      const token = await svc.token({ roles: ['ingest', 'sre'], workspaces: ['shop', 'analytics'] });
      const end = new Date(Math.floor(Date.now() / MIN) * MIN - 20 * MIN).toISOString();
      const res = await svc.request('/v1/demo/seed', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ scenario: 'currency-cpu-starvation', seed: 11, hours: 0.5, end }),
      });
      expect(res.status).toBe(200);
      const seeded = await json<{ window: { end: string }; groundTruth: { rootService: string }; records: { spans: number } }>(res);
      expect(seeded.window.end).toBe(end);
      expect(seeded.groundTruth.rootService).toBe('currency');
      const state = await json<{ workspaces: { workspace: string; scenario: string; ground_truth: { rootService: string } }[] }>(
        await svc.request('/v1/demo/state', { token, headers: { 'X-Workspace': 'shop' } }),
      );
      expect(state.workspaces.map((w) => [w.workspace, w.scenario])).toEqual([
        ['analytics', 'none'],
        ['shop', 'currency-cpu-starvation'],
      ]);
      // The earlier window is gone: nothing newer than the new end.
      const [after] = await readRows<{ n: number }>(svc.service.deps.store, {
        query: 'SELECT count() AS n FROM otel_traces WHERE Timestamp > parseDateTime64BestEffort({end:String}, 9) + INTERVAL 2 MINUTE',
        params: { end },
      });
      expect(Number(after!.n)).toBe(0);
    } finally {
      await svc.close();
    }
  });

  it('after a restart, is ready at once and fills the minutes it missed', async () => {
    const started = Date.now();
    const svc = await startTestService(env);
    try {
      expect(Date.now() - started).toBeLessThan(5000);
      expect(svc.service.deps.demo?.status).toBe('ready');
      const store = svc.service.deps.store;
      const recent = async () =>
        Number(
          (
            await readRows<{ n: number }>(store, {
              // The service's clock, not the engine's: AIOPS_TEST_NOW may have moved it.
              query:
                "SELECT count() AS n FROM otel_traces WHERE Timestamp > fromUnixTimestamp64Milli({since:Int64}) AND ResourceAttributes['k8s.namespace.name'] = 'shop'",
              params: { since: Date.now() - 10 * 60_000 },
            })
          )[0]!.n,
        );
      const deadline = Date.now() + 30_000;
      while ((await recent()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(await recent()).toBeGreaterThan(100);
    } finally {
      await svc.close();
    }
  });
});
