import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestService } from './helpers/service.ts';
import { createTracing } from '../src/observability/tracing.ts';

describe('OTLP export of the service’s own spans', () => {
  it('sends the turn’s spans as OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_ENDPOINT, continuing the caller’s trace', async () => {
    const received: { path: string; type: string; body: Buffer }[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
        res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const exporting = await startTestService({ OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` });
    try {
      expect(exporting.service.deps.tracing.enabled).toBe(true);
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await exporting.request('/v1/chat', {
        method: 'POST',
        token: await exporting.token({ roles: ['sre'] }),
        headers: { 'Content-Type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        body: JSON.stringify({ message: 'how is checkout doing?' }),
      });
      expect(res.status).toBe(200);
      await exporting.service.deps.tracing.forceFlush();
      expect(received.length).toBeGreaterThan(0);
      expect(received.every((r) => r.path === '/v1/traces' && r.type === 'application/x-protobuf')).toBe(true);
      const body = Buffer.concat(received.map((r) => r.body));
      // Protobuf keeps strings and ids as they are: the span names, the service name and the caller's trace id.
      for (const s of ['POST /v1/chat', 'invoke_agent chat', 'node route', 'hks-aiops'])
        expect(body.includes(Buffer.from(s)), s).toBe(true);
      expect(body.includes(Buffer.from(traceId, 'hex'))).toBe(true);
    } finally {
      await exporting.close();
      server.close();
    }
    // Without the variable, the tracer is a no-op.
    const off = createTracing({});
    expect(off.enabled).toBe(false);
    expect(off.tracer.startSpan('x').isRecording()).toBe(false);
  });
});
