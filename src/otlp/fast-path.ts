import { anyValueToString, attrsToMap, type Attrs } from './convert.ts';
import type { LogRecord } from './schema.ts';

/**
 * A log record reduced to what the otel_logs row needs. Both ingest paths
 * produce it: the zod schema (any valid record) and the fast path below.
 */
interface LogFields {
  /** Nanoseconds as a decimal string, or undefined when the record has no time. */
  time: string | undefined;
  traceId: string;
  spanId: string;
  flags: number;
  severityText: string;
  severityNumber: number;
  body: string;
  attributes: Attrs;
}

export function logFields(r: LogRecord): LogFields {
  const time =
    r.timeUnixNano && r.timeUnixNano !== '0'
      ? r.timeUnixNano
      : r.observedTimeUnixNano && r.observedTimeUnixNano !== '0'
        ? r.observedTimeUnixNano
        : undefined;
  return {
    time,
    traceId: r.traceId ?? '',
    spanId: r.spanId ?? '',
    flags: (r.flags ?? 0) & 0xff,
    severityText: r.severityText ?? '',
    severityNumber: r.severityNumber ?? 0,
    body: anyValueToString(r.body),
    attributes: attrsToMap(r.attributes),
  };
}

/*
 * Log records are the bulk of ingest. The fast path checks the plain, common
 * shape of one without zod (scalar values, hex ids, digit-string times) and
 * returns the same LogFields the schema path would, or `undefined` for
 * anything else, which then goes through the schema (and its error messages).
 * test/otlp-fast-path.test.ts holds the two paths to the same answers.
 */

const HEX32 = /^[0-9a-fA-F]{32}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const ZEROS = /^0+$/;
const TIME = /^\d{1,19}$/;
const INT64 = /^-?\d{1,19}$/;
const MAX_TIME = '9200000000000000000';
const KNOWN = new Set([
  'timeUnixNano',
  'observedTimeUnixNano',
  'severityNumber',
  'severityText',
  'body',
  'attributes',
  'flags',
  'traceId',
  'spanId',
]);

/** null: not the plain shape; undefined: absent. */
function time(v: unknown): string | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !TIME.test(v) || (v.length === 19 && v > MAX_TIME)) return null;
  return v.length > 1 && v.charCodeAt(0) === 48 ? v.replace(/^0+(?=\d)/, '') : v;
}

function id(v: unknown, re: RegExp): string | null {
  if (v === undefined || v === '') return '';
  if (typeof v !== 'string' || !re.test(v)) return null;
  return ZEROS.test(v) ? '' : v.toLowerCase();
}

/** A scalar AnyValue as the stored string; null for anything that is not a plain scalar. */
function scalarText(v: unknown): string | null {
  if (typeof v !== 'object' || v === null) return null;
  let out: string | null = '';
  let members = 0;
  for (const k in v) {
    if (++members > 1) return null;
    const x = (v as Record<string, unknown>)[k];
    if (k === 'stringValue' && typeof x === 'string') out = x;
    else if (k === 'intValue' && typeof x === 'string' && INT64.test(x)) out = x;
    else if (k === 'boolValue' && typeof x === 'boolean') out = x ? 'true' : 'false';
    else if (k === 'doubleValue' && typeof x === 'number') out = String(x);
    else return null;
  }
  return out;
}

function attributes(v: unknown): Attrs | null {
  const out: Attrs = {};
  if (v === undefined) return out;
  if (!Array.isArray(v) || v.length > 1024) return null;
  for (let i = 0; i < v.length; i++) {
    const kv = v[i] as { key?: unknown; value?: unknown } | null;
    if (typeof kv !== 'object' || kv === null || typeof kv.key !== 'string' || kv.key.length > 1024) return null;
    for (const k in kv) if (k !== 'key' && k !== 'value') return null;
    if (kv.value === undefined) {
      out[kv.key] = '';
      continue;
    }
    const text = scalarText(kv.value);
    if (text === null) return null;
    out[kv.key] = text;
  }
  return out;
}

export function quickLogFields(raw: unknown): LogFields | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  for (const k in r) if (!KNOWN.has(k)) return undefined;
  const t = time(r.timeUnixNano);
  const o = time(r.observedTimeUnixNano);
  if (t === null || o === null) return undefined;
  const sev = r.severityNumber ?? 0;
  if (typeof sev !== 'number' || !Number.isInteger(sev) || sev < 0 || sev > 24) return undefined;
  const st = r.severityText ?? '';
  if (typeof st !== 'string' || st.length > 64) return undefined;
  const body = r.body === undefined ? '' : scalarText(r.body);
  if (body === null) return undefined;
  const attrs = attributes(r.attributes);
  if (attrs === null) return undefined;
  const f = r.flags ?? 0;
  if (typeof f !== 'number' || !Number.isInteger(f) || f < 0 || f > 0xffffffff) return undefined;
  const traceId = id(r.traceId, HEX32);
  const spanId = id(r.spanId, HEX16);
  if (traceId === null || spanId === null) return undefined;
  return {
    time: t && t !== '0' ? t : o && o !== '0' ? o : undefined,
    traceId,
    spanId,
    flags: f & 0xff,
    severityText: st,
    severityNumber: sev,
    body,
    attributes: attrs,
  };
}
