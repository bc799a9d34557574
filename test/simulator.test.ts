import { describe, expect, it } from 'vitest';
import { simulate, MINUTE, type TelemetryBatch } from '../src/demo/simulator.ts';
import { SCENARIOS } from '../src/demo/scenarios.ts';
import { SHOP, ANALYTICS } from '../src/demo/topology.ts';
import { ExportLogsRequest, ExportTracesRequest, LogRecord, Span as SpanSchema } from '../src/otlp/schema.ts';

const END = Math.floor(Date.UTC(2026, 10, 22, 6, 0) / MINUTE) * MINUTE;

function plan(name: string, seed = 7) {
  const s = SCENARIOS[name]!;
  const faultStart = END - s.faultOffsetMinutes * MINUTE;
  return { workspace: SHOP, disturbance: s.build(faultStart), faultStart, seed };
}

type SimSpan = {
  name: string;
  status: { code: number };
  startTimeUnixNano: string;
  spanId: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string } }[];
};
const spansOf = (b: TelemetryBatch) =>
  b.traces.resourceSpans.flatMap((rs) =>
    rs.scopeSpans.flatMap((ss) =>
      (ss.spans as SimSpan[]).map((s) => ({
        ...s,
        service: rs.resource.attributes.find((a) => a.key === 'service.name')!.value as { stringValue: string },
      })),
    ),
  );
const logsOf = (b: TelemetryBatch) =>
  b.logs.resourceLogs.flatMap((rl) =>
    rl.scopeLogs.flatMap((sl) =>
      (
        sl.logRecords as {
          body: { stringValue: string };
          attributes: { key: string; value: { stringValue?: string } }[];
          timeUnixNano: string;
        }[]
      ).map((r) => ({ ...r, resource: rl.resource.attributes })),
    ),
  );
const ms = (ns: string) => Number(ns.slice(0, -6));
const errorRatio = (b: TelemetryBatch, service: string, from: number, to: number) => {
  const s = spansOf(b).filter(
    (x) =>
      x.service.stringValue === service &&
      x.attributes.some((a) => a.key === 'rpc.grpc.status_code' || a.key === 'http.route') &&
      ms(x.startTimeUnixNano) >= from &&
      ms(x.startTimeUnixNano) < to,
  );
  const server = s.filter((x) => !x.attributes.some((a) => a.key === 'server.address'));
  return server.filter((x) => x.status.code === 2).length / Math.max(1, server.length);
};

