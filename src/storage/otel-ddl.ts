/**
 * The OpenTelemetry Collector ClickHouse exporter's tables: same names and
 * column types, so the service reads a database the exporter filled, and the
 * embedded install gets tables the exporter could write to. Created only when
 * absent.
 */
const MAP = 'Map(LowCardinality(String), String)';
const TABLE_SETTINGS = 'index_granularity = 8192, ttl_only_drop_parts = 1';

const attributeIndexes = (column: string, name: string) => [
  `INDEX idx_${name}_key mapKeys(${column}) TYPE bloom_filter(0.01) GRANULARITY 1`,
  `INDEX idx_${name}_value mapValues(${column}) TYPE bloom_filter(0.01) GRANULARITY 1`,
];

const exemplars = `Exemplars Nested(
      FilteredAttributes ${MAP},
      TimeUnix DateTime64(9),
      Value Float64,
      SpanId String,
      TraceId String
    ) CODEC(ZSTD(1))`;

const metricHead = [
  `ResourceAttributes ${MAP} CODEC(ZSTD(1))`,
  'ResourceSchemaUrl String CODEC(ZSTD(1))',
  'ScopeName String CODEC(ZSTD(1))',
  'ScopeVersion String CODEC(ZSTD(1))',
  `ScopeAttributes ${MAP} CODEC(ZSTD(1))`,
  'ScopeDroppedAttrCount UInt32 CODEC(ZSTD(1))',
  'ScopeSchemaUrl String CODEC(ZSTD(1))',
  'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
  'MetricName String CODEC(ZSTD(1))',
  'MetricDescription String CODEC(ZSTD(1))',
  'MetricUnit String CODEC(ZSTD(1))',
  `Attributes ${MAP} CODEC(ZSTD(1))`,
  'StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1))',
  'TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1))',
];

const metricIndexes = [
  ...attributeIndexes('ResourceAttributes', 'res_attr'),
  ...attributeIndexes('ScopeAttributes', 'scope_attr'),
  ...attributeIndexes('Attributes', 'attr'),
];

const metricTail = `ENGINE = MergeTree
TTL toDateTime(TimeUnix) + toIntervalDay(180)
PARTITION BY toDate(TimeUnix)
ORDER BY (ServiceName, MetricName, Attributes, toUnixTimestamp64Nano(TimeUnix))
SETTINGS ${TABLE_SETTINGS}`;

const table = (name: string, columns: string[], tail: string) =>
  `CREATE TABLE IF NOT EXISTS ${name} (\n    ${columns.join(',\n    ')}\n)\n${tail}`;

