import type { z } from 'zod';
import { formatDuration } from '../core/duration.ts';
import { fieldPath, problems, zodFieldErrors, type FieldError } from '../core/problem.ts';
import type { Store } from '../clients/clickhouse.ts';
import { GroupCommitWriter } from '../storage/group-commit.ts';
import { IngestClaims, type AttemptResult } from '../storage/ingest-claims.ts';
import type { TableShapes } from '../storage/migrations.ts';
import { oldestKept, ttlLabel, type TelemetryRetention, type Ttl } from '../storage/retention.ts';
import { attrsToMap, chTime, GAUGE_COLUMNS, HISTOGRAM_COLUMNS, LOG_COLUMNS, SUM_COLUMNS, TRACE_COLUMNS, type Attrs } from './convert.ts';
import { logFields, quickLogFields } from './fast-path.ts';
import {
  ExportLogsRequest,
  ExportMetricsRequest,
  ExportTracesRequest,
  HistogramDataPoint,
  LogRecord,
  MetricEnvelope,
  NumberDataPoint,
  Span,
  SPAN_KINDS,
  STATUS_CODES,
  type Exemplar,
  type KeyValue,
} from './schema.ts';

interface IngestOutcome {
  accepted: number;
  rejected: number;
  /** The first few reasons, with the failing field paths. */
  errors: FieldError[];
  /** Reasons that concern many records at once (outside the tables' time range), first in the answer. */
  notices: string[];
}

const MAX_REPORTED_ERRORS = 20;

class Outcome {
  accepted = 0;
  rejected = 0;
  /** Records refused for their time alone: they were valid, so they never make the request a 400. */
  outOfRange = 0;
  errors: FieldError[] = [];
  notices: string[] = [];
  reject(count: number, errors: FieldError[]) {
    this.rejected += count;
    for (const e of errors) if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(e);
  }
  /** Counts what a TimeRange refused and says why, once per table. */
  refuse(range: TimeRange) {
    if (range.tooOld) {
      this.notices.push(
        `${records(range.tooOld)} older than the ${range.label} retention of ${range.table} ${range.tooOld === 1 ? 'was' : 'were'} not stored`,
      );
    }
    if (range.tooNew) {
      this.notices.push(
        `${records(range.tooNew)} more than ${range.toleranceText} ahead of the service's clock (after ${new Date(range.newestMs).toISOString()}) ${range.tooNew === 1 ? 'was' : 'were'} not stored; check the sender's clock`,
      );
    }
    const n = range.tooOld + range.tooNew;
    this.rejected += n;
    this.outOfRange += n;
  }
  result(): IngestOutcome {
    return { accepted: this.accepted, rejected: this.rejected, errors: this.errors, notices: this.notices };
  }
}

const records = (n: number) => `${n} record${n === 1 ? '' : 's'}`;

/** Decimal nanosecond strings without leading zeros compare by length, then by text. */
const nanosBefore = (a: string, b: string) => (a.length === b.length ? a < b : a.length < b.length);
const msToNanos = (ms: number) => `${BigInt(Math.max(0, Math.floor(ms))) * 1_000_000n}`;

/**
 * The time range one table stores for one request: records before its TTL's
 * horizon would be dropped by the TTL right away, and records too far ahead
 * are a sender's clock error. Counts what it refuses.
 */
class TimeRange {
  tooOld = 0;
  tooNew = 0;
  readonly label: string;
  readonly toleranceText: string;
  readonly newestMs: number;
  private readonly oldestNs: string | undefined;
  private readonly newestNs: string;

  constructor(
    readonly table: string,
    ttl: Ttl | undefined,
    now: number,
    toleranceMs: number,
  ) {
    this.label = ttl ? ttlLabel(ttl) : '';
    this.toleranceText = formatDuration(toleranceMs);
    this.newestMs = now + toleranceMs;
    this.oldestNs = ttl ? msToNanos(oldestKept(ttl, now)) : undefined;
    this.newestNs = msToNanos(this.newestMs);
  }

