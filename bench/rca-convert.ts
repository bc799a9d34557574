/**
 * Turns a folder of exported telemetry CSVs into OTLP/JSON requests, the way
 * a Collector would send them. Generic by design: no file, pod, service or
 * column name is special-cased; what a table holds is read from its header.
 *
 * - a metric table (a time and a pod column) → one gauge per other numeric column, on the pod's resource;
 * - a span table (trace, span and parent ids, a pod, start and end) → spans, kind inferred from who calls whom;
 * - a log table (a time, a pod, the raw line) → log records, severity from the line.
 *
 * All times move by `shiftMs` so old data lands inside retention.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';

export type Row = Record<string, string>;

export interface Shift {
  /** Added to every time. */
  shiftMs: number;
  /** Only rows whose original time is in [from, to) (ms). */
  from: number;
  to: number;
}

export interface ResourceNaming {
  /** The resource attribute that names the workspace, and its value. */
  tenantAttribute: string;
  workspace: string;
}

interface KeyValue {
  key: string;
  value: { stringValue: string };
}

/** Kubernetes names a pod after its workload plus two generated parts (replica set hash, pod suffix). */
export function serviceOfPod(pod: string): string {
  const parts = pod.split('-');
  return parts.length > 2 ? parts.slice(0, -2).join('-') : pod;
}

export function readCsv(file: string): Row[] {
  return parse(fs.readFileSync(file), { columns: true, skip_empty_lines: true, relax_column_count: true }) as Row[];
}

/** The first header matching `re` (case-insensitive). */
function column(header: string[], re: RegExp): string | undefined {
  return header.find((h) => re.test(h));
}

/**
 * Milliseconds since the epoch from the shapes exports use: ISO 8601,
 * "YYYY-MM-DD HH:MM:SS[.frac] [+0000 UTC …]" (taken as UTC), or epoch
 * seconds, milliseconds or nanoseconds.
 */
export function parseTime(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    if (s.length >= 18) return Number(BigInt(s.split('.')[0]!) / 1_000_000n);
    return n < 1e11 ? n * 1000 : n;
  }
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?/.exec(s);
  if (!m) return undefined;
  const frac = m[3] ? m[3].slice(0, 4) : '';
  const offset = /(Z|[+-]\d{2}:?\d{2})$/.exec(s.split(/\s+/)[0]!)?.[1];
  const t = Date.parse(`${m[1]}T${m[2]}${frac}${offset ?? 'Z'}`);
  return Number.isFinite(t) ? t : undefined;
}

/** The value under `key`, created by `make` the first time. */
function slot<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

const nanosOf = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

function resource(pod: string, naming: ResourceNaming): { attributes: KeyValue[] } {
  return {
    attributes: [
      { key: 'service.name', value: { stringValue: serviceOfPod(pod) } },
      { key: 'k8s.pod.name', value: { stringValue: pod } },
      { key: naming.tenantAttribute, value: { stringValue: naming.workspace } },
    ],
  };
}

const scope = { name: 'csv-replay', version: '1' };

/** A header like "Latency(s)" names the metric "Latency" with unit "s". */
export function metricName(header: string): { name: string; unit: string } {
  const m = /^(.*?)\s*\(([^)]*)\)\s*$/.exec(header);
  return m ? { name: m[1]!.trim(), unit: m[2]!.trim() } : { name: header.trim(), unit: '' };
}

export interface TableKinds {
  time?: string;
  pod?: string;
}

/**
 * OTLP metrics requests from a metric table: one request per pod, a gauge
 * per numeric column. Columns that are times or names are not metrics;
 * empty and non-finite cells are skipped (a scrape that returned nothing).
 */
export function metricRequests(rows: Row[], shift: Shift, naming: ResourceNaming): unknown[] {
  if (rows.length === 0) return [];
  const header = Object.keys(rows[0]!);
  const time = column(header, /^time$/i) ?? column(header, /time/i);
  const pod = column(header, /pod/i);
  if (!time || !pod) return [];
  const isTimeColumn = (h: string) => /^(time|time.?stamp|date|date.?time)$/i.test(h.trim());
  const byPod = new Map<string, Map<string, { unit: string; points: { timeUnixNano: string; asDouble: number }[] }>>();
  for (const row of rows) {
    const t = parseTime(row[time]);
    const p = row[pod];
    if (t === undefined || !p || t < shift.from || t >= shift.to) continue;
    const metrics = slot(byPod, p, () => new Map());
    for (const h of header) {
      if (h === pod || isTimeColumn(h)) continue;
      const raw = row[h];
      if (raw === undefined || raw.trim() === '') continue;
      const v = Number(raw);
      if (!Number.isFinite(v)) continue;
      const { name, unit } = metricName(h);
      const m = slot(metrics, name, () => ({ unit, points: [] }));
      m.points.push({ timeUnixNano: nanosOf(t + shift.shiftMs), asDouble: v });
    }
  }
  return [...byPod.entries()].map(([p, metrics]) => ({
    resourceMetrics: [
      {
        resource: resource(p, naming),
        scopeMetrics: [
          {
            scope,
            metrics: [...metrics.entries()].map(([name, m]) => ({ name, unit: m.unit, gauge: { dataPoints: m.points } })),
          },
        ],
      },
    ],
  }));
}

