import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { Fact, FactSink } from '../observability/facts.ts';
import { readRows, type Store } from '../clients/clickhouse.ts';
import { GroupCommitWriter } from './group-commit.ts';
import { auditEntryOf } from './audit.ts';

const TABLE = 'aiops_request_facts';
const COLUMNS = ['timestamp', 'seq', 'workspace', 'tracking_id', 'kind', 'name', 'status', 'duration_ms', 'attributes', 'numbers'];
/** Above this many rows waiting, new facts are dropped and counted (a store that is down must not eat the memory). */
const MAX_PENDING = 200_000;

/**
 * Writes every fact (unsampled) through the group-commit writer: facts that
 * arrive together (one request's nodes, tools and model calls) go in one
 * INSERT, taken off the event loop's current turn so recording never waits.
 */
export class RequestFacts implements FactSink {
  private buffer: unknown[][] = [];
  private scheduled = false;
  private readonly inflight = new Set<Promise<void>>();
  private seq = BigInt(Date.now()) * 1000n;
  private readonly writer: GroupCommitWriter;

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    private readonly metrics?: ServiceMetrics,
  ) {
    this.writer = new GroupCommitWriter(store);
  }

  record(f: Fact): void {
    if (this.buffer.length >= MAX_PENDING) {
      this.metrics?.factsDropped.inc();
      return;
    }
    const at = f.at ?? Date.now();
    this.buffer.push([
      (at / 1000).toFixed(3),
      String(this.seq++),
      f.workspace,
      f.trackingId,
      f.kind,
      f.name,
      f.status,
      Math.round(f.durationMs * 1000) / 1000,
      f.attrs ?? {},
      f.nums ?? {},
    ]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.write());
    }
  }

  get pending(): number {
    return this.buffer.length;
  }

  private write(): void {
    this.scheduled = false;
    const rows = this.buffer.splice(0, this.buffer.length);
    if (rows.length === 0) return;
    const p = this.writer
      .write(TABLE, COLUMNS, rows)
      .catch((err: unknown) => {
        this.metrics?.factsDropped.inc(rows.length);
        this.logger.warn({ err: (err as Error).message, facts: rows.length }, 'request facts could not be written');
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Waits until every fact recorded so far is written (or failed). */
  async settle(): Promise<void> {
    this.write();
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** One request's facts in the workspace, in the order they were recorded. */
  trace(workspace: string, trackingId: string): Promise<FactRow[]> {
    return readRows<FactRow>(this.store, {
      query: `SELECT toUnixTimestamp64Milli(timestamp) AS at_ms, kind, name, status, duration_ms, attributes, numbers
        FROM ${TABLE}
        WHERE workspace = {workspace:String} AND tracking_id = {tracking_id:String}
        ORDER BY seq
        LIMIT 5000`,
      params: { workspace, tracking_id: trackingId },
    });
  }

  /** Counts over a period in the workspaces given (stats summary). */
  async summary(q: Period): Promise<Record<string, number>> {
    const [row] = await readRows<Record<string, number>>(this.store, {
      query: `SELECT
          countIf(kind = 'turn' AND attributes['kind'] = 'chat') AS chat_turns,
          countIf(kind = 'turn' AND attributes['kind'] = 'alert') AS alert_investigations,
          countIf(kind = 'briefing') AS briefings,
          countIf(kind = 'tool') AS tool_calls,
          countIf(kind = 'tool' AND status = 'error') AS tool_errors,
          countIf(kind = 'model' AND attributes['cache'] != 'hit') AS model_calls,
          countIf(kind = 'model' AND attributes['cache'] = 'hit') AS model_cache_hits,
          countIf(kind = 'model' AND status = 'error') AS model_errors,
          countIf(kind = 'request') AS requests,
          countIf(kind = 'request' AND status = 'error') AS request_errors,
          countIf(kind = 'turn' AND status = 'error') AS turn_errors
        FROM ${TABLE}
        WHERE ${PERIOD}`,
      params: periodParams(q),
    });
    return Object.fromEntries(Object.entries(row ?? {}).map(([k, v]) => [k, Number(v)]));
  }

  /** Counts by one dimension (stats breakdown). */
  async breakdown(q: Period, by: BreakdownBy): Promise<{ key: string; count: number; errors: number }[]> {
    const { kind, key } = DIMENSIONS[by];
    const rows = await readRows<{ key: string; count: number; errors: number }>(this.store, {
      query: `SELECT ${key} AS key, count() AS count, countIf(status = 'error') AS errors
        FROM ${TABLE}
        WHERE ${PERIOD} AND kind = {kind:String}
        GROUP BY key
        ORDER BY count DESC, key
        LIMIT 500`,
      params: { ...periodParams(q), kind },
    });
    return rows.map((r) => ({ key: String(r.key), count: Number(r.count), errors: Number(r.errors) }));
  }

  /** Latency percentiles, model use, cache, grounding and fallback, per prompt version and model (stats performance). */
  async performance(q: Period) {
    const params = periodParams(q);
    const latency = (kind: string) =>
      readRows<Record<string, unknown>>(this.store, {
        query: `SELECT name, count() AS count, countIf(status = 'error') AS errors,
            quantilesExact(0.5, 0.95, 0.99)(duration_ms) AS q
          FROM ${TABLE} WHERE ${PERIOD} AND kind = {kind:String}
          GROUP BY name ORDER BY name LIMIT 500`,
        params: { ...params, kind },
      }).then((rows) =>
        rows.map((r) => {
          const qs = (r.q as number[]).map((x) => Math.round(Number(x) * 10) / 10);
          return { name: String(r.name), count: Number(r.count), errors: Number(r.errors), p50_ms: qs[0]!, p95_ms: qs[1]!, p99_ms: qs[2]! };
        }),
      );
    const [routes, nodes, tools, models, answers] = await Promise.all([
      latency('request'),
      latency('node'),
      latency('tool'),
      readRows<Record<string, unknown>>(this.store, {
        query: `SELECT attributes['model'] AS model, attributes['prompt'] AS prompt, attributes['prompt_version'] AS prompt_version,
            count() AS requests, countIf(attributes['cache'] = 'hit') AS cache_hits,
            countIf(attributes['cache'] != 'hit') AS calls, countIf(status = 'error') AS errors,
            sumIf(numbers['input_tokens'], attributes['cache'] != 'hit') AS input_tokens,
            sumIf(numbers['output_tokens'], attributes['cache'] != 'hit') AS output_tokens,
            sumIf(duration_ms, attributes['cache'] != 'hit') AS model_ms,
            quantilesExactIf(0.5, 0.95)(duration_ms, attributes['cache'] != 'hit') AS q
          FROM ${TABLE} WHERE ${PERIOD} AND kind = 'model'
          GROUP BY model, prompt, prompt_version ORDER BY model, prompt, prompt_version LIMIT 500`,
        params,
      }),
      // Answers by the synthesis prompt version and model: grounding and the narrator's share.
      readRows<Record<string, unknown>>(this.store, {
        query: `SELECT attributes['model'] AS model, attributes['prompt_version'] AS prompt_version,
            countIf(kind = 'turn') AS turns,
            countIf(kind = 'turn' AND attributes['fallback'] = '1') AS narrator_fallbacks,
            countIf(kind = 'grounding') AS grounding_checks,
            countIf(kind = 'grounding' AND status = 'ok') AS grounding_passed,
            sumIf(numbers['unsupported'], kind = 'grounding') AS unsupported_claims
          FROM ${TABLE} WHERE ${PERIOD} AND kind IN ('turn', 'grounding') AND attributes['model'] != ''
          GROUP BY model, prompt_version ORDER BY model, prompt_version LIMIT 500`,
        params,
      }),
    ]);
    const rate = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);
    return {
      routes,
      nodes,
      tools,
      models: models.map((r) => {
        const qs = (r.q as number[]).map((x) => Math.round(Number(x) * 10) / 10);
        const requests = Number(r.requests);
        const hits = Number(r.cache_hits);
        return {
          model: String(r.model),
          prompt: String(r.prompt),
          prompt_version: String(r.prompt_version),
          requests,
          calls: Number(r.calls),
          errors: Number(r.errors),
          cache_hits: hits,
          cache_hit_rate: rate(hits, requests),
          input_tokens: Number(r.input_tokens),
          output_tokens: Number(r.output_tokens),
          model_ms: Math.round(Number(r.model_ms)),
          p50_ms: Number(r.calls) ? qs[0]! : null,
          p95_ms: Number(r.calls) ? qs[1]! : null,
        };
      }),
      answers: answers.map((r) => ({
        model: String(r.model),
        prompt_version: String(r.prompt_version),
        turns: Number(r.turns),
        narrator_fallbacks: Number(r.narrator_fallbacks),
        fallback_rate: rate(Number(r.narrator_fallbacks), Number(r.turns)),
        grounding_checks: Number(r.grounding_checks),
        grounding_pass_rate: rate(Number(r.grounding_passed), Number(r.grounding_checks)),
        unsupported_claims: Number(r.unsupported_claims),
      })),
    };
  }
}

/** The sampled wide event of a request, when it was kept. */
export async function wideEventOf(store: Store, workspace: string, trackingId: string) {
  const rows = await readRows<Record<string, unknown>>(store, {
    query: `SELECT toUnixTimestamp64Milli(timestamp) AS at_ms, kind, method, route, status, duration_ms, subject, error, attributes
      FROM aiops_wide_events WHERE workspace = {workspace:String} AND tracking_id = {tracking_id:String}
      ORDER BY timestamp LIMIT 10`,
    params: { workspace, tracking_id: trackingId },
  });
  return rows.map((r) => ({
    at: new Date(Number(r.at_ms)).toISOString(),
    kind: String(r.kind),
    method: String(r.method),
    route: String(r.route),
    status: Number(r.status),
    duration_ms: Number(r.duration_ms),
    subject: String(r.subject),
    error: String(r.error),
    attributes: r.attributes as Record<string, string>,
  }));
}

/** Audit rows (proposals, decisions, results) a request wrote. */
export async function auditOf(store: Store, workspace: string, trackingId: string) {
  const rows = await readRows<Record<string, unknown>>(store, {
    query: `SELECT toUnixTimestamp64Milli(at) AS at_ms, workspace, kind, approval_id, thread_id, actor, action, params, status, control_plane_status, detail, tracking_id
      FROM aiops_audit WHERE workspace = {workspace:String} AND tracking_id = {tracking_id:String}
      ORDER BY at, kind LIMIT 500`,
    params: { workspace, tracking_id: trackingId },
  });
  // The trace leaves out what it was asked by: the workspace and the tracking id.
  return rows.map((r) => {
    const { workspace: _workspace, tracking_id: _trackingId, ...entry } = auditEntryOf(r);
    return entry;
  });
}

/** Proposals by outcome over a period, from the audit trail (every proposal and decision has a row). */
export async function proposalOutcomes(store: Store, q: Period): Promise<Record<string, number>> {
  const rows = await readRows<{ kind: string; status: string; n: number }>(store, {
    query: `SELECT kind, status, count() AS n FROM aiops_audit
      WHERE workspace IN {workspaces:Array(String)} AND at >= fromUnixTimestamp64Milli({from:Int64}) AND at < fromUnixTimestamp64Milli({to:Int64})
        AND kind IN ('proposal', 'dropped', 'decision', 'expired', 'result')
      GROUP BY kind, status`,
    params: periodParams(q),
  });
  const out: Record<string, number> = { proposed: 0, dropped: 0, approved: 0, rejected: 0, expired: 0, sent: 0, send_failed: 0 };
  for (const r of rows) {
    const n = Number(r.n);
    if (r.kind === 'proposal') out.proposed! += n;
    else if (r.kind === 'dropped') out.dropped! += n;
    else if (r.kind === 'expired') out.expired! += n;
    else if (r.kind === 'decision' && r.status === 'approved') out.approved! += n;
    else if (r.kind === 'decision' && r.status === 'rejected') out.rejected! += n;
    else if (r.kind === 'decision' && r.status === 'expired') out.expired! += n;
    else if (r.kind === 'result') out[r.status === 'accepted' ? 'sent' : 'send_failed']! += n;
  }
  return out;
}

export interface FactRow {
  at_ms: number;
  kind: Fact['kind'];
  name: string;
  status: 'ok' | 'error';
  duration_ms: number;
  attributes: Record<string, string>;
  numbers: Record<string, number>;
}

export interface Period {
  workspaces: string[];
  from: number;
  to: number;
}

const PERIOD =
  'workspace IN {workspaces:Array(String)} AND timestamp >= fromUnixTimestamp64Milli({from:Int64}) AND timestamp < fromUnixTimestamp64Milli({to:Int64})';
const periodParams = (q: Period) => ({ workspaces: q.workspaces, from: q.from, to: q.to });

/** What each breakdown counts, and by which column. Keys are fixed here, never taken from a request. */
const DIMENSIONS = {
  workspace: { kind: 'turn', key: 'workspace' },
  specialist: { kind: 'tool', key: "attributes['agent']" },
  tool: { kind: 'tool', key: 'name' },
  intent: { kind: 'turn', key: "attributes['intent']" },
  severity: { kind: 'turn', key: "attributes['severity']" },
  status: { kind: 'request', key: "attributes['http_status']" },
} as const;
export type BreakdownBy = keyof typeof DIMENSIONS;
export const BREAKDOWNS = Object.keys(DIMENSIONS) as BreakdownBy[];
