import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  // The model's calls, named as the OpenTelemetry GenAI semantic conventions name them.
  readonly genAiTokenUsage = new Histogram({
    name: 'gen_ai_client_token_usage',
    help: 'Tokens of model calls (estimated), by token type (input, output), operation and model',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'gen_ai_token_type'] as const,
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144],
    registers: [this.registry],
  });
  readonly genAiDuration = new Histogram({
    name: 'gen_ai_client_operation_duration_seconds',
    help: 'Duration of model calls, by operation and model (cache hits not included)',
    labelNames: ['gen_ai_operation_name', 'gen_ai_request_model', 'error_type'] as const,
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    registers: [this.registry],
  });
  readonly investigations = new Counter({
    name: 'aiops_investigations_total',
    help: 'Chat turns and alert investigations, by kind (chat, alert) and answer path (llm, narrator, ...)',
    labelNames: ['kind', 'path'] as const,
    registers: [this.registry],
  });
  readonly turnDuration = new Histogram({
    name: 'aiops_turn_duration_seconds',
    help: 'Duration of chat turns and alert investigations, by kind',
    labelNames: ['kind'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
    registers: [this.registry],
  });
  readonly narratorFallbacks = new Counter({
    name: 'aiops_narrator_fallbacks_total',
    help: 'Turns a model was there for but the deterministic narrator answered (the model failed, timed out or its draft failed grounding)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly toolCalls = new Counter({
    name: 'aiops_tool_calls_total',
    help: 'Tool calls of investigations, by tool and status (ok, error)',
    labelNames: ['tool', 'status'] as const,
    registers: [this.registry],
  });
  readonly grounding = new Counter({
    name: 'aiops_grounding_checks_total',
    help: 'Grounding checks of model drafts, by outcome (passed, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly llmCache = new Counter({
    name: 'aiops_llm_cache_requests_total',
    help: 'LLM cache look-ups, by result (hit, miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly llmCacheExpiries = new Counter({
    name: 'aiops_llm_cache_expiries_total',
    help: 'LLM cache look-ups that found only an expired entry',
    registers: [this.registry],
  });
  readonly llmCacheEntries = new Gauge({
    name: 'aiops_llm_cache_entries',
    help: 'Unexpired entries in the LLM cache (all workspaces), as last counted',
    registers: [this.registry],
  });
  /** Set by the service: how many records wait in the background writers' queues. */
  queueDepthSource: () => Record<string, number> = () => ({});
  readonly queueDepth = new Gauge({
    name: 'aiops_queue_depth',
    help: 'Records waiting in background writer queues, by queue (wide_events, facts)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [queue, n] of Object.entries(this.queueDepthSource())) this.queueDepth.set({ queue }, n);
    },
  });
  readonly factsDropped = new Counter({
    name: 'aiops_request_facts_dropped_total',
    help: 'Request facts (the unsampled records behind stats and traces) that could not be written',
    registers: [this.registry],
  });
  readonly briefingRuns = new Counter({
    name: 'aiops_briefing_scheduler_runs_total',
    help: 'Briefing slots run by the scheduler, by outcome (ok, error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly briefingLag = new Histogram({
    name: 'aiops_briefing_scheduler_lag_seconds',
    help: 'How long after its slot time a scheduled briefing started',
    buckets: [1, 5, 15, 60, 300, 900, 3600, 21600, 86400],
    registers: [this.registry],
  });
  readonly controlPlane = new Counter({
    name: 'aiops_control_plane_requests_total',
    help: 'Approved actions sent to the control plane, by outcome (ok, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'aiops_' });
  }
}