const HEX16 = /^[0-9a-f]{16}$/i;
const HEX32 = /^[0-9a-f]{32}$/i;

/** Nanosecond epoch times as strings, shifted; `undefined` when the cell is not a time. */
function shiftedNanos(v: string | undefined, shiftMs: number): { ns: bigint; ms: number } | undefined {
  if (!v) return undefined;
  if (/^\d{16,20}$/.test(v.trim())) {
    const ns = BigInt(v.trim());
    return { ns: ns + BigInt(shiftMs) * 1_000_000n, ms: Number(ns / 1_000_000n) };
  }
  const ms = parseTime(v);
  return ms === undefined ? undefined : { ns: BigInt(Math.round(ms + shiftMs)) * 1_000_000n, ms };
}

/** OTLP status code from a status cell, if the table has one: errors by name or by HTTP/gRPC code. */
function statusOf(v: string | undefined): { code: number } | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const s = v.trim().toLowerCase();
  if (/err|fail|exception/.test(s)) return { code: 2 };
  const n = Number(s);
  if (Number.isFinite(n)) return n >= 500 || (n > 0 && n < 100) ? { code: 2 } : undefined;
  return undefined;
}

/**
 * OTLP traces requests from span tables. A span is a server span when it
 * starts a trace or its parent runs in another pod; a client span when a
 * child of it runs in another pod; otherwise internal. Requests hold at most
 * `batch` spans.
 */
export function spanRequests(rows: Row[], shift: Shift, naming: ResourceNaming, batch = 2000): unknown[] {
  if (rows.length === 0) return [];
  const header = Object.keys(rows[0]!);
  const trace = column(header, /^trace.?id$/i);
  const span = column(header, /^span.?id$/i);
  const parent = column(header, /^parent/i);
  const pod = column(header, /pod/i);
  const name = column(header, /operation|span.?name|^name$/i);
  const start = column(header, /^start/i);
  const end = column(header, /^end/i);
  const status = column(header, /status/i);
  if (!trace || !span || !pod || !start || !end) return [];
  const podOf = new Map<string, string>();
  const childPods = new Map<string, Set<string>>();
  for (const r of rows) {
    const id = `${r[trace]}|${r[span]}`;
    podOf.set(id, r[pod]!);
  }
  for (const r of rows) {
    const p = parent ? r[parent] : undefined;
    if (!p || !HEX16.test(p)) continue;
    const key = `${r[trace]}|${p}`;
    slot(childPods, key, () => new Set<string>()).add(r[pod]!);
  }
  const byPod = new Map<string, unknown[]>();
  for (const r of rows) {
    const traceId = r[trace] ?? '';
    const spanId = r[span] ?? '';
    const p = r[pod];
    if (!HEX32.test(traceId) || !HEX16.test(spanId) || !p) continue;
    const s = shiftedNanos(r[start], shift.shiftMs);
    const e = shiftedNanos(r[end], shift.shiftMs);
    if (!s || !e || s.ms < shift.from || s.ms >= shift.to) continue;
    const parentId = parent && HEX16.test(r[parent] ?? '') ? r[parent]! : undefined;
    const parentPod = parentId ? podOf.get(`${traceId}|${parentId}`) : undefined;
    const children = childPods.get(`${traceId}|${spanId}`);
    const kind = !parentId || parentPod !== p ? 2 : children && [...children].some((c) => c !== p) ? 3 : 1;
    const st = statusOf(status ? r[status] : undefined);
    slot(byPod, p, (): unknown[] => []).push({
      traceId,
      spanId,
      ...(parentId ? { parentSpanId: parentId } : {}),
      name: (name ? r[name] : '') || 'span',
      kind,
      startTimeUnixNano: s.ns.toString(),
      // biome-ignore lint/complexity/useMathMinMax: Math.max takes no BigInt
      endTimeUnixNano: (e.ns < s.ns ? s.ns : e.ns).toString(),
      ...(st ? { status: st } : {}),
    });
  }
  return pack(byPod, batch, (p, spans) => ({ resource: resource(p, naming), scopeSpans: [{ scope, spans }] })).map((resourceSpans) => ({
    resourceSpans,
  }));
}

/**
 * Packs the items of many pods into requests of at most `batch` items, each
 * pod a resource entry: one INSERT per request, so many small pods share one.
 */
function pack<T, R>(byPod: Map<string, T[]>, batch: number, entry: (pod: string, items: T[]) => R): R[][] {
  const requests: R[][] = [];
  let current: R[] = [];
  let size = 0;
  for (const [p, items] of byPod) {
    for (let i = 0; i < items.length; i += batch) {
      const part = items.slice(i, i + batch);
      if (size + part.length > batch && current.length) {
        requests.push(current);
        current = [];
        size = 0;
      }
      current.push(entry(p, part));
      size += part.length;
    }
  }
  if (current.length) requests.push(current);
  return requests;
}

