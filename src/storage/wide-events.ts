import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import { insertCompact, type Store } from '../clients/clickhouse.ts';
import type { Policies } from '../policies/schema.ts';

interface WideEvent {
  timestamp: number;
  trackingId: string;
  kind: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  workspace: string;
  subject: string;
  error: string;
  attributes: Record<string, string>;
}

const COLUMNS = [
  'timestamp',
  'tracking_id',
  'kind',
  'method',
  'route',
  'status',
  'duration_ms',
  'workspace',
  'subject',
  'error',
  'attributes',
];

/**
 * One event per request, written in the background in batches. The queue is
 * bounded and never blocks a response: when full, events are dropped and
 * counted. Errors and slow requests are always kept; the rest are sampled.
 */
export class WideEventWriter {
  private queue: WideEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly cfg: Policies['retention']['wide_events'];

  constructor(
    private readonly store: Store,
    policy: Policies['retention'],
    private readonly logger: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly random: () => number = Math.random,
  ) {
    this.cfg = policy.wide_events;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.cfg.flush_interval_ms);
    this.timer.unref();
  }

  record(e: WideEvent): void {
    const keep = e.status >= 400 || e.error !== '' || e.durationMs >= this.cfg.slow_ms || this.random() < this.cfg.sample_rate;
    if (!keep) return;
    if (this.queue.length >= this.cfg.queue_size) {
      this.metrics.wideEventsDropped.inc();
      return;
    }
    this.queue.push(e);
    if (this.queue.length >= this.cfg.batch_size) void this.flush();
  }

  get pending(): number {
    return this.queue.length;
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.queue.length);
    this.flushing = insertCompact(
      this.store,
      'aiops_wide_events',
      COLUMNS,
      batch.map((e) => [
        (e.timestamp / 1000).toFixed(3),
        e.trackingId,
        e.kind,
        e.method,
        e.route,
        e.status,
        e.durationMs,
        e.workspace,
        e.subject,
        e.error,
        e.attributes,
      ]),
    )
      .catch((err: unknown) => {
        this.metrics.wideEventsDropped.inc(batch.length);
        this.logger.warn({ err: (err as Error).message, events: batch.length }, 'wide events could not be written');
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    await this.flush();
  }
}
