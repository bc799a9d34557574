import { Cron } from 'croner';
import { parseDuration } from '../core/duration.ts';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { BriefingSchedulePolicy, Policies } from '../policies/schema.ts';
import type { SlotLease } from '../storage/briefings.ts';
import type { BriefingService } from './service.ts';

/** The latest slot of a schedule at or before `now` (ms). */
export function lastSlot(s: BriefingSchedulePolicy, now: number): number | undefined {
  if (s.schedule.every) {
    const every = parseDuration(s.schedule.every)!;
    return Math.floor(now / every) * every;
  }
  const job = new Cron(s.schedule.cron!, { timezone: 'UTC', paused: true });
  const prev = job.previousRuns(1, new Date(now + 1))[0];
  job.stop();
  return prev?.getTime();
}

/** The next slot strictly after `now`. */
export function nextSlot(s: BriefingSchedulePolicy, now: number): number | undefined {
  if (s.schedule.every) {
    const every = parseDuration(s.schedule.every)!;
    return (Math.floor(now / every) + 1) * every;
  }
  const job = new Cron(s.schedule.cron!, { timezone: 'UTC', paused: true });
  const next = job.nextRun(new Date(now))?.getTime();
  job.stop();
  return next;
}

export interface SchedulerOptions {
  /** This replica's name in slot claims. */
  owner: string;
  /** The clock (tests move it). */
  now?: () => number;
  /** Runs and their lag behind the slot. */
  metrics?: ServiceMetrics;
}

/**
 * Runs the briefings of briefings.yaml in-process. Each slot is claimed
 * through the lease, so with several replicas exactly one runs it; the
 * briefing itself is idempotent per period, so a retry writes nothing twice.
 * At start, a schedule whose latest briefing ends before its latest slot
 * missed slots while the service was down: it runs once, for the latest slot
 * only. A schedule with no briefing yet has missed nothing.
 */
export class BriefingScheduler {
  private timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private stopped = true;
  private readonly now: () => number;

  constructor(
    private readonly service: BriefingService,
    private readonly policy: Policies['briefings'],
    private readonly lease: SlotLease,
    private readonly logger: Logger,
    private readonly opts: SchedulerOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  private *schedules(): Generator<[string, BriefingSchedulePolicy]> {
    for (const [workspace, list] of Object.entries(this.policy.workspaces)) for (const s of list) yield [workspace, s];
  }

  /** Starts the timers, then catches up; resolves when the catch-up runs are done. */
  async start(): Promise<void> {
    if (!this.policy.scheduler) return;
    this.stopped = false;
    for (const [workspace, s] of this.schedules()) this.arm(workspace, s);
    const catchUp = this.catchUp();
    this.track(catchUp);
    await catchUp;
  }

  private arm(workspace: string, s: BriefingSchedulePolicy): void {
    if (this.stopped) return;
    const next = nextSlot(s, this.now());
    if (next === undefined) return;
    // Timers are re-armed for each slot (a long sleep would drift; setTimeout caps at ~24.8 days).
    const wait = Math.min(Math.max(0, next - this.now()), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((t) => t !== timer);
      if (this.now() >= next) this.track(this.fire(workspace, s, next));
      this.arm(workspace, s);
    }, wait);
    timer.unref();
    this.timers.push(timer);
  }

  private track(p: Promise<unknown>): void {
    const q = p.finally(() => this.running.delete(q));
    this.running.add(q);
  }

  /** Runs the slot ending at `slot` if this replica wins its claim. Returns whether it ran here. */
  async fire(workspace: string, s: BriefingSchedulePolicy, slot: number): Promise<boolean> {
    const key = `${workspace}|${s.name}|${slot}`;
    try {
      if (!(await this.lease.claim(key, this.opts.owner))) {
        this.logger.debug({ workspace, briefing: s.name, slot: new Date(slot).toISOString() }, 'briefing slot taken by another replica');
        return false;
      }
      this.opts.metrics?.briefingLag.observe(Math.max(0, this.now() - slot) / 1000);
      const len = this.service.periodMs(s);
      const { briefing, created } = await this.service.run({
        workspace,
        name: s.name,
        period: { from: slot - len, to: slot },
        trigger: 'schedule',
        requestedBy: `schedule:${s.name}`,
        trackingId: `briefing-${s.name}-${slot}`,
      });
      this.logger.info(
        { workspace, briefing: s.name, id: briefing.id, created, incidents: briefing.incidents.length, quiet: briefing.quiet },
        'scheduled briefing done',
      );
      this.opts.metrics?.briefingRuns.inc({ outcome: 'ok' });
      return true;
    } catch (err) {
      this.opts.metrics?.briefingRuns.inc({ outcome: 'error' });
      this.logger.error({ err, workspace, briefing: s.name, slot: new Date(slot).toISOString() }, 'scheduled briefing failed');
      return false;
    }
  }

  /** Once per schedule: the latest slot, when the latest briefing ends before it. */
  async catchUp(): Promise<number> {
    let ran = 0;
    const runs: Promise<boolean>[] = [];
    for (const [workspace, s] of this.schedules()) {
      const slot = lastSlot(s, this.now());
      if (slot === undefined) continue;
      const latest = await this.service.latestEnd(workspace, s.name).catch(() => undefined);
      if (latest === undefined || latest >= slot) continue;
      this.logger.info(
        { workspace, briefing: s.name, latest: new Date(latest).toISOString(), slot: new Date(slot).toISOString() },
        'catching up a missed briefing slot',
      );
      runs.push(this.fire(workspace, s, slot));
    }
    for (const r of await Promise.all(runs)) if (r) ran++;
    return ran;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await Promise.allSettled([...this.running]);
    await this.service.settled();
  }
}
