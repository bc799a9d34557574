import { describe, expect, it } from 'vitest';
import { logRequests, metricRequests, parseLogLine, parseTime, serviceOfPod, spanRequests } from '../bench/rca-convert.ts';

const naming = { tenantAttribute: 'k8s.namespace.name', workspace: 'lab' };
const T0 = Date.UTC(2024, 0, 2, 10, 0, 0);
const keep = { shiftMs: 0, from: 0, to: Number.MAX_SAFE_INTEGER };

type Attr = { key: string; value: { stringValue: string } };
const attrs = (list: Attr[]) => Object.fromEntries(list.map((a) => [a.key, a.value.stringValue]));

describe('replaying exported telemetry tables as OTLP', () => {
  it('names the service after the pod without its two generated parts', () => {
    expect(serviceOfPod('web-api-7d9f8b6c5-x2x7q')).toBe('web-api');
    expect(serviceOfPod('single')).toBe('single');
  });

  it('reads the time shapes exports use, as UTC', () => {
    expect(parseTime('2024-01-02 10:00:00.5 +0000 UTC m=+0.39')).toBe(T0 + 500);
    expect(parseTime('2024-01-02T10:00:00Z')).toBe(T0);
    expect(parseTime(String(T0 / 1000))).toBe(T0);
    expect(parseTime(`${BigInt(T0) * 1_000_000n}`)).toBe(T0);
  });

  it('turns each numeric column of a metric table into a gauge of the pod, shifted, skipping empty cells', () => {
    const rows = [
      { Time: '2024-01-02 10:00:00', TimeStamp: '1', PodName: 'web-api-7d9f8b6c5-x2x7q', 'Load(%)': '12.5', Queue: '' },
      { Time: '2024-01-02 10:01:00', TimeStamp: '2', PodName: 'web-api-7d9f8b6c5-x2x7q', 'Load(%)': 'NaN', Queue: '3' },
      { Time: '2024-01-02 11:00:00', TimeStamp: '3', PodName: 'web-api-7d9f8b6c5-x2x7q', 'Load(%)': '99', Queue: '9' },
    ];
    const [req, ...rest] = metricRequests(rows, { shiftMs: 60_000, from: T0, to: T0 + 30 * 60_000 }, naming) as {
      resourceMetrics: {
        resource: { attributes: Attr[] };
        scopeMetrics: { metrics: { name: string; unit: string; gauge: { dataPoints: { timeUnixNano: string; asDouble: number }[] } }[] }[];
      }[];
    }[];
    expect(rest).toHaveLength(0);
    const rm = req!.resourceMetrics[0]!;
    expect(attrs(rm.resource.attributes)).toEqual({
      'service.name': 'web-api',
      'k8s.pod.name': 'web-api-7d9f8b6c5-x2x7q',
      'k8s.namespace.name': 'lab',
    });
    const metrics = rm.scopeMetrics[0]!.metrics;
    expect(metrics.map((m) => [m.name, m.unit, m.gauge.dataPoints.length])).toEqual([
      ['Load', '%', 1],
      ['Queue', '', 1],
    ]);
    expect(metrics[0]!.gauge.dataPoints[0]).toEqual({ timeUnixNano: `${BigInt(T0 + 60_000) * 1_000_000n}`, asDouble: 12.5 });
  });

  it('infers span kinds from which pod calls which', () => {
    const ns = (ms: number) => `${BigInt(T0 + ms) * 1_000_000n}`;
    const trace = 'a'.repeat(32);
    const rows = [
      {
        TraceID: trace,
        SpanID: '1'.repeat(16),
        ParentID: 'root',
        PodName: 'web-a-1-x',
        OperationName: 'GET /',
        StartTimeUnixNano: ns(0),
        EndTimeUnixNano: ns(50),
      },
      {
        TraceID: trace,
        SpanID: '2'.repeat(16),
        ParentID: '1'.repeat(16),
        PodName: 'web-a-1-x',
        OperationName: 'call db',
        StartTimeUnixNano: ns(1),
        EndTimeUnixNano: ns(40),
      },
      {
        TraceID: trace,
        SpanID: '3'.repeat(16),
        ParentID: '2'.repeat(16),
        PodName: 'db-b-2-y',
        OperationName: 'query',
        StartTimeUnixNano: ns(5),
        EndTimeUnixNano: ns(30),
      },
      {
        TraceID: trace,
        SpanID: '4'.repeat(16),
        ParentID: '1'.repeat(16),
        PodName: 'web-a-1-x',
        OperationName: 'render',
        StartTimeUnixNano: ns(41),
        EndTimeUnixNano: ns(49),
      },
    ];
    const reqs = spanRequests(rows, keep, naming) as {
      resourceSpans: {
        resource: { attributes: Attr[] };
        scopeSpans: { spans: { spanId: string; kind: number; parentSpanId?: string }[] }[];
      }[];
    }[];
    const kinds = Object.fromEntries(
      reqs.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans[0]!.spans.map((s) => [s.spanId[0], s.kind]))),
    );
    // 2 = server, 3 = client, 1 = internal
    expect(kinds).toEqual({ '1': 2, '2': 3, '3': 2, '4': 1 });
    const root = reqs.flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans[0]!.spans)).find((s) => s.spanId[0] === '1')!;
    expect(root.parentSpanId).toBeUndefined();
  });

  it('reads severity from a structured line, a plain line, or a runtime envelope', () => {
    expect(parseLogLine('{"log":"{\\"message\\":\\"charge failed\\",\\"severity\\":\\"error\\"}\\n","stream":"stdout"}')).toEqual({
      body: 'charge failed',
      severity: { severityNumber: 17, severityText: 'ERROR' },
    });
    expect(parseLogLine('{"log":"20:06:10.136 WARN  o.s.Impl#324 slow query\\n"}').severity).toEqual({
      severityNumber: 13,
      severityText: 'WARN',
    });
    expect(parseLogLine('no level here').severity).toBeUndefined();
  });

  it('keeps trace context on log records and drops rows outside the range', () => {
    const rows = [
      {
        Timestamp: '2024-01-02T10:00:00Z',
        TimeUnixNano: `${BigInt(T0) * 1_000_000n}`,
        PodName: 'web-a-1-x',
        TraceID: 'b'.repeat(32),
        SpanID: 'c'.repeat(16),
        Log: 'INFO ok',
      },
      {
        Timestamp: '2024-01-02T12:00:00Z',
        TimeUnixNano: `${BigInt(T0 + 7_200_000) * 1_000_000n}`,
        PodName: 'web-a-1-x',
        TraceID: '',
        SpanID: '',
        Log: 'ERROR late',
      },
    ];
    const reqs = logRequests(rows, { shiftMs: 0, from: T0, to: T0 + 3_600_000 }, naming) as {
      resourceLogs: { scopeLogs: { logRecords: { traceId?: string; spanId?: string; severityText?: string }[] }[] }[];
    }[];
    const records = reqs.flatMap((r) => r.resourceLogs.flatMap((rl) => rl.scopeLogs[0]!.logRecords));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ traceId: 'b'.repeat(32), spanId: 'c'.repeat(16), severityText: 'INFO' });
  });
});
