import type pg from 'pg';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import type { Logger } from '../observability/logger.ts';
import { keptSince, type ThreadKeep } from './threads.ts';

/*
 * Retention of conversations kept in PostgreSQL, and the background sweep of either store. Apart
 * from the SQLite store (src/storage/conversation-db.ts) so that a replica on PostgreSQL never
 * loads the native SQLite module.
 */

/** Removes the expired threads kept in PostgreSQL with their checkpoints and approvals. */
export async function sweepPostgres(pool: pg.Pool, saver: BaseCheckpointSaver, keep: ThreadKeep, now = Date.now()): Promise<number> {
  const since = keptSince(keep, now);
  const r = await pool.query(
    `SELECT id FROM aiops_threads t WHERE updated_at < CASE WHEN kind = 'alert' THEN $1::timestamptz ELSE $2::timestamptz END
       AND NOT EXISTS (SELECT 1 FROM aiops_approvals a WHERE a.thread_id = t.id AND a.status = 'pending')`,
    [since.alert, since.chat],
  );
  for (const { id } of r.rows as { id: string }[]) {
    const approvals = await pool.query('SELECT approval_id FROM aiops_approvals WHERE thread_id = $1', [id]);
    for (const a of approvals.rows as { approval_id: string }[]) await saver.deleteThread(`approval:${a.approval_id}`);
    await saver.deleteThread(id);
    await pool.query('DELETE FROM aiops_approvals WHERE thread_id = $1', [id]);
    await pool.query('DELETE FROM aiops_threads WHERE id = $1', [id]);
  }
  return r.rows.length;
}

/** Runs a retention sweep at start and then every `intervalMs`, one at a time, in the background. */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sweep: () => Promise<number>,
    private readonly intervalMs: number,
    private readonly logger?: Logger,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private tick(): void {
    this.running = this.running.then(async () => {
      try {
        const removed = await this.sweep();
        if (removed) this.logger?.info({ threads: removed }, 'expired threads removed');
      } catch (err) {
        this.logger?.error({ err }, 'removing expired threads failed');
      }
    });
  }
}
