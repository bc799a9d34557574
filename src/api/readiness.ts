import net from 'node:net';
import type { Store } from '../clients/clickhouse.ts';
import type { DemoController } from '../demo/controller.ts';

type CheckStatus = 'ok' | 'down' | 'not configured' | 'seeding' | 'starting' | 'failed' | 'off';

export interface Check {
  status: CheckStatus;
  required: boolean;
  detail?: string;
}

interface OptionalDependency {
  name: string;
  url?: string;
  /** HTTP path answering 2xx when healthy; without it a TCP connect is the probe. */
  probePath?: string;
}

const TIMEOUT_MS = 1500;
const CACHE_MS = 5000;

/** What readiness reads of the store and the demo: a ping, and the seed's progress. */
type Pingable = { reader: Pick<Store['reader'], 'ping'> };
type DemoProgress = Pick<DemoController, 'status' | 'lastError'>;

/**
 * Not ready only while work that ends by itself is under way (the first demo seed): an expected
 * state, logged as such, where a required dependency that is down is a failure.
 */
export function onlyWaiting(checks: Record<string, Check>): boolean {
  const failing = Object.values(checks).filter((c) => c.required && c.status !== 'ok');
  return failing.length > 0 && failing.every((c) => c.status === 'seeding' || c.status === 'starting');
}

/** /readyz: ClickHouse (and the first demo seed) are required; the rest are reported by name. */
export class Readiness {
  private cache: { at: number; value: Promise<Record<string, Check>> } | undefined;

  constructor(
    private readonly store: Pingable,
    private readonly optional: OptionalDependency[],
    private readonly demo?: DemoProgress,
  ) {}

  async check(): Promise<{ ready: boolean; checks: Record<string, Check> }> {
    const checks: Record<string, Check> = {};
    checks.clickhouse = await this.clickhouse();
    if (this.demo) {
      const s = this.demo.status;
      checks.demo = {
        status: s === 'ready' ? 'ok' : s,
        required: s === 'seeding' || s === 'starting',
        ...(this.demo.lastError ? { detail: this.demo.lastError } : {}),
      };
    }
    Object.assign(checks, await this.optionalChecks());
    const ready = Object.values(checks).every((c) => !c.required || c.status === 'ok');
    return { ready, checks };
  }

  private async clickhouse(): Promise<Check> {
    try {
      const ping = await withTimeout(this.store.reader.ping(), TIMEOUT_MS);
      return ping.success ? { status: 'ok', required: true } : { status: 'down', required: true, detail: ping.error.message };
    } catch (err) {
      return { status: 'down', required: true, detail: (err as Error).message };
    }
  }

  private optionalChecks(): Promise<Record<string, Check>> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > CACHE_MS) {
      this.cache = {
        at: now,
        value: Promise.all(this.optional.map(async (d) => [d.name, await probe(d)] as const)).then(Object.fromEntries),
      };
    }
    return this.cache.value;
  }
}

async function probe(d: OptionalDependency): Promise<Check> {
  if (!d.url) return { status: 'not configured', required: false };
  try {
    if (d.probePath) {
      const res = await fetch(new URL(d.probePath, d.url), { signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      return res.ok ? { status: 'ok', required: false } : { status: 'down', required: false, detail: `HTTP ${res.status}` };
    }
    const u = new URL(d.url);
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : u.protocol.startsWith('postgres') ? 5432 : 80));
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const s = net.connect({ host: u.hostname, port }, () => {
          s.end();
          resolve();
        });
        s.once('error', reject);
      }),
      TIMEOUT_MS,
    );
    return { status: 'ok', required: false };
  } catch (err) {
    return { status: 'down', required: false, detail: (err as Error).message };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
