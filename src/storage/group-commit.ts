import { compactRows, insertText, type Store } from '../clients/clickhouse.ts';

interface Pending {
  text: string;
  rows: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Lane {
  table: string;
  columns: readonly string[];
  queue: Pending[];
  /** INSERTs in flight for this lane, at most one per inserter. */
  running: number;
}

/**
 * Group commit for inserts: rows that arrive while an INSERT into the same
 * table is running are merged into the next one. An idle writer inserts at
 * once (no added latency); a busy one makes fewer, larger parts, which is what
 * ClickHouse (and chDB, which runs one statement at a time per session) wants.
 * Up to one INSERT per inserter runs at a time per table. Each caller's
 * promise settles when its own rows are committed or failed.
 */
export class GroupCommitWriter {
  private readonly lanes = new Map<string, Lane>();
  private next = 0;

  constructor(
    private readonly store: Store,
    private readonly maxRowsPerInsert = 100_000,
  ) {}

  write(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    const text = compactRows(rows);
    const key = `${table}(${columns.join(',')})`;
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { table, columns, queue: [], running: 0 };
      this.lanes.set(key, lane);
    }
    const done = new Promise<void>((resolve, reject) => lane.queue.push({ text, rows: rows.length, resolve, reject }));
    if (lane.running < this.store.inserters.length) void this.drain(lane);
    return done;
  }

  private async drain(lane: Lane): Promise<void> {
    lane.running++;
    const client = this.store.inserters[this.next++ % this.store.inserters.length]!;
    try {
      while (lane.queue.length > 0) {
        const batch: Pending[] = [];
        let rows = 0;
        while (lane.queue.length > 0 && (batch.length === 0 || rows + lane.queue[0]!.rows <= this.maxRowsPerInsert)) {
          const p = lane.queue.shift()!;
          batch.push(p);
          rows += p.rows;
        }
        try {
          await insertText(
            client,
            lane.table,
            lane.columns,
            batch.map((p) => p.text),
          );
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      lane.running--;
    }
  }
}
