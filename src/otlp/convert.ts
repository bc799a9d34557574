import type { AnyValue, KeyValue } from './schema.ts';

/**
 * Row building for the exporter's tables, following the exporter's own
 * mapping (attributes flattened to strings with AsString semantics, ids as
 * lower-case hex, zero ids as empty strings).
 */

export type Attrs = Record<string, string>;

export function anyValueToString(v: AnyValue | undefined): string {
  if (!v) return '';
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue ? 'true' : 'false';
  if (v.intValue !== undefined) return v.intValue;
  if (v.doubleValue !== undefined) return String(v.doubleValue);
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue !== undefined || v.kvlistValue !== undefined) return JSON.stringify(anyValueToRaw(v));
  return '';
}

function anyValueToRaw(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValueToRaw);
  if (v.kvlistValue !== undefined) {
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, anyValueToRaw(kv.value)]));
  }
  return null;
}

export function attrsToMap(kvs: KeyValue[] | undefined): Attrs {
  const out: Attrs = {};
  if (kvs) for (const kv of kvs) out[kv.key] = anyValueToString(kv.value);
  return out;
}

/**
 * OTLP nanoseconds (decimal string) to the text ClickHouse reads into
 * DateTime64(9) unambiguously: ten digits of seconds, a point, nine of
 * nanoseconds (shorter forms are taken for dates or plain seconds).
 */
export function chTime(ns: string): string {
  const s = ns.padStart(19, '0');
  return `${s.slice(0, 10)}.${s.slice(10)}`;
}

export const LOG_COLUMNS = [
  'Timestamp',
  'TraceId',
  'SpanId',
  'TraceFlags',
  'SeverityText',
  'SeverityNumber',
  'ServiceName',
  'Body',
  'ResourceSchemaUrl',
  'ResourceAttributes',
  'ScopeSchemaUrl',
  'ScopeName',
  'ScopeVersion',
  'ScopeAttributes',
  'LogAttributes',
] as const;

export const TRACE_COLUMNS = [
  'Timestamp',
  'TraceId',
  'SpanId',
  'ParentSpanId',
  'TraceState',
  'SpanName',
  'SpanKind',
  'ServiceName',
  'ResourceAttributes',
  'ScopeName',
  'ScopeVersion',
  'SpanAttributes',
  'Duration',
  'StatusCode',
  'StatusMessage',
  'Events.Timestamp',
  'Events.Name',
  'Events.Attributes',
  'Links.TraceId',
  'Links.SpanId',
  'Links.TraceState',
  'Links.Attributes',
] as const;

const METRIC_HEAD = [
  'ResourceAttributes',
  'ResourceSchemaUrl',
  'ScopeName',
  'ScopeVersion',
  'ScopeAttributes',
  'ScopeDroppedAttrCount',
  'ScopeSchemaUrl',
  'ServiceName',
  'MetricName',
  'MetricDescription',
  'MetricUnit',
  'Attributes',
  'StartTimeUnix',
  'TimeUnix',
] as const;

const EXEMPLAR_COLUMNS = [
  'Exemplars.FilteredAttributes',
  'Exemplars.TimeUnix',
  'Exemplars.Value',
  'Exemplars.SpanId',
  'Exemplars.TraceId',
] as const;

export const GAUGE_COLUMNS = [...METRIC_HEAD, 'Value', 'Flags', ...EXEMPLAR_COLUMNS] as const;
export const SUM_COLUMNS = [...GAUGE_COLUMNS, 'AggregationTemporality', 'IsMonotonic'] as const;
export const HISTOGRAM_COLUMNS = [
  ...METRIC_HEAD,
  'Count',
  'Sum',
  'BucketCounts',
  'ExplicitBounds',
  ...EXEMPLAR_COLUMNS,
  'Flags',
  'Min',
  'Max',
  'AggregationTemporality',
] as const;
