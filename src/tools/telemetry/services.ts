import { readRows, type Store } from '../../clients/clickhouse.ts';
import { IN_WORKSPACE } from '../run.ts';

/** Per store (a process may open several, e.g. in tests), per workspace. */
const caches = new WeakMap<Store, Map<string, { at: number; services: string[] }>>();
const TTL_MS = 60_000;

/** Services seen in a workspace's telemetry over the last week, the longest window a question may name (cached for a minute). */
export async function knownServices(store: Store, workspace: string, tenantAttribute: string, now = Date.now()): Promise<string[]> {
  let cache = caches.get(store);
  if (!cache) {
    cache = new Map();
    caches.set(store, cache);
  }
  const hit = cache.get(workspace);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.services;
  const rows = await readRows<{ s: string }>(store, {
    query: `SELECT DISTINCT ServiceName AS s FROM otel_traces
            WHERE ${IN_WORKSPACE} AND Timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND ServiceName != ''
            UNION DISTINCT
            SELECT DISTINCT ServiceName AS s FROM otel_metrics_gauge
            WHERE ${IN_WORKSPACE} AND TimeUnix >= fromUnixTimestamp64Milli({from:Int64}) AND ServiceName != ''`,
    params: { tenant_attribute: tenantAttribute, workspace, from: now - 7 * 24 * 3600_000 },
  });
  const services = rows.map((r) => r.s).sort();
  cache.set(workspace, { at: Date.now(), services });
  return services;
}
