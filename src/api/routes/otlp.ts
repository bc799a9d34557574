import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { readJson } from '../body.ts';
import { problems } from '../../core/problem.ts';
import { requireScope } from '../middleware/auth.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const SIGNALS = {
  logs: 'rejectedLogRecords',
  metrics: 'rejectedDataPoints',
  traces: 'rejectedSpans',
} as const;

/** Concurrent ingest requests beyond this get 429 (OTLP clients back off and retry). */
const MAX_IN_FLIGHT = 16;

/** OTLP/HTTP with JSON encoding: /v1/logs, /v1/metrics, /v1/traces. */
export function otlpRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>();
  let inFlight = 0;
  for (const [signal, rejectedField] of Object.entries(SIGNALS) as [keyof typeof SIGNALS, string][]) {
    app.post(`/${signal}`, async (c) => {
      const { workspace } = requireScope(c, 'ingest');
      if (inFlight >= MAX_IN_FLIGHT) throw problems.tooManyRequests('too many ingest requests in flight; retry shortly', 1);
      inFlight++;
      try {
        const body = await readJson(c, deps.config.AIOPS_INGEST_MAX_BODY_BYTES, {
          allowGzip: true,
          mediaHint: 'OTLP/HTTP protobuf is not supported here; set the exporter encoding to json',
        });
        const dedupKey = createHash('sha256').update(workspace).update('\0').update(body.raw).digest('hex').slice(0, 32);
        const outcome = await deps.ingest[signal](body.value, workspace, dedupKey);
        deps.metrics.ingestRecords.inc({ signal, outcome: 'accepted' }, outcome.accepted);
        if (outcome.rejected) deps.metrics.ingestRecords.inc({ signal, outcome: 'rejected' }, outcome.rejected);
        c.set('eventAttributes', { signal, accepted: String(outcome.accepted), rejected: String(outcome.rejected) });
        if (outcome.rejected === 0 && outcome.errors.length === 0) return c.json({});
        return c.json({
          partialSuccess: {
            [rejectedField]: String(outcome.rejected),
            errorMessage: outcome.errors.map((e) => `${e.field}: ${e.message}`).join('; '),
          },
        });
      } finally {
        inFlight--;
      }
    });
  }
  return app;
}
