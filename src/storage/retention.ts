import { command, readRows, type Store } from '../clients/clickhouse.ts';
import { parseDuration } from '../core/duration.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import { TELEMETRY_TABLES } from './migrations.ts';

type TelemetryTable = (typeof TELEMETRY_TABLES)[number];

const UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
type Unit = (typeof UNITS)[number];

/** A table's row TTL: rows go once `expression + amount unit` is past. */
export interface Ttl {
  /** The time the TTL counts from, as the table states it (`TimestampTime`, `toDate(Timestamp)`). */
  expression: string;
  amount: number;
  unit: Unit;
}

/** Retention of each telemetry table as the table itself states it; undefined: no TTL, rows are kept. */
export type TelemetryRetention = Map<string, Ttl | undefined>;

const UNIT_SECONDS: Partial<Record<Unit, number>> = { second: 1, minute: 60, hour: 3600, day: 86_400, week: 604_800 };
const MONTHS: Partial<Record<Unit, number>> = { month: 1, quarter: 3, year: 12 };
const DAY_MS = 86_400_000;

/**
 * The row TTL in a table's `engine_full` (`… TTL TimestampTime + toIntervalDay(180) SETTINGS …`).
 * Only unconditional delete rules count: moves (TO DISK, TO VOLUME), recompression, rollups and
 * `DELETE WHERE` keep or reshape rows. With several delete rules the shortest wins.
 */
export function parseTtl(engineFull: string): Ttl | undefined {
  const start = engineFull.search(/\sTTL\s/);
  if (start < 0) return undefined;
  const rest = engineFull.slice(start).replace(/^\s*TTL\s+/, '');
  const end = rest.search(/\sSETTINGS\s/);
  const clause = end < 0 ? rest : rest.slice(0, end);
  let best: Ttl | undefined;
  for (const raw of splitTopLevel(clause)) {
    const rule = raw.trim().replace(/\s+DELETE$/i, '');
    if (/\s(TO\s+DISK|TO\s+VOLUME|RECOMPRESS|GROUP\s+BY|WHERE|DELETE)\s/i.test(` ${rule} `)) continue;
    const ttl = parseRule(rule);
    if (ttl && (!best || approxSeconds(ttl) < approxSeconds(best))) best = ttl;
  }
  return best;
}

