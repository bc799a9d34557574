import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../src/clients/clickhouse.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { kv, logRecord, logsPayload, metricsPayload, nanos, tracesPayload } from './helpers/otlp.ts';

let svc: TestService;
let ingestToken: string;
const T0 = Date.now() - 5 * 60_000;

beforeAll(async () => {
  svc = await startTestService({ AIOPS_INGEST_MAX_BODY_BYTES: '65536' });
  ingestToken = await svc.token({ roles: ['ingest'], workspaces: ['shop'] });
});
afterAll(() => svc.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}, token = ingestToken) =>
  svc.request(path, {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });

const rows = <T>(query: string, params?: Record<string, unknown>) => readRows<T>(svc.service.deps.store, { query, params });

describe('OTLP/HTTP JSON ingest', () => {
  it('stores logs with the exporter mapping', async () => {
    const res = await post(
      '/v1/logs',
      logsPayload({ 'service.name': 'checkout', 'k8s.pod.name': 'checkout-1' }, [
        logRecord(T0, 'order placed', {
          severityNumber: 17,
          severityText: 'ERROR',
          traceId: '5B8EFFF798038103D269B633813FC60C',
          spanId: 'EEE19B7EC3C1B174',
          flags: 257,
          attributes: kv({ 'order.id': 'o-1', retries: 3, ok: false, ratio: 0.5 }),
        }),
        { observedTimeUnixNano: nanos(T0 + 1), body: { kvlistValue: { values: kv({ a: 'b' }) } } },
      ]),
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({});
    const stored = await rows<Record<string, unknown>>(
      `SELECT toUnixTimestamp64Milli(Timestamp) AS ms, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
              ResourceAttributes, LogAttributes FROM otel_logs WHERE ServiceName = 'checkout' ORDER BY Timestamp`,
    );
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({
      ms: T0,
      TraceId: '5b8efff798038103d269b633813fc60c',
      SpanId: 'eee19b7ec3c1b174',
      TraceFlags: 1,
      SeverityText: 'ERROR',
      SeverityNumber: 17,
      Body: 'order placed',
      ResourceAttributes: { 'service.name': 'checkout', 'k8s.pod.name': 'checkout-1', 'k8s.namespace.name': 'shop' },
      LogAttributes: { 'order.id': 'o-1', retries: '3', ok: 'false', ratio: '0.5' },
    });
    expect(stored[1]).toMatchObject({ ms: T0 + 1, Body: '{"a":"b"}', TraceId: '' });
  });

  it('stores spans with kind, status, duration, events and links', async () => {
    const res = await post(
      '/v1/traces',
      tracesPayload({ 'service.name': 'payment' }, [
        {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          parentSpanId: '00f067aa0ba902b7',
          name: 'shop.PaymentService/Charge',
          kind: 2,
          startTimeUnixNano: nanos(T0),
          endTimeUnixNano: `${BigInt(nanos(T0)) + 12_345_678n}`,
          attributes: kv({ 'rpc.method': 'Charge' }),
          status: { code: 2, message: 'boom' },
          events: [{ timeUnixNano: nanos(T0 + 5), name: 'exception', attributes: kv({ 'exception.type': 'TypeError' }) }],
          links: [{ traceId: '1af7651916cd43dd8448eb211c80319c', spanId: 'c7ad6b7169203331' }],
        },
      ]),
    );
    expect(res.status).toBe(200);
    const [span] = await rows<Record<string, unknown>>(
      "SELECT SpanKind, StatusCode, StatusMessage, Duration, ParentSpanId, `Events.Name` AS ev, `Events.Attributes` AS ea, `Links.TraceId` AS lt, ScopeName FROM otel_traces WHERE ServiceName = 'payment'",
    );
    expect(span).toEqual({
      SpanKind: 'Server',
      StatusCode: 'Error',
      StatusMessage: 'boom',
      Duration: 12_345_678,
      ParentSpanId: '00f067aa0ba902b7',
      ev: ['exception'],
      ea: [{ 'exception.type': 'TypeError' }],
      lt: ['1af7651916cd43dd8448eb211c80319c'],
      ScopeName: 'test',
    });
  });

  it('stores gauge, sum and histogram points in their tables', async () => {
    const res = await post(
      '/v1/metrics',
      metricsPayload({ 'service.name': 'cart' }, [
        { name: 'k8s.pod.cpu.usage', unit: '{cpu}', gauge: { dataPoints: [{ timeUnixNano: nanos(T0), asDouble: 0.25 }] } },
        {
          name: 'requests_total',
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [{ startTimeUnixNano: nanos(T0 - 60_000), timeUnixNano: nanos(T0), asInt: '42', attributes: kv({ code: '200' }) }],
          },
        },
        {
          name: 'rpc.server.duration',
          unit: 'ms',
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [
              { timeUnixNano: nanos(T0), count: '3', sum: 30, bucketCounts: ['1', '2', '0'], explicitBounds: [5, 25], min: 2, max: 20 },
            ],
          },
        },
      ]),
    );
    expect(res.status).toBe(200);
    expect(await rows("SELECT MetricName, Value FROM otel_metrics_gauge WHERE ServiceName = 'cart'")).toEqual([
      { MetricName: 'k8s.pod.cpu.usage', Value: 0.25 },
    ]);
    expect(
      await rows("SELECT Value, IsMonotonic, AggregationTemporality, Attributes FROM otel_metrics_sum WHERE ServiceName = 'cart'"),
    ).toEqual([{ Value: 42, IsMonotonic: true, AggregationTemporality: 2, Attributes: { code: '200' } }]);
    expect(
      await rows("SELECT Count, Sum, BucketCounts, ExplicitBounds, Min, Max FROM otel_metrics_histogram WHERE ServiceName = 'cart'"),
    ).toEqual([{ Count: 3, Sum: 30, BucketCounts: [1, 2, 0], ExplicitBounds: [5, 25], Min: 2, Max: 20 }]);
  });

  it('accepts part of a batch and reports the rest as OTLP partial success', async () => {
    const res = await post(
      '/v1/logs',
      logsPayload({ 'service.name': 'partial' }, [
        logRecord(T0, 'good one'),
        logRecord(T0, 'bad trace id', { traceId: 'xyz' }),
        logRecord(T0, 'bad severity', { severityNumber: 99 }),
        logRecord(T0, 'good two'),
      ]),
    );
    expect(res.status).toBe(200);
    const body = await json<{ partialSuccess: { rejectedLogRecords: string; errorMessage: string } }>(res);
    expect(body.partialSuccess.rejectedLogRecords).toBe('2');
    expect(body.partialSuccess.errorMessage).toContain('resourceLogs[0].scopeLogs[0].logRecords[1].traceId');
    expect(body.partialSuccess.errorMessage).toContain('logRecords[2].severityNumber');
    expect(await rows("SELECT Body FROM otel_logs WHERE ServiceName = 'partial' ORDER BY Body")).toEqual([
      { Body: 'good one' },
      { Body: 'good two' },
    ]);
  });

  it('counts rejected spans and data points', async () => {
    const spans = await post(
      '/v1/traces',
      tracesPayload({ 'service.name': 'p2' }, [
        { traceId: '0'.repeat(32), spanId: '1'.repeat(16), name: 'x', startTimeUnixNano: '1', endTimeUnixNano: '2' },
        { spanId: 'zz' },
      ]),
    );
    expect(spans.status).toBe(400);
    const metrics = await post(
      '/v1/metrics',
      metricsPayload({ 'service.name': 'p2' }, [
        { name: 'ok', gauge: { dataPoints: [{ timeUnixNano: nanos(T0), asDouble: 1 }, { timeUnixNano: nanos(T0) }] } },
        { name: 'summary.metric', summary: { dataPoints: [{}, {}] } },
      ]),
    );
    expect(metrics.status).toBe(200);
    const body = await json<{ partialSuccess: { rejectedDataPoints: string; errorMessage: string } }>(metrics);
    expect(body.partialSuccess.rejectedDataPoints).toBe('3');
    expect(body.partialSuccess.errorMessage).toMatch(/asDouble or asInt/);
    expect(body.partialSuccess.errorMessage).toMatch(/summary metrics are not stored/);
  });

  it('refuses a body that is not OTLP with 400 naming the fields, writing nothing', async () => {
    const res = await post('/v1/logs', { resourceLogs: [{ scopeLogs: 'nope' }] });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = await json<{ errors: { field: string }[] }>(res);
    expect(body.errors.map((e) => e.field)).toContain('resourceLogs[0].scopeLogs');
    for (const bad of ['{not json', '[]', '']) {
      const r = await post('/v1/logs', bad);
      expect(r.status).toBe(400);
    }
  });

  it('refuses a batch whose every record is invalid, writing nothing', async () => {
    const res = await post(
      '/v1/logs',
      logsPayload({ 'service.name': 'allbad' }, [
        logRecord(T0, 'x', { spanId: 'nothex' }),
        logRecord(T0, 'y', { timeUnixNano: 'yesterday' }),
      ]),
    );
    expect(res.status).toBe(400);
    expect((await json(res)).detail).toMatch(/all 2 records were rejected/);
    expect(await rows("SELECT count() AS n FROM otel_logs WHERE ServiceName = 'allbad'")).toEqual([{ n: 0 }]);
  });

  it('refuses rows for another workspace than the token’s', async () => {
    const res = await post('/v1/logs', {
      resourceLogs: [
        {
          resource: { attributes: kv({ 'service.name': 'spy', 'k8s.namespace.name': 'analytics' }) },
          scopeLogs: [{ logRecords: [logRecord(T0, 'sneaky')] }],
        },
        { resource: { attributes: kv({ 'service.name': 'spy' }) }, scopeLogs: [{ logRecords: [logRecord(T0, 'mine')] }] },
      ],
    });
    expect(res.status).toBe(200);
    const body = await json<{ partialSuccess: { rejectedLogRecords: string; errorMessage: string } }>(res);
    expect(body.partialSuccess.rejectedLogRecords).toBe('1');
    expect(body.partialSuccess.errorMessage).toMatch(/outside the token's workspace "shop"/);
    expect(await rows("SELECT Body, ResourceAttributes['k8s.namespace.name'] AS ws FROM otel_logs WHERE ServiceName = 'spy'")).toEqual([
      { Body: 'mine', ws: 'shop' },
    ]);
  });

  it('writes a retried request once', async () => {
    const payload = logsPayload({ 'service.name': 'retry' }, [logRecord(T0, 'once'), logRecord(T0 + 1, 'twice?')]);
    expect((await post('/v1/logs', payload)).status).toBe(200);
    expect((await post('/v1/logs', payload)).status).toBe(200);
    expect(await rows("SELECT count() AS n FROM otel_logs WHERE ServiceName = 'retry'")).toEqual([{ n: 2 }]);
  });

  it('reports records older than the retention, or ahead of the clock, as rejected instead of accepting them', async () => {
    const day = 86_400_000;
    const res = await post(
      '/v1/logs',
      logsPayload({ 'service.name': 'aged' }, [
        logRecord(Date.now() - 200 * day, 'long gone 1'),
        logRecord(Date.now() - 181 * day, 'long gone 2'),
        logRecord(Date.now() - 365 * day, 'long gone 3'),
        logRecord(T0, 'fresh'),
        logRecord(Date.now() + 3 * 3_600_000, 'from the future'),
      ]),
    );
    expect(res.status).toBe(200);
    const body = await json<{ partialSuccess: { rejectedLogRecords: string; errorMessage: string } }>(res);
    expect(body.partialSuccess.rejectedLogRecords).toBe('4');
    expect(body.partialSuccess.errorMessage).toContain('3 records older than the 180-day retention of otel_logs were not stored');
    expect(body.partialSuccess.errorMessage).toMatch(/1 record more than 1h ahead of the service's clock \(after \S+Z\) was not stored/);
    expect(await rows("SELECT Body FROM otel_logs WHERE ServiceName = 'aged'")).toEqual([{ Body: 'fresh' }]);
  });

  it('checks spans and data points against their own tables, to the day where the TTL counts whole days', async () => {
    const day = 86_400_000;
    // otel_traces drops a span with the rest of its day: 180 days and an hour before the next midnight is gone already.
    const nextMidnight = Math.ceil(Date.now() / day) * day;
    const span = (id: string, start: number) => ({
      traceId: 'c'.repeat(31) + id,
      spanId: 'd'.repeat(15) + id,
      name: 'GET /',
      startTimeUnixNano: nanos(start),
      endTimeUnixNano: nanos(start + 5),
    });
    const traces = await post(
      '/v1/traces',
      tracesPayload({ 'service.name': 'aged-spans' }, [span('1', nextMidnight - 181 * day - 3_600_000), span('2', T0)]),
    );
    expect(await json(traces)).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: '1 record older than the 180-day retention of otel_traces was not stored' },
    });
    const metrics = await post(
      '/v1/metrics',
      metricsPayload({ 'service.name': 'aged-points' }, [
        {
          name: 'g',
          gauge: {
            dataPoints: [
              { timeUnixNano: nanos(Date.now() - 190 * day), asDouble: 1 },
              { timeUnixNano: nanos(T0), asDouble: 2 },
            ],
          },
        },
        { name: 's', sum: { dataPoints: [{ timeUnixNano: '1', asInt: '1' }] } },
      ]),
    );
    const m = await json<{ partialSuccess: { rejectedDataPoints: string; errorMessage: string } }>(metrics);
    expect(m.partialSuccess.rejectedDataPoints).toBe('2');
    expect(m.partialSuccess.errorMessage).toContain('1 record older than the 180-day retention of otel_metrics_gauge was not stored');
    expect(m.partialSuccess.errorMessage).toContain('1 record older than the 180-day retention of otel_metrics_sum was not stored');
    expect(await rows("SELECT count() AS n FROM otel_traces WHERE ServiceName = 'aged-spans'")).toEqual([{ n: 1 }]);
    expect(await rows("SELECT Value FROM otel_metrics_gauge WHERE ServiceName = 'aged-points'")).toEqual([{ Value: 2 }]);
    expect(await rows("SELECT count() AS n FROM otel_metrics_sum WHERE ServiceName = 'aged-points'")).toEqual([{ n: 0 }]);
  });

  it('answers a request whose every record is too old with partial success, not 400: the records were valid', async () => {
    const res = await post(
      '/v1/logs',
      logsPayload({ 'service.name': 'all-aged' }, [logRecord(1, 'epoch+1ms'), logRecord(1000, 'epoch+1s')]),
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      partialSuccess: { rejectedLogRecords: '2', errorMessage: '2 records older than the 180-day retention of otel_logs were not stored' },
    });
    expect(await rows("SELECT count() AS n FROM otel_logs WHERE ServiceName = 'all-aged'")).toEqual([{ n: 0 }]);
  });

  it('accepts gzip bodies and limits their decompressed size', async () => {
    const payload = JSON.stringify(logsPayload({ 'service.name': 'zipped' }, [logRecord(T0, 'compressed')]));
    const ok = await post('/v1/logs', gzipSync(payload), { 'Content-Encoding': 'gzip' });
    expect(ok.status).toBe(200);
    const bomb = gzipSync(JSON.stringify(logsPayload({ 'service.name': 'zipped' }, [logRecord(T0, 'x'.repeat(200_000))])));
    expect(bomb.length).toBeLessThan(65536);
    const res = await post('/v1/logs', bomb, { 'Content-Encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect((await json(res)).limit_bytes).toBe(65536);
  });

  it('answers 413 for a body over the limit and 415 for protobuf', async () => {
    const big = await post('/v1/logs', logsPayload({ 'service.name': 'big' }, [logRecord(T0, 'y'.repeat(70_000))]));
    expect(big.status).toBe(413);
    const proto = await post('/v1/logs', new Uint8Array([1, 2, 3]), { 'Content-Type': 'application/x-protobuf' });
    expect(proto.status).toBe(415);
    expect((await json(proto)).detail).toMatch(/encoding to json/);
    expect(await rows("SELECT count() AS n FROM otel_logs WHERE ServiceName = 'big'")).toEqual([{ n: 0 }]);
  });

  it('needs the ingest role', async () => {
    const res = await post('/v1/logs', logsPayload({}, []), {}, await svc.token({ roles: ['sre'] }));
    expect(res.status).toBe(403);
  });
});
