import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { JsonPlusSerializer } from '@langchain/langgraph-checkpoint';
import type { ApprovalRecord } from '../core/proposal.ts';
import type { Logger } from '../observability/logger.ts';
import { SqliteApprovalStore } from './approvals.ts';
import { CompactSqliteSaver } from './sqlite-checkpointer.ts';
import { keptSince, SqliteThreadIndex, type ThreadKeep, type ThreadRecord } from './threads.ts';

/** The embedded conversation store: one SQLite database holding checkpoints, threads and approvals. */
export interface SqliteConversations {
  db: Database.Database;
  checkpointer: CompactSqliteSaver;
  threads: SqliteThreadIndex;
  approvals: SqliteApprovalStore;
  /** Threads brought over from the JSON files of earlier versions at this start. */
  imported: { threads: number; checkpoints: number; approvals: number };
  close(): void;
}

/** The database file in the data folder's threads directory. */
export const conversationDbFile = (dataDir: string) => path.join(dataDir, 'threads', 'conversations.db');

/**
 * Opens (or makes) the embedded conversation database: WAL journal (readers never wait for the
 * writer; a commit is one append), and imports the JSON files an earlier version kept in the same
 * folder, once.
 */
export async function openSqliteConversations(dataDir: string, keep?: ThreadKeep, logger?: Logger): Promise<SqliteConversations> {
  const file = conversationDbFile(dataDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    const checkpointer = new CompactSqliteSaver(db);
    checkpointer.init();
    const approvals = new SqliteApprovalStore(db);
    const threads = new SqliteThreadIndex(db, keep);
    const imported = await importLegacyFiles(path.dirname(file), db, checkpointer);
    if (imported.threads || imported.checkpoints || imported.approvals)
      logger?.info(imported, 'conversations imported from the JSON files');
    return { db, checkpointer, threads, approvals, imported, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The per-thread checkpoint file of the earlier file store (src/storage/file-checkpointer.ts). */
interface LegacyThreadFile {
  storage: Record<string, Record<string, [string, string, string | null]>>;
  writes: Record<string, Record<string, [string, string, string, string | null]>>;
}

/** The latest checkpoints of each namespace an imported thread keeps (as the saver does). */
const IMPORT_KEEP = 3;

/**
 * Imports `index.json`, `approvals.json` and `checkpoints/*.json` of the earlier file store, then
 * renames each with an `.imported` suffix so that the next start does not import again. Each
 * step can be run again (rows already there are left as they are), so a start that stops halfway
 * finishes the import on the next one.
 */
async function importLegacyFiles(dir: string, db: Database.Database, saver: CompactSqliteSaver) {
  const counts = { threads: 0, checkpoints: 0, approvals: 0 };
  const serde = new JsonPlusSerializer();
  const cpDir = path.join(dir, 'checkpoints');
  if (fs.existsSync(cpDir)) {
    for (const name of fs.readdirSync(cpDir).filter((n) => n.endsWith('.json'))) {
      const threadId = decodeURIComponent(name.slice(0, -5));
      const data = JSON.parse(fs.readFileSync(path.join(cpDir, name), 'utf8')) as LegacyThreadFile;
      const have = db.prepare('SELECT 1 FROM checkpoints WHERE thread_id = ? LIMIT 1').get(threadId);
      if (have) continue;
      for (const [ns, cps] of Object.entries(data.storage)) {
        for (const id of Object.keys(cps).sort().slice(-IMPORT_KEEP)) {
          const [c, m, parent] = cps[id]!;
          const checkpoint = await serde.loadsTyped('json', Buffer.from(c, 'base64').toString('utf8'));
          const metadata = await serde.loadsTyped('json', Buffer.from(m, 'base64').toString('utf8'));
          await saver.put(
            { configurable: { thread_id: threadId, checkpoint_ns: ns, ...(parent ? { checkpoint_id: parent } : {}) } },
            checkpoint,
            metadata,
          );
          const writes = data.writes[JSON.stringify([threadId, ns, id])] ?? {};
          const byTask = new Map<string, [string, unknown][]>();
          for (const [task, channel, value] of Object.values(writes)) {
            const list = byTask.get(task) ?? [];
            list.push([channel, await serde.loadsTyped('json', Buffer.from(value, 'base64').toString('utf8'))]);
            byTask.set(task, list);
          }
          for (const [task, ws] of byTask)
            await saver.putWrites({ configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id } }, ws, task);
          counts.checkpoints++;
        }
      }
    }
    fs.renameSync(cpDir, `${cpDir}.imported`);
  }
  const indexFile = path.join(dir, 'index.json');
  if (fs.existsSync(indexFile)) {
    const records = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as ThreadRecord[];
    const index = new SqliteThreadIndex(db);
    db.exec('BEGIN');
    try {
      for (const t of records)
        if (!(await index.get(t.id))) {
          await index.create(t);
          counts.threads++;
        }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    fs.renameSync(indexFile, `${indexFile}.imported`);
  }
  const approvalsFile = path.join(dir, 'approvals.json');
  if (fs.existsSync(approvalsFile)) {
    const records = JSON.parse(fs.readFileSync(approvalsFile, 'utf8')) as ApprovalRecord[];
    const store = new SqliteApprovalStore(db);
    db.exec('BEGIN');
    try {
      for (const r of records)
        if (!(await store.get(r.approval_id))) {
          await store.create(r);
          counts.approvals++;
        }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    fs.renameSync(approvalsFile, `${approvalsFile}.imported`);
  }
  return counts;
}

/** Removes the expired threads of the embedded database with their checkpoints, stored evidence and approvals. */
export async function sweepSqlite(
  c: Pick<SqliteConversations, 'db' | 'checkpointer'>,
  keep: ThreadKeep,
  now = Date.now(),
): Promise<number> {
  const since = keptSince(keep, now);
  const expired = c.db
    .prepare(
      `SELECT id FROM threads WHERE updated_at < CASE kind WHEN 'alert' THEN ? ELSE ? END
         AND NOT EXISTS (SELECT 1 FROM approvals a WHERE a.thread_id = threads.id AND a.status = 'pending')`,
    )
    .all(since.alert, since.chat) as { id: string }[];
  for (const { id } of expired) {
    const approvals = c.db.prepare('SELECT approval_id FROM approvals WHERE thread_id = ?').all(id) as { approval_id: string }[];
    for (const a of approvals) await c.checkpointer.deleteThread(`approval:${a.approval_id}`);
    await c.checkpointer.deleteThread(id);
    c.db.transaction(() => {
      c.db.prepare('DELETE FROM approvals WHERE thread_id = ?').run(id);
      c.db.prepare('DELETE FROM threads WHERE id = ?').run(id);
    })();
  }
  return expired.length;
}
