/** Small OTLP/JSON builders for tests. */
export const kv = (attrs: Record<string, string | number | boolean>) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value:
      typeof v === 'number'
        ? Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : { stringValue: v },
  }));

export const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

export function logsPayload(resource: Record<string, string>, records: unknown[]) {
  return { resourceLogs: [{ resource: { attributes: kv(resource) }, scopeLogs: [{ scope: { name: 'test' }, logRecords: records }] }] };
}

export function tracesPayload(resource: Record<string, string>, spans: unknown[]) {
  return { resourceSpans: [{ resource: { attributes: kv(resource) }, scopeSpans: [{ scope: { name: 'test', version: '1' }, spans }] }] };
}

export function metricsPayload(resource: Record<string, string>, metrics: unknown[]) {
  return { resourceMetrics: [{ resource: { attributes: kv(resource) }, scopeMetrics: [{ scope: { name: 'test' }, metrics }] }] };
}

export function logRecord(ms: number, body: string, extra: Record<string, unknown> = {}) {
  return { timeUnixNano: nanos(ms), severityNumber: 9, severityText: 'INFO', body: { stringValue: body }, ...extra };
}
