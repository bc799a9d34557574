import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startTestService, type TestService } from './helpers/service.ts';
import { BriefingScheduler, lastSlot, nextSlot } from '../src/briefings/scheduler.ts';
import { ClickHouseSlotLease, PostgresSlotLease, type SlotLease } from '../src/storage/briefings.ts';
import { loadPolicies } from '../src/policies/load.ts';
import { openPostgres } from '../src/clients/postgres.ts';

const postgres = process.env.AIOPS_TEST_POSTGRES_URL;
const requirePostgres = process.env.AIOPS_REQUIRE_POSTGRES === '1';
const MIN = 60_000;

let svc: TestService;
let policiesDir: string;

beforeAll(async () => {
  policiesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-briefing-policies-'));
  for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(policiesDir, f));
  fs.writeFileSync(
    path.join(policiesDir, 'briefings.yaml'),
    stringify({
      // The service's own scheduler stays off: the tests drive scheduler instances themselves.
      scheduler: false,
      workspaces: {
        shop: [
          { name: 'every-twenty', schedule: { every: '20m' } },
          { name: 'replicas', schedule: { every: '20m' } },
          { name: 'postgres', schedule: { every: '20m' } },
          { name: 'hourly', schedule: { cron: '5 * * * *' }, period: '30m' },
        ],
      },
    }),
  );
  svc = await startTestService({ AIOPS_POLICIES_DIR: policiesDir });
}, 600_000);
afterAll(() => svc?.close());

const policy = () => ({ ...loadPolicies(policiesDir).briefings, scheduler: true });
const schedule = (name: string) => policy().workspaces.shop!.find((s) => s.name === name)!;

/** A replica's scheduler; `only` limits it to some schedules (the others' briefings belong to other tests). */
function scheduler(owner: string, lease: SlotLease, now?: () => number, only?: string[]) {
  const p = policy();
  if (only) p.workspaces = { shop: p.workspaces.shop!.filter((s) => only.includes(s.name)) };
  return new BriefingScheduler(svc.service.deps.briefings, p, lease, svc.service.deps.logger, { owner, ...(now ? { now } : {}) });
}

describe('slots', () => {
  it('follow an interval from midnight UTC, or a cron expression in UTC', () => {
    const at = Date.parse('2026-11-28T12:47:10Z');
    expect(new Date(lastSlot(schedule('every-twenty'), at)!).toISOString()).toBe('2026-11-28T12:40:00.000Z');
    expect(new Date(nextSlot(schedule('every-twenty'), at)!).toISOString()).toBe('2026-11-28T13:00:00.000Z');
    expect(new Date(lastSlot(schedule('hourly'), at)!).toISOString()).toBe('2026-11-28T12:05:00.000Z');
    expect(new Date(lastSlot(schedule('hourly'), Date.parse('2026-11-28T12:05:00Z'))!).toISOString()).toBe('2026-11-28T12:05:00.000Z');
    expect(new Date(nextSlot(schedule('hourly'), at)!).toISOString()).toBe('2026-11-28T13:05:00.000Z');
  });
});

describe('two replicas on one shared store', () => {
  it('run each slot once (ClickHouse lease)', async () => {
    const lease = new ClickHouseSlotLease(svc.service.deps.store);
    const [a, b] = [scheduler('replica-a', lease), scheduler('replica-b', lease)];
    const slot = lastSlot(schedule('replicas'), Date.now())!;
    const ran = await Promise.all([a.fire('shop', schedule('replicas'), slot), b.fire('shop', schedule('replicas'), slot)]);
    expect(ran.filter(Boolean)).toHaveLength(1);
    // A replica that comes late to the slot does not run it either.
    expect(await scheduler('replica-c', lease).fire('shop', schedule('replicas'), slot)).toBe(false);
    const list = await svc.service.deps.briefings.list('shop', { name: 'replicas', limit: 10 });
    expect(list).toHaveLength(1);
    expect(list[0]!.period).toEqual({ start: new Date(slot - 20 * MIN).toISOString(), end: new Date(slot).toISOString() });
  });

  it('run each slot once (PostgreSQL lease)', async (ctx) => {
    if (!postgres) {
      if (requirePostgres) throw new Error('AIOPS_TEST_POSTGRES_URL is not set, and AIOPS_REQUIRE_POSTGRES=1 makes that a failure');
      ctx.skip('set AIOPS_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run against PostgreSQL');
      return;
    }
    const [poolA, poolB] = [openPostgres(postgres, 2), openPostgres(postgres, 2)];
    try {
      const [leaseA, leaseB] = await Promise.all([PostgresSlotLease.open(poolA), PostgresSlotLease.open(poolB)]);
      // A slot no earlier run of this test claimed: the table outlives the test.
      const slot = lastSlot(schedule('postgres'), Date.now())! - Math.floor(Math.random() * 1000) * 20 * MIN;
      const ran = await Promise.all([
        scheduler('pg-a', leaseA).fire('shop', schedule('postgres'), slot),
        scheduler('pg-b', leaseB).fire('shop', schedule('postgres'), slot),
      ]);
      expect(ran.filter(Boolean)).toHaveLength(1);
    } finally {
      await Promise.all([poolA.end(), poolB.end()]);
    }
  });
});

describe('a restart after missed slots', () => {
  it('catches up once, for the latest slot only', async () => {
    const lease = new ClickHouseSlotLease(svc.service.deps.store);
    const s = schedule('every-twenty');
    const now = Date.now();
    const latest = lastSlot(s, now)!;
    // The last briefing before the "downtime" was four slots ago.
    expect(await scheduler('before', lease).fire('shop', s, latest - 4 * 20 * MIN)).toBe(true);
    const restarted = scheduler('after', lease, () => now, ['every-twenty', 'hourly']);
    expect(await restarted.catchUp()).toBe(1);
    expect(await restarted.catchUp()).toBe(0);
    const list = await svc.service.deps.briefings.list('shop', { name: 'every-twenty', limit: 10 });
    expect(list.map((b) => b.period.end)).toEqual([new Date(latest).toISOString(), new Date(latest - 4 * 20 * MIN).toISOString()]);
    // A schedule that never ran has missed nothing.
    expect(await svc.service.deps.briefings.latestEnd('shop', 'hourly')).toBeUndefined();
  });
});