  /** Whether a record stamped `ns` (nanoseconds, normalised) is stored; counts it if not. */
  admits(ns: string): boolean {
    if (this.oldestNs !== undefined && nanosBefore(ns, this.oldestNs)) {
      this.tooOld++;
      return false;
    }
    if (nanosBefore(this.newestNs, ns)) {
      this.tooNew++;
      return false;
    }
    return true;
  }
}

interface IngestOptions {
  /** Where request keys are claimed; in memory when absent. */
  claims?: IngestClaims;
  /** Each telemetry table's TTL as the table states it; no entry: no lower bound. */
  retention?: TelemetryRetention;
  /** How far ahead of the clock a record may be stamped. */
  futureToleranceMs?: number;
}

interface TableTarget {
  table: string;
  columns: string[];
  project: (row: unknown[]) => unknown[];
}

/**
 * The write path for telemetry: OTLP JSON in, exporter-shaped rows out, one
 * INSERT per table per request. Everything is validated and converted before
 * anything is written. Used by the OTLP routes and by the demo simulator.
 */
export class TelemetryIngest {
  private readonly targets: Record<string, TableTarget>;
  private readonly writer: GroupCommitWriter;
  private readonly claims: IngestClaims;
  private readonly retention: TelemetryRetention;
  private readonly futureToleranceMs: number;

  /** `tenantAttribute` is the resource attribute that names a row's workspace. */
  constructor(
    store: Store,
    shapes: TableShapes,
    private readonly tenantAttribute: string,
    options: IngestOptions = {},
  ) {
    this.writer = new GroupCommitWriter(store);
    this.claims = options.claims ?? IngestClaims.inMemory();
    this.retention = options.retention ?? new Map();
    this.futureToleranceMs = options.futureToleranceMs ?? 3_600_000;
    const target = (table: string, all: readonly string[]): TableTarget => {
      const have = shapes.get(table);
      const keep = all.map((c, i) => [c, i] as const).filter(([c]) => !have || have.has(c));
      if (keep.length === all.length) return { table, columns: [...all], project: identity };
      const idx = keep.map(([, i]) => i);
      return { table, columns: keep.map(([c]) => c), project: (r) => idx.map((i) => r[i]) };
    };
    this.targets = {
      logs: target('otel_logs', LOG_COLUMNS),
      traces: target('otel_traces', TRACE_COLUMNS),
      gauge: target('otel_metrics_gauge', GAUGE_COLUMNS),
      sum: target('otel_metrics_sum', SUM_COLUMNS),
      histogram: target('otel_metrics_histogram', HISTOGRAM_COLUMNS),
    };
  }

  async logs(body: unknown, workspace: string, dedupKey?: string): Promise<IngestOutcome> {
    const req = parseEnvelope(ExportLogsRequest, body);
    const out = new Outcome();
    const rows: unknown[][] = [];
    const now = Date.now();
    const range = this.range('otel_logs', now);
    const nowNs = msToNanos(now);
    req.resourceLogs?.forEach((rl, i) => {
      const resAttrs = attrsToMap(rl.resource?.attributes);
      const count = rl.scopeLogs?.reduce((n, s) => n + (s.logRecords?.length ?? 0), 0) ?? 0;
      const refusal = checkTenant(resAttrs, this.tenantAttribute, workspace);
      if (refusal) {
        out.reject(count, [{ field: `resourceLogs[${i}].resource.attributes`, message: refusal }]);
        return;
      }
      const service = resAttrs['service.name'] ?? '';
      rl.scopeLogs?.forEach((sl, j) => {
        const scopeAttrs = attrsToMap(sl.scope?.attributes);
        sl.logRecords?.forEach((raw, k) => {
          let f = quickLogFields(raw);
          if (!f) {
            const parsed = LogRecord.safeParse(raw);
            if (!parsed.success) {
              out.reject(1, zodFieldErrors(parsed.error, ['resourceLogs', i, 'scopeLogs', j, 'logRecords', k]));
              return;
            }
            f = logFields(parsed.data);
          }
          const time = f.time ?? nowNs;
          if (!range.admits(time)) return;
          rows.push([
            chTime(time),
            f.traceId,
            f.spanId,
            f.flags,
            f.severityText,
            f.severityNumber,
            service,
            f.body,
            rl.schemaUrl ?? '',
            resAttrs,
            sl.schemaUrl ?? '',
            sl.scope?.name ?? '',
            sl.scope?.version ?? '',
            scopeAttrs,
            f.attributes,
          ]);
          out.accepted++;
        });
      });
    });
    out.refuse(range);
    return this.finish(out, [[this.targets.logs!, rows]], dedupKey);
  }

