import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics; one registry per service instance. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'aiops_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'aiops_http_request_duration_seconds',
    help: 'HTTP request duration',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly ingestRecords = new Counter({
    name: 'aiops_ingest_records_total',
    help: 'OTLP records received, by signal and outcome',
    labelNames: ['signal', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly toolFailures = new Counter({
    name: 'aiops_tool_failures_total',
    help: 'Tool calls of investigations that failed, by tool and reason (validation, timeout, store error, ...)',
    labelNames: ['tool', 'reason'] as const,
    registers: [this.registry],
  });
  readonly wideEventsDropped = new Counter({
    name: 'aiops_wide_events_dropped_total',
    help: 'Wide events dropped because the queue was full or a write failed',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'aiops_' });
  }
}
