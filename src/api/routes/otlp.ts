import { createHash } from 'node:crypto';
import { createRoute, z } from '@hono/zod-openapi';
import { readJson } from '../body.ts';
import { problems } from '../../core/problem.ts';
import { requireScope } from '../middleware/auth.ts';
import { bearerAuth, json, problemResponses, router, workspaceHeader } from '../openapi.ts';
import type { AppDeps } from '../deps.ts';

const SIGNALS = {
  logs: { rejected: 'rejectedLogRecords', request: 'ExportLogsServiceRequest', operationId: 'exportLogs' },
  metrics: { rejected: 'rejectedDataPoints', request: 'ExportMetricsServiceRequest', operationId: 'exportMetrics' },
  traces: { rejected: 'rejectedSpans', request: 'ExportTraceServiceRequest', operationId: 'exportTraces' },
} as const;

/** Ingest requests that run at once (each holds its body in memory). */
const MAX_IN_FLIGHT = 16;
/** A burst beyond them waits in line this long at most, this many deep, before 429 (OTLP clients back off and retry). */
const MAX_WAITING = 4 * MAX_IN_FLIGHT;
const MAX_WAIT_MS = 5000;

const busy = () => problems.tooManyRequests('too many ingest requests in flight; retry shortly', 1);

/**
 * At most `limit` requests run; the next ones queue for a slot (handed over
 * when one finishes, nobody polls) instead of being refused at once, so a
 * burst of a collector's retries is answered rather than bounced. Waiting
 * requests have not read their bodies yet, so memory stays bounded.
 */
class IngestGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
    private readonly maxWaitMs: number,
  ) {}

  async enter(): Promise<() => void> {
    if (this.running < this.limit) {
      this.running++;
      return this.leave();
    }
    if (this.waiting.length >= this.maxWaiting) throw busy();
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(grant);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(busy());
      }, this.maxWaitMs);
      this.waiting.push(grant);
    });
    return this.leave();
  }

  /** Gives the slot to the next in line, or frees it; a second call does nothing. */
  private leave(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    };
  }
}

const ExportResponse = z
  .object({
    partialSuccess: z
      .record(z.string(), z.string())
      .optional()
      .openapi({ description: 'When some records were rejected: their count (rejectedLogRecords, …) and errorMessage naming fields' }),
  })
  .openapi('OtlpExportResponse');

/**
 * OTLP/HTTP with JSON encoding: /v1/logs, /v1/metrics, /v1/traces. The body
 * is not validated by zod middleware: ingest checks each record itself so
 * that good records are kept and the rest reported as OTLP partial success.
 */
export function otlpRoutes(deps: AppDeps) {
  const app = router();
  const gate = new IngestGate(MAX_IN_FLIGHT, MAX_WAITING, MAX_WAIT_MS);
  for (const [signal, s] of Object.entries(SIGNALS) as [keyof typeof SIGNALS, (typeof SIGNALS)[keyof typeof SIGNALS]][]) {
    const route = createRoute({
      method: 'post',
      path: `/${signal}`,
      tags: ['otlp'],
      operationId: s.operationId,
      summary: `OTLP/HTTP ${signal} export, JSON encoding (gzip accepted), into the token's workspace`,
      description:
        'Records that do not validate, or whose time is outside what the tables keep (older than their retention, or ahead of the clock ' +
        'beyond the tolerance), are rejected one by one and reported in partialSuccess; 400 only when none is accepted and every ' +
        'rejected record was invalid. The same body sent again (a retry, or concurrently) is written once. Protobuf encoding is refused with 415.',
      security: bearerAuth,
      parameters: workspaceHeader,
      request: {
        body: {
          required: true,
          description: `An OTLP ${s.request} in the OTLP JSON encoding`,
          content: { 'application/json': { schema: { type: 'object', description: s.request } } },
        },
      },
      responses: {
        200: { description: 'Accepted, wholly or in part', content: json(ExportResponse) },
        ...problemResponses(400, 401, 403, 413, 415, 429, 503),
      },
    });
    app.openapi(route, async (c) => {
      const { workspace } = requireScope(c, 'ingest');
      const leave = await gate.enter();
      try {
        const body = await readJson(c, deps.config.AIOPS_INGEST_MAX_BODY_BYTES, {
          allowGzip: true,
          mediaHint: 'OTLP/HTTP protobuf is not supported here; set the exporter encoding to json',
        });
        const dedupKey = createHash('sha256').update(`${workspace}\0${signal}\0`).update(body.raw).digest('hex').slice(0, 32);
        const outcome = await deps.ingest[signal](body.value, workspace, dedupKey);
        deps.metrics.ingestRecords.inc({ signal, outcome: 'accepted' }, outcome.accepted);
        if (outcome.rejected) deps.metrics.ingestRecords.inc({ signal, outcome: 'rejected' }, outcome.rejected);
        c.set('eventAttributes', { signal, accepted: String(outcome.accepted), rejected: String(outcome.rejected) });
        if (outcome.rejected === 0 && outcome.errors.length === 0) return c.json({}, 200);
        return c.json(
          {
            partialSuccess: {
              [s.rejected]: String(outcome.rejected),
              errorMessage: [...outcome.notices, ...outcome.errors.map((e) => `${e.field}: ${e.message}`)].join('; '),
            },
          },
          200,
        );
      } finally {
        leave();
      }
    });
  }
  return app;
}