describe('demo simulator', () => {
  it('is deterministic, and a range split in two gives the same telemetry', () => {
    const p = plan('payment-bad-deploy');
    const a = simulate(p, END - 20 * MINUTE, END);
    const b = simulate(p, END - 20 * MINUTE, END);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const first = simulate(p, END - 20 * MINUTE, END - 10 * MINUTE);
    const second = simulate(p, END - 10 * MINUTE, END);
    const ids = (x: TelemetryBatch) =>
      spansOf(x)
        .map((s) => s.spanId)
        .sort();
    expect([...ids(first), ...ids(second)].sort()).toEqual(ids(a));
    expect(first.counts.logs + second.counts.logs).toBe(a.counts.logs);
    const other = simulate(plan('payment-bad-deploy', 8), END - 20 * MINUTE, END);
    expect(JSON.stringify(other)).not.toBe(JSON.stringify(a));
  });

  it('writes valid OTLP: every record passes the ingest schema', () => {
    const b = simulate(plan('cart-oom-crashloop'), END - 60 * MINUTE, END);
    expect(ExportLogsRequest.safeParse(b.logs).success).toBe(true);
    expect(ExportTracesRequest.safeParse(b.traces).success).toBe(true);
    for (const rs of b.traces.resourceSpans)
      for (const ss of rs.scopeSpans) for (const s of ss.spans) expect(SpanSchema.safeParse(s).success).toBe(true);
    for (const rl of b.logs.resourceLogs)
      for (const sl of rl.scopeLogs) for (const r of sl.logRecords) expect(LogRecord.safeParse(r).success).toBe(true);
  });

  it('payment-bad-deploy: a rollout, then payment errors that spread to checkout and frontend', () => {
    const p = plan('payment-bad-deploy');
    const b = simulate(p, END - 90 * MINUTE, END);
    const S = p.faultStart;
    expect(errorRatio(b, 'payment', END - 90 * MINUTE, S)).toBe(0);
    expect(errorRatio(b, 'payment', S + MINUTE, END)).toBeGreaterThan(0.2);
    expect(errorRatio(b, 'checkout', S + MINUTE, END)).toBeGreaterThan(0.15);
    expect(errorRatio(b, 'frontend', S + MINUTE, END)).toBeGreaterThan(0);
    expect(errorRatio(b, 'currency', S + MINUTE, END)).toBe(0);
    const events = logsOf(b).filter((l) => l.attributes.some((a) => a.key === 'k8s.event.reason'));
    expect(events.some((e) => /Scaled up replica set payment-/.test(e.body.stringValue) && ms(e.timeUnixNano) === S)).toBe(true);
    const versions = new Set(
      b.traces.resourceSpans
        .filter((rs) =>
          rs.resource.attributes.some((a) => a.key === 'service.name' && (a.value as { stringValue: string }).stringValue === 'payment'),
        )
        .map((rs) => (rs.resource.attributes.find((a) => a.key === 'service.version')!.value as { stringValue: string }).stringValue),
    );
    expect([...versions].sort()).toEqual(['2.4.1', '2.5.0']);
  });

  it('cart-oom-crashloop: OOM kills, back-off and failed cart calls', () => {
    const p = plan('cart-oom-crashloop');
    const b = simulate(p, p.faultStart - 5 * MINUTE, END);
    const reasons = logsOf(b).flatMap((l) => l.attributes.filter((a) => a.key === 'k8s.event.reason').map((a) => a.value.stringValue));
    expect(reasons).toContain('OOMKilling');
    expect(reasons).toContain('BackOff');
    expect(logsOf(b).some((l) => /connection refused/.test(l.body.stringValue))).toBe(true);
  });

  it('auth-bruteforce: bursts of failed logins from a few addresses', () => {
    const p = plan('auth-bruteforce');
    const b = simulate(p, p.faultStart, p.faultStart + 10 * MINUTE);
    const failed = logsOf(b).filter((l) => /login failed/.test(l.body.stringValue));
    expect(failed.length).toBeGreaterThan(500);
    const sources = new Map<string, number>();
    for (const l of failed) {
      const ip = l.attributes.find((a) => a.key === 'client.address')!.value.stringValue!;
      sources.set(ip, (sources.get(ip) ?? 0) + 1);
    }
    const top3 = [...sources.values()]
      .sort((x, y) => y - x)
      .slice(0, 3)
      .reduce((x, y) => x + y, 0);
    expect(top3 / failed.length).toBeGreaterThan(0.95);
  });

  it('recommendation-overprovisioned: requests far above usage', () => {
    const b = simulate(plan('recommendation-overprovisioned'), END - 5 * MINUTE, END);
    const rec = b.metrics.resourceMetrics.filter((rm) =>
      rm.resource.attributes.some((a) => (a.value as { stringValue?: string }).stringValue === 'recommendation'),
    );
    const metrics = rec.flatMap((rm) =>
      rm.scopeMetrics.flatMap((sm) => sm.metrics as { name: string; gauge?: { dataPoints: { asDouble: number }[] } }[]),
    );
    const value = (name: string) => metrics.find((m) => m.name === name)!.gauge!.dataPoints[0]!.asDouble;
    expect(value('k8s.container.cpu_request')).toBe(4);
    expect(value('k8s.pod.cpu.usage')).toBeLessThan(0.3);
  });

  it('keeps the analytics workspace to its own services', () => {
    const b = simulate({ workspace: ANALYTICS, disturbance: {}, faultStart: END, seed: 7 }, END - 10 * MINUTE, END);
    const services = new Set(spansOf(b).map((s) => s.service.stringValue));
    const own = new Set(ANALYTICS.services.map((s) => s.name));
    expect(services.size).toBeGreaterThan(2);
    for (const s of services) expect(own.has(s)).toBe(true);
    for (const rl of b.logs.resourceLogs)
      expect(rl.resource.attributes.find((a) => a.key === 'k8s.namespace.name')!.value).toEqual({ stringValue: 'analytics' });
  });
});
