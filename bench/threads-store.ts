/** bench/threads.ts's access to the conversation store: timing its writes, its bytes, filling it. */
import Database from 'better-sqlite3';
import type { Service } from '../src/runtime/service.ts';
import { conversationDbFile } from '../src/storage/conversation-db.ts';
import type { CompactSqliteSaver } from '../src/storage/sqlite-checkpointer.ts';

export const kind = 'sqlite';

type Methods = Record<string, (...a: unknown[]) => Promise<unknown>>;
const parts = (service: Service) =>
  service.deps.chat as unknown as { graph: { checkpointer: CompactSqliteSaver & Methods }; threads: Methods };

/** Adds up the time spent in the checkpointer's and the thread index's writes; `take` reads and resets it. */
export function instrument(service: Service) {
  let ms = 0;
  const chat = parts(service);
  const wrap = (o: Methods, names: string[]) => {
    for (const n of names) {
      const f = o[n]!.bind(o);
      o[n] = async (...a: unknown[]) => {
        const t = performance.now();
        try {
          return await f(...a);
        } finally {
          ms += performance.now() - t;
        }
      };
    }
  };
  wrap(chat.graph.checkpointer, ['put', 'putWrites']);
  wrap(chat.threads, ['create', 'update']);
  // Bytes handed to INSERT statements of the checkpointer: what a turn writes.
  const db = chat.graph.checkpointer.db;
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    const stmt = prepare(sql);
    if (!/^\s*INSERT/i.test(sql)) return stmt;
    const run = stmt.run.bind(stmt);
    stmt.run = (...params: unknown[]) => {
      for (const p of params) written += typeof p === 'string' ? Buffer.byteLength(p) : p instanceof Uint8Array ? p.byteLength : 0;
      return run(...params);
    };
    return stmt;
  };
  return {
    take: () => {
      const v = ms;
      ms = 0;
      return v;
    },
  };
}

let written = 0;

/** What the thread holds in the database (checkpoints, writes, stored items), and what has been written so far. */
export async function storedBytes(service: Service, threadId: string) {
  return { stored: parts(service).graph.checkpointer.storedBytes(threadId), written };
}

/** Adds `count` copies of the template thread (its record and checkpoint rows) in one transaction. */
export async function fill(dir: string, template: string, count: number) {
  const db = new Database(conversationDbFile(dir));
  const t0 = db.prepare('SELECT * FROM threads WHERE id = ?').get(template) as Record<string, unknown>;
  const insertThread = db.prepare(
    `INSERT INTO threads (id, workspace, owner, title, kind, status, created_at, updated_at, turns, last_path, alert_key, meta)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
  );
  const copies = ['checkpoints', 'writes', 'checkpoint_blobs'].map((table) => {
    const cols = (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((c) => c.name);
    const rest = cols.filter((c) => c !== 'thread_id');
    return db.prepare(
      `INSERT INTO ${table} (thread_id, ${rest.join(', ')}) SELECT ?, ${rest.join(', ')} FROM ${table} WHERE thread_id = ?`,
    );
  });
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = `bench-${i}`;
      const at = new Date(Date.parse(String(t0.updated_at)) - (i + 1) * 60_000).toISOString();
      insertThread.run(
        id,
        t0.workspace,
        i % 100 === 0 ? 'bench' : `user-${i % 500}`,
        t0.title,
        i % 10 === 0 ? 'alert' : 'chat',
        t0.status,
        at,
        at,
        t0.turns,
        t0.last_path,
        t0.meta,
      );
      for (const c of copies) c.run(id, template);
    }
  })();
  db.close();
}
