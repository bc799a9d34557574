import type { ClickHouseSettings } from '@clickhouse/client';
import { readRowsWithStats, type Store } from '../clients/clickhouse.ts';
import { Problem, problems } from '../core/problem.ts';
import type { Policies } from '../policies/schema.ts';
import { parseDuration } from '../core/duration.ts';
import { resolveWindow, type ResolvedWindow, type WindowInput } from './window.ts';
import type { Evidence } from '../core/evidence.ts';
import type { KnowledgeBase } from '../knowledge/base.ts';
import { iso } from '../core/window.ts';
import { compileError } from './regex.ts';

/** Who runs a tool and where: the workspace comes from the verified token, never from arguments. */
export interface ToolContext {
  store: Store;
  workspace: string;
  tenantAttribute: string;
  trackingId: string;
  policy: Policies['tools'];
  now?: number;
  signal?: AbortSignal;
  /** Keep each query's SQL and parameters on the run (for benchmarks). */
  recordQueries?: boolean;
  /** Hands out evidence ids, so they stay unique across the tools and turns of a conversation. */
  ids?: (prefix: string) => string;
  /** Runbooks and past incidents, for the knowledge tools. */
  knowledge?: KnowledgeBase;
  /** The conversation the tool runs in (its own incident is not "similar"). */
  threadId?: string;
}

/** An id allocator that continues after the ids already in use (so1, so2, … then so3). */
export function evidenceIds(existing: Iterable<string>): (prefix: string) => string {
  const next = new Map<string, number>();
  for (const id of existing) {
    const m = /^([a-z]+)(\d+)$/.exec(id);
    if (m) next.set(m[1]!, Math.max(next.get(m[1]!) ?? 0, Number(m[2])));
  }
  return (prefix) => {
    const n = (next.get(prefix) ?? 0) + 1;
    next.set(prefix, n);
    return `${prefix}${n}`;
  };
}

/** The workspace filter every telemetry query carries, as server-side parameters. */
export const IN_WORKSPACE = 'ResourceAttributes[{tenant_attribute:String}] = {workspace:String}';

/** SQL for "the row is in [from, to)" given millisecond parameters `<name>_from` and `<name>_to`. */
export const between = (column: string, name: string) =>
  `(${column} >= fromUnixTimestamp64Milli({${name}_from:Int64}) AND ${column} < fromUnixTimestamp64Milli({${name}_to:Int64}))`;

export const ERROR_STATUS = "StatusCode IN ('Error', 'STATUS_CODE_ERROR')";
export const SERVER_KIND = "SpanKind IN ('Server', 'SPAN_KIND_SERVER', 'Consumer', 'SPAN_KIND_CONSUMER')";

/** One execution of one tool: its budget, its window, its query ids and evidence ids. */
export class ToolRun {
  readonly now: number;
  readonly window: ResolvedWindow;
  readonly budget: { max_execution_time_s: number; max_result_rows: number; render_tokens: number };
  private queries = 0;
  private evidenceCount = 0;
  readonly queryIds: string[] = [];
  /**
   * Each query's figures: rows returned, rows read and server time where the
   * engine reports them (a ClickHouse server's summary; null with chDB, which
   * keeps no query log), and the time the call took here.
   */
  readonly queryStats: {
    query_id: string;
    result_rows: number;
    read_rows: number | null;
    server_ms: number | null;
    duration_ms: number;
    error?: string;
  }[] = [];
  /** The SQL and parameters of each query, kept only when the context asks (benchmarks re-run them). */
  readonly recorded: { sql: string; params: Record<string, unknown>; settings: ClickHouseSettings }[] = [];

  constructor(
    readonly ctx: ToolContext,
    readonly tool: string,
    readonly prefix: string,
    window: WindowInput,
    defaultLast: string,
    defaultBaseline?: string,
    /** The tool's regular-expression arguments as given (name → pattern), to name in a compile error. */
    private readonly patterns: Record<string, string> = {},
  ) {
    this.now = ctx.now ?? Date.now();
    this.budget = { ...ctx.policy.defaults, ...ctx.policy.budgets[tool] };
    this.window = resolveWindow(window, this.now, {
      last: defaultLast,
      baselineLast: defaultBaseline,
      maxWindowMs: parseDuration(ctx.policy.max_window) ?? 7 * 86_400_000,
    });
  }

  get windowRange() {
    return { from: iso(this.window.from), to: iso(this.window.to) };
  }