export const OTEL_TABLE_DDL: Record<string, string> = {
  otel_logs: table(
    'otel_logs',
    [
      'Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
      'TimestampTime DateTime DEFAULT toDateTime(Timestamp)',
      'TraceId String CODEC(ZSTD(1))',
      'SpanId String CODEC(ZSTD(1))',
      'TraceFlags UInt8',
      'SeverityText LowCardinality(String) CODEC(ZSTD(1))',
      'SeverityNumber UInt8',
      'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
      'Body String CODEC(ZSTD(1))',
      'ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1))',
      `ResourceAttributes ${MAP} CODEC(ZSTD(1))`,
      'ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1))',
      'ScopeName String CODEC(ZSTD(1))',
      'ScopeVersion LowCardinality(String) CODEC(ZSTD(1))',
      `ScopeAttributes ${MAP} CODEC(ZSTD(1))`,
      `LogAttributes ${MAP} CODEC(ZSTD(1))`,
      'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
      ...attributeIndexes('ResourceAttributes', 'res_attr'),
      ...attributeIndexes('ScopeAttributes', 'scope_attr'),
      ...attributeIndexes('LogAttributes', 'log_attr'),
      'INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8',
    ],
    `ENGINE = MergeTree
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
TTL TimestampTime + toIntervalDay(180)
SETTINGS ${TABLE_SETTINGS}`,
  ),
  otel_traces: table(
    'otel_traces',
    [
      'Timestamp DateTime64(9) CODEC(Delta, ZSTD(1))',
      'TraceId String CODEC(ZSTD(1))',
      'SpanId String CODEC(ZSTD(1))',
      'ParentSpanId String CODEC(ZSTD(1))',
      'TraceState String CODEC(ZSTD(1))',
      'SpanName LowCardinality(String) CODEC(ZSTD(1))',
      'SpanKind LowCardinality(String) CODEC(ZSTD(1))',
      'ServiceName LowCardinality(String) CODEC(ZSTD(1))',
      `ResourceAttributes ${MAP} CODEC(ZSTD(1))`,
      'ScopeName String CODEC(ZSTD(1))',
      'ScopeVersion String CODEC(ZSTD(1))',
      `SpanAttributes ${MAP} CODEC(ZSTD(1))`,
      'Duration UInt64 CODEC(ZSTD(1))',
      'StatusCode LowCardinality(String) CODEC(ZSTD(1))',
      'StatusMessage String CODEC(ZSTD(1))',
      `Events Nested(
      Timestamp DateTime64(9),
      Name LowCardinality(String),
      Attributes ${MAP}
    ) CODEC(ZSTD(1))`,
      `Links Nested(
      TraceId String,
      SpanId String,
      TraceState String,
      Attributes ${MAP}
    ) CODEC(ZSTD(1))`,
      'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
      ...attributeIndexes('ResourceAttributes', 'res_attr'),
      ...attributeIndexes('SpanAttributes', 'span_attr'),
      'INDEX idx_duration Duration TYPE minmax GRANULARITY 1',
    ],
    `ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
TTL toDate(Timestamp) + toIntervalDay(180)
SETTINGS ${TABLE_SETTINGS}`,
  ),
  otel_traces_trace_id_ts: table(
    'otel_traces_trace_id_ts',
    [
      'TraceId String CODEC(ZSTD(1))',
      'Start DateTime CODEC(Delta, ZSTD(1))',
      'End DateTime CODEC(Delta, ZSTD(1))',
      'INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1',
    ],
    `ENGINE = MergeTree
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
TTL toDate(Start) + toIntervalDay(180)
SETTINGS ${TABLE_SETTINGS}`,
  ),
  otel_traces_trace_id_ts_mv: `CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv
TO otel_traces_trace_id_ts
AS SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId`,
  otel_metrics_gauge: table(
    'otel_metrics_gauge',
    [...metricHead, 'Value Float64 CODEC(ZSTD(1))', 'Flags UInt32 CODEC(ZSTD(1))', exemplars, ...metricIndexes],
    metricTail,
  ),
  otel_metrics_sum: table(
    'otel_metrics_sum',
    [
      ...metricHead,
      'Value Float64 CODEC(ZSTD(1))',
      'Flags UInt32 CODEC(ZSTD(1))',
      exemplars,
      'AggregationTemporality Int32 CODEC(ZSTD(1))',
      'IsMonotonic Boolean CODEC(Delta, ZSTD(1))',
      ...metricIndexes,
    ],
    metricTail,
  ),
  otel_metrics_histogram: table(
    'otel_metrics_histogram',
    [
      ...metricHead,
      'Count UInt64 CODEC(Delta, ZSTD(1))',
      'Sum Float64 CODEC(ZSTD(1))',
      'BucketCounts Array(UInt64) CODEC(ZSTD(1))',
      'ExplicitBounds Array(Float64) CODEC(ZSTD(1))',
      exemplars,
      'Flags UInt32 CODEC(ZSTD(1))',
      'Min Float64 CODEC(ZSTD(1))',
      'Max Float64 CODEC(ZSTD(1))',
      'AggregationTemporality Int32 CODEC(ZSTD(1))',
      ...metricIndexes,
    ],
    metricTail,
  ),
};
