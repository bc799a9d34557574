import type { Logger } from '../observability/logger.ts';
import type { Store } from '../clients/clickhouse.ts';
import type { TelemetryIngest } from '../otlp/ingest.ts';
import { SCENARIOS } from './scenarios.ts';
import { loadStates, saveState, seedDemo, telemetryIsEmpty, writeRange, type SeedOptions, type SeedResult } from './seed.ts';
import { MINUTE } from './simulator.ts';
import { KeyedLock } from '../core/keyed-lock.ts';

type DemoStatus = 'off' | 'starting' | 'seeding' | 'ready' | 'failed';

interface DemoSettings {
  mode: 'live' | 'seed' | 'off';
  scenario: string;
  seed: number;
  hours: number;
  tenantAttribute: string;
}

/**
 * Keeps the demo workspaces supplied with telemetry: seeds an empty store,
 * fills the gap after a restart, and (in live mode) writes each minute as it
 * passes, so the demo data stays current. Runs one job at a time.
 */
export class DemoController {
  status: DemoStatus;
  lastError: string | undefined;
  /** Seeds and live minutes run one at a time. */
  private readonly jobs = new KeyedLock();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly ingest: TelemetryIngest,
    private readonly settings: DemoSettings,
    private readonly logger: Logger,
  ) {
    this.status = settings.mode === 'off' ? 'off' : 'starting';
  }

  /**
   * Resolves when demo data is in place: after the first seed of an empty
   * store, or at once when data is there (the minutes missed while the
   * service was down are then written in the background, in live mode).
   */
  start(): Promise<void> {
    if (this.settings.mode === 'off') return Promise.resolve();
    const initial = this.exclusive(async () => {
      const states = await loadStates(this.store);
      if (states.length > 0) {
        this.status = 'ready';
        if (this.settings.mode === 'live') {
          void this.exclusive(() => this.catchUp()).catch((err: unknown) =>
            this.logger.warn({ err: (err as Error).message }, 'demo catch-up failed'),
          );
        }
        return;
      }
      if (!(await telemetryIsEmpty(this.store))) {
        this.logger.info('the store holds telemetry that the demo did not write; not seeding demo data');
        this.status = 'off';
        return;
      }
      this.status = 'seeding';
      await seedDemo(this.store, this.ingest, this.settings.tenantAttribute, this.settings, this.logger);
      this.status = 'ready';
    }).catch((err: unknown) => {
      this.status = 'failed';
      this.lastError = (err as Error).message;
      this.logger.error({ err: this.lastError }, 'demo telemetry could not be written');
    });
    if (this.settings.mode === 'live') this.schedule();
    return initial;
  }

  /** Replaces the demo window (POST /v1/demo/seed, aiops demo seed). */
  seed(opts: SeedOptions): Promise<SeedResult> {
    return this.exclusive(async () => {
      this.status = 'seeding';
      try {
        const result = await seedDemo(this.store, this.ingest, this.settings.tenantAttribute, opts, this.logger);
        this.status = 'ready';
        return result;
      } catch (err) {
        this.status = 'failed';
        this.lastError = (err as Error).message;
        throw err;
      }
    });
  }

  /** Writes the minutes between the stored window end and now (at most `hours` of them). */
  private async catchUp(): Promise<void> {
    const states = await loadStates(this.store);
    const shop = states.find((s) => SCENARIOS[s.scenario]?.workspace === s.workspace && s.scenario !== 'none') ?? states[0];
    if (!shop) return;
    const scenario = SCENARIOS[shop.scenario] ?? SCENARIOS.none!;
    const now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const from = Math.max(shop.windowEnd, now - this.settings.hours * 60 * MINUTE);
    if (from >= now) return;
    const faultStart = shop.faultStart ?? shop.windowEnd - scenario.faultOffsetMinutes * MINUTE;
    await writeRange(this.ingest, scenario, shop.seed, faultStart, from, now);
    for (const s of states) await saveState(this.store, { ...s, windowEnd: now });
  }

  private schedule(): void {
    if (this.stopped) return;
    const delay = MINUTE - (Date.now() % MINUTE) + 2_000;
    this.timer = setTimeout(() => {
      if (this.status === 'ready') {
        void this.exclusive(() => this.catchUp()).catch((err: unknown) =>
          this.logger.warn({ err: (err as Error).message }, 'live demo minute failed'),
        );
      }
      this.schedule();
    }, delay);
    this.timer.unref();
  }

  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    return this.jobs.run('demo', job);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.jobs.run('demo', async () => undefined);
  }
}