  get baselineRange() {
    return { from: iso(this.window.baselineFrom), to: iso(this.window.baselineTo) };
  }

  /** Parameters for `between(column, 'w')` and `between(column, 'b')`. */
  get timeParams() {
    return { w_from: this.window.from, w_to: this.window.to, b_from: this.window.baselineFrom, b_to: this.window.baselineTo };
  }

  /**
   * Runs a read-only query scoped to the caller's workspace with the tool's
   * budget. The SQL must filter with IN_WORKSPACE; values go only as
   * parameters. Time limits become a clear 504, not a hang.
   */
  async query<T>(
    sql: string,
    params: Record<string, unknown> = {},
    settings: ClickHouseSettings = {},
  ): Promise<{ rows: T[]; queryId: string }> {
    if (!sql.includes('{workspace:String}')) throw new Error(`${this.tool}: a telemetry query without the workspace filter`);
    const queryId = `${this.ctx.trackingId}:${this.tool}:${++this.queries}`;
    this.queryIds.push(queryId);
    const allParams = { ...params, tenant_attribute: this.ctx.tenantAttribute, workspace: this.ctx.workspace };
    const allSettings: ClickHouseSettings = {
      max_execution_time: this.budget.max_execution_time_s,
      max_result_rows: String(this.budget.max_result_rows),
      result_overflow_mode: 'throw',
      ...settings,
    };
    if (this.ctx.recordQueries) this.recorded.push({ sql, params: allParams, settings: allSettings });
    const started = performance.now();
    try {
      const { rows, stats } = await readRowsWithStats<T>(this.ctx.store, {
        query: sql,
        params: allParams,
        queryId,
        signal: this.ctx.signal,
        settings: allSettings,
      });
      this.queryStats.push({
        query_id: queryId,
        result_rows: rows.length,
        read_rows: stats.readRows,
        server_ms: stats.serverMs,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      });
      return { rows, queryId };
    } catch (err) {
      const explained = this.explain(err);
      this.queryStats.push({
        query_id: queryId,
        result_rows: 0,
        read_rows: null,
        server_ms: null,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        error: ((explained as Error).message ?? String(explained)).slice(0, 300),
      });
      throw explained;
    }
  }

  /** An id for a lookup that is not a ClickHouse query (a knowledge search), counted like one. */
  lookupId(): string {
    const id = `${this.ctx.trackingId}:${this.tool}:${++this.queries}`;
    this.queryIds.push(id);
    return id;
  }

  private explain(err: unknown): unknown {
    const e = err as { code?: string; type?: string; message?: string; name?: string };
    if (e.code === '159' || e.type === 'TIMEOUT_EXCEEDED') {
      return problems.timeout(
        `${this.tool} ran past its ${this.budget.max_execution_time_s} s query limit; narrow the window or add a service filter`,
      );
    }
    if (e.code === '396' || e.type === 'TOO_MANY_ROWS_OR_BYTES') {
      return new Problem({
        status: 422,
        type: 'result-too-large',
        title: 'Result too large',
        detail: `${this.tool} would return more than ${this.budget.max_result_rows} rows; narrow the window or add filters`,
      });
    }
    const regex = compileError(err);
    if (regex !== undefined) {
      // Checked before the run, so this is a pattern the check let through: still the caller's argument, not a 500.
      const all = Object.entries(this.patterns);
      const named = all.filter(([, p]) => (e.message ?? '').includes(p));
      const fields = (named.length ? named : all).map(([field]) => ({ field, message: regex }));
      if (fields.length) return problems.validation(`the arguments of ${this.tool} are not valid`, fields);
    }
    if (this.ctx.signal?.aborted || e.name === 'AbortError' || /aborted/i.test(e.message ?? '')) {
      return new Problem({ status: 499, type: 'cancelled', title: 'Cancelled', detail: 'the request was cancelled' });
    }
    return err;
  }

  /** A new evidence item with the next id of this run. */
  evidence(item: Omit<Evidence, 'id' | 'tool' | 'window' | 'attributes'> & Partial<Pick<Evidence, 'window' | 'attributes'>>): Evidence {
    return {
      id: this.ctx.ids ? this.ctx.ids(this.prefix) : `${this.prefix}${++this.evidenceCount}`,
      tool: this.tool,
      window: this.windowRange,
      attributes: {},
      ...item,
    };
  }
}