  async traces(body: unknown, workspace: string, dedupKey?: string): Promise<IngestOutcome> {
    const req = parseEnvelope(ExportTracesRequest, body);
    const out = new Outcome();
    const rows: unknown[][] = [];
    const range = this.range('otel_traces', Date.now());
    req.resourceSpans?.forEach((rs, i) => {
      const resAttrs = attrsToMap(rs.resource?.attributes);
      const count = rs.scopeSpans?.reduce((n, s) => n + (s.spans?.length ?? 0), 0) ?? 0;
      const refusal = checkTenant(resAttrs, this.tenantAttribute, workspace);
      if (refusal) {
        out.reject(count, [{ field: `resourceSpans[${i}].resource.attributes`, message: refusal }]);
        return;
      }
      const service = resAttrs['service.name'] ?? '';
      rs.scopeSpans?.forEach((ss, j) => {
        ss.spans?.forEach((raw, k) => {
          const parsed = Span.safeParse(raw);
          if (!parsed.success) {
            out.reject(1, zodFieldErrors(parsed.error, ['resourceSpans', i, 'scopeSpans', j, 'spans', k]));
            return;
          }
          const s = parsed.data;
          if (!range.admits(s.startTimeUnixNano)) return;
          const events = s.events ?? [];
          const links = s.links ?? [];
          rows.push([
            chTime(s.startTimeUnixNano),
            s.traceId,
            s.spanId,
            s.parentSpanId ?? '',
            s.traceState ?? '',
            s.name,
            SPAN_KINDS[s.kind ?? 0],
            service,
            resAttrs,
            ss.scope?.name ?? '',
            ss.scope?.version ?? '',
            attrsToMap(s.attributes),
            Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano)),
            STATUS_CODES[s.status?.code ?? 0],
            s.status?.message ?? '',
            events.map((e) => chTime(e.timeUnixNano)),
            events.map((e) => e.name),
            events.map((e) => attrsToMap(e.attributes)),
            links.map((l) => l.traceId),
            links.map((l) => l.spanId),
            links.map((l) => l.traceState ?? ''),
            links.map((l) => attrsToMap(l.attributes)),
          ]);
          out.accepted++;
        });
      });
    });
    out.refuse(range);
    return this.finish(out, [[this.targets.traces!, rows]], dedupKey);
  }

  async metrics(body: unknown, workspace: string, dedupKey?: string): Promise<IngestOutcome> {
    const req = parseEnvelope(ExportMetricsRequest, body);
    const out = new Outcome();
    const gauge: unknown[][] = [];
    const sum: unknown[][] = [];
    const histogram: unknown[][] = [];
    const now = Date.now();
    const ranges = {
      gauge: this.range('otel_metrics_gauge', now),
      sum: this.range('otel_metrics_sum', now),
      histogram: this.range('otel_metrics_histogram', now),
    };
    req.resourceMetrics?.forEach((rm, i) => {
      const resAttrs = attrsToMap(rm.resource?.attributes);
      const refusal = checkTenant(resAttrs, this.tenantAttribute, workspace);
      if (refusal) {
        const count = rm.scopeMetrics?.reduce((n, s) => n + (s.metrics ?? []).reduce((m: number, x) => m + dataPointCount(x), 0), 0) ?? 0;
        out.reject(count, [{ field: `resourceMetrics[${i}].resource.attributes`, message: refusal }]);
        return;
      }
      const service = resAttrs['service.name'] ?? '';
      rm.scopeMetrics?.forEach((sm, j) => {
        const scopeAttrs = attrsToMap(sm.scope?.attributes);
        sm.metrics?.forEach((rawMetric, k) => {
          const path = ['resourceMetrics', i, 'scopeMetrics', j, 'metrics', k] as const;
          const parsed = MetricEnvelope.safeParse(rawMetric);
          if (!parsed.success) {
            out.reject(dataPointCount(rawMetric), zodFieldErrors(parsed.error, path));
            return;
          }
          const m = parsed.data;
          const head = (p: { attributes?: KeyValue[]; startTimeUnixNano?: string; timeUnixNano: string }) => [
            resAttrs,
            rm.schemaUrl ?? '',
            sm.scope?.name ?? '',
            sm.scope?.version ?? '',
            scopeAttrs,
            0,
            sm.schemaUrl ?? '',
            service,
            m.name,
            m.description ?? '',
            m.unit ?? '',
            attrsToMap(p.attributes),
            chTime(p.startTimeUnixNano ?? '0'),
            chTime(p.timeUnixNano),
          ];
          const numberPoints = (kind: 'gauge' | 'sum', points: unknown[] | undefined, emit: (p: NumberDataPoint, value: number) => void) =>
            points?.forEach((raw, d) => {
              const pp = NumberDataPoint.safeParse(raw);
              const value = pp.success
                ? (pp.data.asDouble ?? (pp.data.asInt !== undefined ? Number(pp.data.asInt) : undefined))
                : undefined;
              if (!pp.success) {
                out.reject(1, zodFieldErrors(pp.error, [...path, kind, 'dataPoints', d]));
                return;
              }
              if (value === undefined) {
                out.reject(1, [{ field: `${fieldPath(path)}.${kind}.dataPoints[${d}]`, message: 'a data point needs asDouble or asInt' }]);
                return;
              }
              if (!ranges[kind].admits(pp.data.timeUnixNano)) return;
              emit(pp.data, value);
              out.accepted++;
            });
          if (m.gauge) {
            numberPoints('gauge', m.gauge.dataPoints, (p, value) =>
              gauge.push([...head(p), value, p.flags ?? 0, ...exemplarColumns(p.exemplars)]),
            );
          } else if (m.sum) {
            const temporality = m.sum.aggregationTemporality ?? 0;
            const monotonic = m.sum.isMonotonic ?? false;
            numberPoints('sum', m.sum.dataPoints, (p, value) =>
              sum.push([...head(p), value, p.flags ?? 0, ...exemplarColumns(p.exemplars), temporality, monotonic]),
            );
          } else if (m.histogram) {
            const temporality = m.histogram.aggregationTemporality ?? 0;
            m.histogram.dataPoints?.forEach((raw, d) => {
              const pp = HistogramDataPoint.safeParse(raw);
              if (!pp.success) {
                out.reject(1, zodFieldErrors(pp.error, [...path, 'histogram', 'dataPoints', d]));
                return;
              }
              const p = pp.data;
              if (!ranges.histogram.admits(p.timeUnixNano)) return;
              histogram.push([
                ...head(p),
                p.count,
                p.sum ?? 0,
                p.bucketCounts ?? [],
                p.explicitBounds ?? [],
                ...exemplarColumns(p.exemplars),
                p.flags ?? 0,
                p.min ?? 0,
                p.max ?? 0,
                temporality,
              ]);
              out.accepted++;
            });
          } else if (m.exponentialHistogram || m.summary) {
            const kind = m.exponentialHistogram ? 'exponentialHistogram' : 'summary';
            out.reject(dataPointCount(rawMetric), [
              { field: `${fieldPath(path)}.${kind}`, message: `${kind} metrics are not stored; send gauge, sum or histogram` },
            ]);
          } else {
            out.reject(0, [{ field: fieldPath(path), message: 'the metric has no gauge, sum or histogram data' }]);
          }
        });
      });
    });
    out.refuse(ranges.gauge);
    out.refuse(ranges.sum);
    out.refuse(ranges.histogram);
    return this.finish(
      out,
      [
        [this.targets.gauge!, gauge],
        [this.targets.sum!, sum],
        [this.targets.histogram!, histogram],
      ],
      dedupKey,
    );
  }

  /** Stops the claims' background work (the store and the pool are closed by their owner). */
  close(): Promise<void> {
    return this.claims.close();
  }

  private range(table: string, now: number): TimeRange {
    return new TimeRange(table, this.retention.get(table), now, this.futureToleranceMs);
  }

  /**
   * Writes what was accepted. With a dedup key the write goes through a claim
   * on it: one attempt per key at a time, and tables an earlier attempt wrote
   * are not written again.
   */
  private async finish(out: Outcome, batches: [TableTarget, unknown[][]][], dedupKey?: string): Promise<IngestOutcome> {
    if (out.accepted === 0 && out.rejected > 0 && out.outOfRange === 0) {
      throw problems.validation(`all ${out.rejected} records were rejected; nothing was written`, out.errors);
    }
    const byTable = new Map(batches.filter(([, rows]) => rows.length > 0).map(([t, rows]) => [t.table, [t, rows] as const]));
    if (byTable.size === 0) return out.result();
    const write = async (tables: string[]): Promise<AttemptResult> => {
      const settled = await Promise.allSettled(
        tables.map(async (table) => {
          const [t, rows] = byTable.get(table)!;
          await this.writer.write(t.table, t.columns, t.project === identity ? rows : rows.map(t.project));
          return table;
        }),
      );
      const failed = settled.find((r) => r.status === 'rejected');
      return {
        written: settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
        ...(failed ? { error: failed.reason } : {}),
      };
    };
    if (dedupKey) {
      await this.claims.once(dedupKey, [...byTable.keys()], write);
    } else {
      const result = await write([...byTable.keys()]);
      if (result.error !== undefined) throw result.error;
    }
    return out.result();
  }
}