function parseRule(rule: string): Ttl | undefined {
  const fn = /^(.+?)\s*\+\s*toInterval(Second|Minute|Hour|Day|Week|Month|Quarter|Year)\((\d+)\)$/.exec(rule);
  if (fn) return { expression: fn[1]!.trim(), amount: Number(fn[3]), unit: fn[2]!.toLowerCase() as Unit };
  const kw = /^(.+?)\s*\+\s*INTERVAL\s+(\d+)\s+(SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)$/i.exec(rule);
  if (kw) return { expression: kw[1]!.trim(), amount: Number(kw[2]), unit: kw[3]!.toLowerCase() as Unit };
  return undefined;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

const approxSeconds = (t: Ttl) => t.amount * (UNIT_SECONDS[t.unit] ?? (MONTHS[t.unit] ?? 0) * 30 * 86_400);

/** "180-day", "72-hour": how a message names the retention. */
export function ttlLabel(t: Ttl): string {
  return `${t.amount}-${t.unit}`;
}

/**
 * The earliest record time (epoch ms) the table keeps at `now`: older rows are already past the TTL.
 * A TTL that counts from the start of the day (`toDate(…)`, `toStartOfDay(…)`) drops a record with
 * the rest of its day, so the bound is the start of the day after the plain cut-off.
 */
export function oldestKept(t: Ttl, now: number): number {
  const seconds = UNIT_SECONDS[t.unit];
  let cutoff: number;
  if (seconds !== undefined) cutoff = now - t.amount * seconds * 1000;
  else {
    const d = new Date(now);
    d.setUTCMonth(d.getUTCMonth() - t.amount * (MONTHS[t.unit] ?? 1));
    cutoff = d.getTime();
  }
  if (/^(toDate|toStartOfDay)\s*\(/i.test(t.expression)) return Math.floor(cutoff / DAY_MS) * DAY_MS + DAY_MS;
  // Whole seconds: toDateTime(…) and DateTime columns drop the fraction before the TTL applies.
  return Math.floor(cutoff / 1000) * 1000 + 1000;
}

async function readTtls(store: Store, tables: readonly string[]): Promise<Map<string, Ttl | undefined>> {
  const rows = await readRows<{ name: string; engine_full: string }>(store, {
    query: 'SELECT name, engine_full FROM system.tables WHERE database = currentDatabase() AND name IN {tables:Array(String)}',
    params: { tables: [...tables] },
  });
  const out = new Map<string, Ttl | undefined>();
  for (const r of rows) out.set(r.name, parseTtl(r.engine_full) ?? (await distributedTtl(store, r.engine_full)));
  return out;
}

/** A Distributed table keeps no rows itself: its TTL is the one of the local table it routes to. */
async function distributedTtl(store: Store, engineFull: string): Promise<Ttl | undefined> {
  const m = /^Distributed\(\s*'?[^,']*'?\s*,\s*'?([^,']*)'?\s*,\s*'?([^,')]*)'?/.exec(engineFull);
  if (!m) return undefined;
  const [row] = await readRows<{ engine_full: string }>(store, {
    query:
      "SELECT engine_full FROM system.tables WHERE database = if({db:String} = '' OR {db:String} = 'currentDatabase()', currentDatabase(), {db:String}) AND name = {t:String}",
    params: { db: m[1]!.trim(), t: m[2]!.trim() },
  });
  return row ? parseTtl(row.engine_full) : undefined;
}

/** The retention each telemetry table has now (read after `applyRetention`, so it holds in both modes). */
export async function readTelemetryRetention(store: Store): Promise<TelemetryRetention> {
  const ttls = await readTtls(store, TELEMETRY_TABLES);
  return new Map(TELEMETRY_TABLES.map((t) => [t, ttls.get(t)]));
}

/** The time each table's TTL counts from, when the table has none yet (the service's own DDL). */
const DEFAULT_EXPRESSION: Record<string, string> = {
  otel_logs: 'TimestampTime',
  otel_traces: 'toDate(Timestamp)',
  otel_traces_trace_id_ts: 'toDate(Start)',
  otel_metrics_gauge: 'toDateTime(TimeUnix)',
  otel_metrics_sum: 'toDateTime(TimeUnix)',
  otel_metrics_histogram: 'toDateTime(TimeUnix)',
  aiops_wide_events: 'toDateTime(timestamp)',
  aiops_ingest_keys: 'toDateTime(at)',
};

/** A time expression read back from the table goes into DDL: only plain column and function text. */
const SAFE_EXPRESSION = /^[A-Za-z0-9_().`" ]+$/;

/** What each table the service owns should keep, from retention.yaml. */
function wantedTtls(policy: Policies['retention'], embedded: boolean): Map<string, { amount: number; unit: Unit }> {
  const want = new Map<string, { amount: number; unit: Unit }>();
  if (embedded) {
    const days = (t: TelemetryTable) => ({ amount: policy.telemetry.tables[t] ?? policy.telemetry.days, unit: 'day' as const });
    for (const t of TELEMETRY_TABLES) want.set(t, days(t));
    want.set('otel_traces_trace_id_ts', days('otel_traces'));
  }
  want.set('aiops_wide_events', { amount: policy.wide_events.days, unit: 'day' });
  const windowMs = parseDuration(policy.ingest_dedup.window) ?? 3_600_000;
  want.set('aiops_ingest_keys', { amount: Math.max(1, Math.ceil(windowMs / 1000)), unit: 'second' });
  return want;
}

/**
 * Gives the tables the service owns the TTL retention.yaml asks for, with ALTER TABLE … MODIFY TTL
 * when it differs: its own tables always, the otel_* tables only in the embedded store. On a
 * ClickHouse server the exporter made those tables and their TTL is the exporter's `ttl` setting,
 * so the service leaves it alone and reads it instead.
 */
export async function applyRetention(store: Store, policy: Policies['retention'], logger?: Logger): Promise<void> {
  const want = wantedTtls(policy, store.kind === 'embedded');
  const have = await readTtls(store, [...want.keys()]);
  for (const [table, w] of want) {
    if (!have.has(table)) continue;
    const current = have.get(table);
    if (current && approxSeconds(current) === approxSeconds({ ...current, ...w })) continue;
    const expression = current && SAFE_EXPRESSION.test(current.expression) ? current.expression : DEFAULT_EXPRESSION[table];
    if (!expression) continue;
    const unit = w.unit.charAt(0).toUpperCase() + w.unit.slice(1);
    await command(store, `ALTER TABLE {table:Identifier} MODIFY TTL ${expression} + toInterval${unit}(${w.amount})`, { table });
    logger?.info({ table, from: current ? ttlLabel(current) : 'none', to: `${w.amount}-${w.unit}` }, 'table retention changed');
  }
}