const SEVERITY: [RegExp, number, string][] = [
  [/^(fatal|critical|crit|panic|emerg)/i, 21, 'FATAL'],
  [/^(error|err|severe)/i, 17, 'ERROR'],
  [/^warn/i, 13, 'WARN'],
  [/^(info|notice|information)/i, 9, 'INFO'],
  [/^debug/i, 5, 'DEBUG'],
  [/^trace/i, 1, 'TRACE'],
];

function severityOf(word: string | undefined): { severityNumber: number; severityText: string } | undefined {
  if (!word) return undefined;
  for (const [re, n, text] of SEVERITY) if (re.test(word.trim())) return { severityNumber: n, severityText: text };
  return undefined;
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

function tryJson(s: string): Record<string, unknown> | undefined {
  const t = s.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    return asRecord(JSON.parse(t));
  } catch {
    return undefined;
  }
}

/**
 * A container log line as the runtime wrote it: the body and severity. A
 * JSON envelope ({"log": …}) is unwrapped; a structured line gives its
 * message and severity (or level) fields; a plain line its first level word.
 */
export function parseLogLine(raw: string): { body: string; severity?: { severityNumber: number; severityText: string } } {
  let text = raw;
  const outer = tryJson(raw);
  if (outer) {
    const inner = ['log', 'message', 'msg'].map((k) => outer[k]).find((v) => typeof v === 'string');
    if (typeof inner === 'string') text = inner;
  }
  const structured = tryJson(text);
  if (structured) {
    const level = ['severity', 'level', 'lvl', 'loglevel'].map((k) => structured[k]).find((v) => typeof v === 'string') as
      | string
      | undefined;
    const message = ['message', 'msg'].map((k) => structured[k]).find((v) => typeof v === 'string') as string | undefined;
    return { body: (message ?? text).trim(), severity: severityOf(level) };
  }
  const word = /\b(FATAL|CRITICAL|ERROR|SEVERE|WARN(?:ING)?|INFO|DEBUG|TRACE)\b/.exec(text)?.[1];
  return { body: text.trim(), severity: severityOf(word) };
}

/** OTLP logs requests from a log table, at most `batch` records each. */
export function logRequests(rows: Row[], shift: Shift, naming: ResourceNaming, batch = 2000): unknown[] {
  if (rows.length === 0) return [];
  const header = Object.keys(rows[0]!);
  const nanosColumn = column(header, /nano/i);
  const time = column(header, /^time(stamp)?$/i) ?? column(header, /time/i);
  const pod = column(header, /pod/i);
  const line = column(header, /^(log|line|message|body)$/i);
  const trace = column(header, /^trace.?id$/i);
  const span = column(header, /^span.?id$/i);
  if (!pod || !line || (!nanosColumn && !time)) return [];
  const byPod = new Map<string, unknown[]>();
  for (const r of rows) {
    const p = r[pod];
    const t =
      shiftedNanos(nanosColumn ? r[nanosColumn] : r[time!], shift.shiftMs) ?? (time ? shiftedNanos(r[time], shift.shiftMs) : undefined);
    if (!p || !t || t.ms < shift.from || t.ms >= shift.to) continue;
    const { body, severity } = parseLogLine(r[line] ?? '');
    slot(byPod, p, (): unknown[] => []).push({
      timeUnixNano: t.ns.toString(),
      ...(severity ?? {}),
      body: { stringValue: body.slice(0, 8000) },
      ...(trace && HEX32.test(r[trace] ?? '') ? { traceId: r[trace] } : {}),
      ...(span && HEX16.test(r[span] ?? '') ? { spanId: r[span] } : {}),
    });
  }
  return pack(byPod, batch, (p, logRecords) => ({ resource: resource(p, naming), scopeLogs: [{ scope, logRecords }] })).map(
    (resourceLogs) => ({ resourceLogs }),
  );
}

/** An injected fault as a fault list names it. */
export interface Fault {
  at: number;
  pod: string;
  service: string;
  type: string;
}

/**
 * The injections of a day folder: every `*fault_list.json` in it, an object
 * of groups (or an array) of {inject_time | inject_timestamp, inject_pod, inject_type}.
 */
export function readFaults(dir: string): Fault[] {
  const out: Fault[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => /fault.*\.json$/i.test(n))) {
    const parsed: unknown = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    const groups = Array.isArray(parsed) ? [parsed] : Object.values(asRecord(parsed) ?? {});
    for (const g of groups) {
      if (!Array.isArray(g)) continue;
      for (const item of g) {
        const x = asRecord(item);
        if (!x) continue;
        // The written time first: where the two disagree, the recorded traces follow it.
        const at = parseTime(String(x.inject_time ?? '')) ?? parseTime(String(x.inject_timestamp ?? ''));
        const pod = String(x.inject_pod ?? '');
        if (at === undefined || !pod) continue;
        out.push({ at, pod, service: serviceOfPod(pod), type: String(x.inject_type ?? 'unknown') });
      }
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/** CSV files under a day folder's subfolder, sorted; none if it is missing. */
export function csvFiles(dir: string, sub: string): string[] {
  const d = path.join(dir, sub);
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d)
    .filter((f) => f.endsWith('.csv'))
    .sort()
    .map((f) => path.join(d, f));
}
