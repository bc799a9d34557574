import { createHash } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import { OTEL_TABLE_DDL } from './otel-ddl.ts';
import { command, readRows, type Store } from '../clients/clickhouse.ts';

interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/**
 * Versioned and append-only: a released migration never changes; a new need
 * is a new version. Every statement is idempotent (IF NOT EXISTS), so a crash
 * half-way or two replicas starting together re-run safely, and tables the
 * exporter already created are left as they are.
 */
export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'OpenTelemetry exporter tables',
    statements: Object.values(OTEL_TABLE_DDL),
  },
  {
    version: 2,
    name: 'wide events',
    statements: [
      `CREATE TABLE IF NOT EXISTS aiops_wide_events (
    timestamp DateTime64(3) CODEC(Delta, ZSTD(1)),
    tracking_id String CODEC(ZSTD(1)),
    kind LowCardinality(String),
    method LowCardinality(String),
    route LowCardinality(String),
    status UInt16,
    duration_ms Float64,
    workspace LowCardinality(String),
    subject String CODEC(ZSTD(1)),
    error String CODEC(ZSTD(1)),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (timestamp, tracking_id)
TTL toDateTime(timestamp) + toIntervalDay(30)`,
    ],
  },
  {
    version: 3,
    name: 'demo scenario ground truth',
    statements: [
      `CREATE TABLE IF NOT EXISTS aiops_demo_scenarios (
    created_at DateTime64(3),
    workspace String,
    scenario LowCardinality(String),
    seed UInt32,
    window_start DateTime64(3),
    window_end DateTime64(3),
    fault_start Nullable(DateTime64(3)),
    root_service String,
    kind LowCardinality(String),
    affected Array(String),
    description String
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY workspace`,
    ],
  },
  {
    version: 4,
    name: 'knowledge documents and past incidents',
    statements: [
      // Markdown documents people add through the API, per workspace; a newer version replaces, `deleted` removes.
      `CREATE TABLE IF NOT EXISTS aiops_knowledge_documents (
    workspace String,
    path String,
    version UInt64,
    updated_at DateTime64(3),
    updated_by String,
    deleted UInt8,
    hash String,
    markdown String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace, path)`,
      // One row per investigation (thread); later turns of the same thread replace it.
      `CREATE TABLE IF NOT EXISTS aiops_incidents (
    workspace String,
    id String,
    version UInt64,
    created_at DateTime64(3),
    updated_at DateTime64(3),
    thread_id String,
    source LowCardinality(String),
    question String CODEC(ZSTD(3)),
    alertname String,
    root_service String,
    root_kind LowCardinality(String),
    summary String CODEC(ZSTD(3)),
    evidence String CODEC(ZSTD(3)),
    runbooks Array(String)
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace, id)`,
    ],
  },
  {
    version: 5,
    name: 'audit trail of action requests',
    statements: [
      // Append-only: every proposal, decision, request, result and verification. Never a token.
      `CREATE TABLE IF NOT EXISTS aiops_audit (
    at DateTime64(3),
    workspace String,
    kind LowCardinality(String),
    approval_id String,
    thread_id String,
    actor String,
    action LowCardinality(String),
    params String CODEC(ZSTD(1)),
    status LowCardinality(String),
    control_plane_status UInt16,
    detail String CODEC(ZSTD(1)),
    tracking_id String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (workspace, at, approval_id)`,
    ],
  },
  {
    version: 6,
    name: 'incidents open while they last',
    statements: [
      // Rows written before this were completed investigations: closed.
      "ALTER TABLE aiops_incidents ADD COLUMN IF NOT EXISTS status LowCardinality(String) DEFAULT 'closed'",
      'ALTER TABLE aiops_incidents ADD COLUMN IF NOT EXISTS closed_at Nullable(DateTime64(3))',
      'ALTER TABLE aiops_incidents ADD COLUMN IF NOT EXISTS threads Array(String)',
    ],
  },
  {
    version: 7,
    name: 'OTLP request keys',
    statements: [
      // Which tables each OTLP request (workspace, signal and body hash) has written, so a request
      // sent again after a restart is not written twice. The TTL is retention.yaml's dedup window,
      // applied on start; this one is only the starting value.
      `CREATE TABLE IF NOT EXISTS aiops_ingest_keys (
    at DateTime64(3) DEFAULT now64(3),
    key String,
    table_name LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toDate(at)
ORDER BY (key, table_name)
TTL toDateTime(at) + toIntervalSecond(3600)`,
    ],
  },
  {
    version: 8,
    name: 'eval runs and results',
    statements: [
      // One row per case, variant and repeat of an eval run: what was scored, and which prompts
      // (ids, versions, hashes), model and commit produced the answer. Kept without a TTL, like the audit trail.
      `CREATE TABLE IF NOT EXISTS aiops_eval_results (
    run_id String,
    created_at DateTime64(3),
    suite LowCardinality(String),
    case_id String,
    variant String,
    repeat UInt16,
    pass UInt8,
    missed Array(String),
    checks String CODEC(ZSTD(1)),
    rca_rank Int16,
    abstained UInt8,
    unsupported_verifier UInt32,
    unsupported_independent UInt32,
    tools Array(String),
    latency_ms Float64,
    llm_calls UInt32,
    prompt_tokens UInt32,
    completion_tokens UInt32,
    cost Float64,
    path LowCardinality(String),
    model String,
    prompt_ids Array(String),
    prompt_versions Array(UInt32),
    prompt_hashes Array(String),
    commit String,
    tracking_id String,
    thread_id String,
    workspace String,
    tags Array(String)
)
ENGINE = MergeTree
ORDER BY (run_id, suite, case_id, variant, repeat)`,
      // A run's options and, once done, its report (JSON); the latest row of a run wins.
      `CREATE TABLE IF NOT EXISTS aiops_eval_runs (
    run_id String,
    updated_at DateTime64(3),
    created_at DateTime64(3),
    status LowCardinality(String),
    created_by String,
    options String CODEC(ZSTD(1)),
    report String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY run_id`,
    ],
  },
  {
    version: 9,
    name: 'briefings and their schedule slots',
    statements: [
      // One row per briefing (workspace, schedule name and period make its id); a later version
      // (delivery results) replaces it. No TTL: briefings are a record, like incidents.
      `CREATE TABLE IF NOT EXISTS aiops_briefings (
    workspace String,
    id String,
    version UInt64,
    name String,
    period_start DateTime64(3),
    period_end DateTime64(3),
    created_at DateTime64(3),
    quiet UInt8,
    incidents UInt16,
    summary String CODEC(ZSTD(3)),
    body String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (workspace, id)`,
      // Claims of schedule slots by replicas: the earliest claim (by the server's clock) runs the slot.
      `CREATE TABLE IF NOT EXISTS aiops_briefing_slots (
    slot String,
    owner String,
    at DateTime64(6) DEFAULT now64(6)
)
ENGINE = MergeTree
ORDER BY (slot, at)
TTL toDateTime(at) + toIntervalDay(30)`,
    ],
  },
  {
    version: 10,
    name: 'request facts and the LLM cache',
    statements: [
      // Every request's facts, unsampled (request, turn, node, tool, model, grounding, briefing rows):
      // the stats and the trace by tracking id are read from here, never from the sampled wide events.
      `CREATE TABLE IF NOT EXISTS aiops_request_facts (
    timestamp DateTime64(3) CODEC(Delta, ZSTD(1)),
    seq UInt64,
    workspace LowCardinality(String),
    tracking_id String CODEC(ZSTD(1)),
    kind LowCardinality(String),
    name LowCardinality(String),
    status LowCardinality(String),
    duration_ms Float64,
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    numbers Map(LowCardinality(String), Float64) CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace, timestamp, tracking_id)
TTL toDateTime(timestamp) + toIntervalDay(90)`,
      // Model answers by workspace, model, prompt (id and version hash) and a hash of the redacted inputs.
      `CREATE TABLE IF NOT EXISTS aiops_llm_cache (
    workspace LowCardinality(String),
    model LowCardinality(String),
    prompt_id LowCardinality(String),
    prompt_hash String,
    input_hash String,
    created_at DateTime64(3),
    expires_at DateTime64(3),
    output String CODEC(ZSTD(3)),
    input_tokens UInt32,
    output_tokens UInt32
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (workspace, model, prompt_id, prompt_hash, input_hash)
TTL toDateTime(expires_at) + toIntervalDay(1)`,
    ],
  },
];