const identity = (r: unknown[]) => r;

function parseEnvelope<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw problems.validation('the request body must be a JSON object', [{ field: '(body)', message: 'expected an object' }]);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw problems.validation(
      'the OTLP request does not match the OTLP/JSON schema',
      zodFieldErrors(parsed.error).slice(0, MAX_REPORTED_ERRORS),
    );
  }
  return parsed.data;
}

/** Stamps a resource with the token's workspace, or says why it belongs to another one. */
function checkTenant(resAttrs: Attrs, tenantAttribute: string, workspace: string): string | undefined {
  const current = resAttrs[tenantAttribute];
  if (current === undefined || current === '') {
    resAttrs[tenantAttribute] = workspace;
    return undefined;
  }
  if (current !== workspace) {
    return `${tenantAttribute}="${current}" is outside the token's workspace "${workspace}"`;
  }
  return undefined;
}

function exemplarColumns(ex: Exemplar[] | undefined): unknown[] {
  const list = ex ?? [];
  return [
    list.map((e) => attrsToMap(e.filteredAttributes)),
    list.map((e) => chTime(e.timeUnixNano ?? '0')),
    list.map((e) => e.asDouble ?? (e.asInt !== undefined ? Number(e.asInt) : 0)),
    list.map((e) => e.spanId ?? ''),
    list.map((e) => e.traceId ?? ''),
  ];
}

function dataPointCount(metric: unknown): number {
  if (typeof metric !== 'object' || metric === null) return 1;
  let n = 0;
  for (const key of ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary']) {
    const d = (metric as Record<string, { dataPoints?: unknown }>)[key]?.dataPoints;
    if (Array.isArray(d)) n += d.length;
  }
  return n;
}