const checksum = (m: Migration) => createHash('sha256').update(m.statements.join('\n;\n')).digest('hex').slice(0, 16);

interface MigrationResult {
  applied: number[];
  alreadyApplied: number[];
}

export async function migrate(store: Store, logger?: Logger, migrations: Migration[] = MIGRATIONS): Promise<MigrationResult> {
  await command(
    store,
    `CREATE TABLE IF NOT EXISTS aiops_schema_migrations (
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime64(3)
) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  );
  const done = await readRows<{ version: number; checksum: string }>(store, {
    query: 'SELECT version, argMax(checksum, applied_at) AS checksum FROM aiops_schema_migrations GROUP BY version',
  });
  const doneByVersion = new Map(done.map((d) => [Number(d.version), d.checksum]));
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    const previous = doneByVersion.get(m.version);
    if (previous !== undefined) {
      if (previous !== checksum(m)) {
        logger?.warn({ version: m.version, name: m.name }, 'an applied migration differs from the code; it is not re-run');
      }
      result.alreadyApplied.push(m.version);
      continue;
    }
    for (const statement of m.statements) await command(store, statement);
    await command(
      store,
      'INSERT INTO aiops_schema_migrations (version, name, checksum, applied_at) VALUES ({v:UInt32}, {n:String}, {c:String}, now64(3))',
      { v: m.version, n: m.name, c: checksum(m) },
    );
    logger?.info({ version: m.version, name: m.name }, 'migration applied');
    result.applied.push(m.version);
  }
  return result;
}

/** Columns each telemetry table has, read from the database (exporter versions differ). */
export type TableShapes = Map<string, Set<string>>;

export const TELEMETRY_TABLES = ['otel_logs', 'otel_traces', 'otel_metrics_gauge', 'otel_metrics_sum', 'otel_metrics_histogram'] as const;

/** Columns the tools and ingest cannot do without. */
const REQUIRED: Record<(typeof TELEMETRY_TABLES)[number], string[]> = {
  otel_logs: ['Timestamp', 'ServiceName', 'SeverityText', 'SeverityNumber', 'Body', 'ResourceAttributes', 'LogAttributes', 'TraceId'],
  otel_traces: [
    'Timestamp',
    'TraceId',
    'SpanId',
    'ParentSpanId',
    'SpanName',
    'SpanKind',
    'ServiceName',
    'ResourceAttributes',
    'SpanAttributes',
    'Duration',
    'StatusCode',
  ],
  otel_metrics_gauge: ['ServiceName', 'MetricName', 'ResourceAttributes', 'Attributes', 'TimeUnix', 'Value'],
  otel_metrics_sum: ['ServiceName', 'MetricName', 'ResourceAttributes', 'Attributes', 'TimeUnix', 'Value', 'IsMonotonic'],
  otel_metrics_histogram: [
    'ServiceName',
    'MetricName',
    'ResourceAttributes',
    'Attributes',
    'TimeUnix',
    'Count',
    'Sum',
    'BucketCounts',
    'ExplicitBounds',
  ],
};

export async function readTableShapes(store: Store): Promise<TableShapes> {
  const rows = await readRows<{ table: string; name: string }>(store, {
    query: 'SELECT table, name FROM system.columns WHERE database = currentDatabase() AND table IN {tables:Array(String)}',
    params: { tables: [...TELEMETRY_TABLES] },
  });
  const shapes: TableShapes = new Map();
  for (const r of rows) {
    let set = shapes.get(r.table);
    if (!set) {
      set = new Set();
      shapes.set(r.table, set);
    }
    set.add(r.name);
  }
  const missing: string[] = [];
  for (const t of TELEMETRY_TABLES) {
    const cols = shapes.get(t);
    if (!cols) missing.push(`table ${t}`);
    else for (const c of REQUIRED[t]) if (!cols.has(c)) missing.push(`${t}.${c}`);
  }
  if (missing.length) {
    throw new Error(`the telemetry tables do not match the OpenTelemetry exporter schema; missing: ${missing.join(', ')}`);
  }
  return shapes;
}
