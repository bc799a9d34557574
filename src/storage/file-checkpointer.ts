import fs from 'node:fs';
import path from 'node:path';
import { MemorySaver, type Checkpoint, type CheckpointMetadata, type PendingWrite } from '@langchain/langgraph-checkpoint';
import type { RunnableConfig } from '@langchain/core/runnables';
import { KeyedLock } from '../core/keyed-lock.ts';

type Stored = [Uint8Array, Uint8Array, string | undefined];
type StoredWrite = [string, string, Uint8Array, string?];
interface ThreadFile {
  storage: Record<string, Record<string, [string, string, string | null]>>;
  writes: Record<string, Record<string, [string, string, string, string | null]>>;
}

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/**
 * LangGraph's in-memory saver, kept on disk: one JSON file per thread in the
 * data folder, rewritten atomically after every checkpoint, loaded at start.
 * The embedded store of earlier versions, replaced by the SQLite database
 * (src/storage/conversation-db.ts, which imports these files once); kept so
 * that the import is tested on files this code writes.
 */
export class FileCheckpointSaver extends MemorySaver {
  /** One write at a time per thread. */
  private readonly fileWrites = new KeyedLock();

  constructor(
    private readonly dir: string,
    private readonly keep = 30,
  ) {
    super();
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const threadId = decodeURIComponent(f.slice(0, -5));
      const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ThreadFile;
      const storage: Record<string, Record<string, Stored>> = Object.create(null);
      for (const [ns, cps] of Object.entries(data.storage)) {
        storage[ns] = Object.create(null);
        for (const [id, [c, m, parent]] of Object.entries(cps)) storage[ns]![id] = [bytes(c), bytes(m), parent ?? undefined];
      }
      this.storage[threadId] = storage as never;
      for (const [key, ws] of Object.entries(data.writes)) {
        const restored: Record<string, StoredWrite> = {};
        for (const [k, [task, channel, value, taskPath]] of Object.entries(ws))
          restored[k] = [task, channel, bytes(value), ...(taskPath === null ? [] : [taskPath])] as StoredWrite;
        this.writes[key] = restored as never;
      }
    }
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata): Promise<RunnableConfig> {
    const out = await super.put(config, checkpoint, metadata);
    await this.persist(String(config.configurable?.thread_id));
    return out;
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string, taskPath?: string): Promise<void> {
    await super.putWrites(config, writes, taskId, taskPath);
    await this.persist(String(config.configurable?.thread_id));
  }

  override async deleteThread(threadId: string): Promise<void> {
    await super.deleteThread(threadId);
    await this.fileWrites.run(threadId, async () => undefined);
    fs.rmSync(this.file(threadId), { force: true });
  }

  private file(threadId: string) {
    return path.join(this.dir, `${encodeURIComponent(threadId)}.json`);
  }

  /** Writes one thread's checkpoints, one write at a time per thread. */
  private persist(threadId: string): Promise<void> {
    return this.fileWrites.run(threadId, () => this.write(threadId));
  }

  private async write(threadId: string): Promise<void> {
    const threadStorage = (this.storage as unknown as Record<string, Record<string, Record<string, Stored>>>)[threadId] ?? {};
    const data: ThreadFile = { storage: {}, writes: {} };
    const keepIds = new Set<string>();
    for (const [ns, cps] of Object.entries(threadStorage)) {
      const ids = Object.keys(cps).sort().slice(-this.keep);
      for (const id of Object.keys(cps)) if (!ids.includes(id)) delete cps[id];
      data.storage[ns] = {};
      for (const id of ids) {
        const [c, m, parent] = cps[id]!;
        data.storage[ns]![id] = [b64(c), b64(m), parent ?? null];
        keepIds.add(JSON.stringify([threadId, ns, id]));
      }
    }
    const writes = this.writes as unknown as Record<string, Record<string, StoredWrite>>;
    for (const key of Object.keys(writes)) {
      if (JSON.parse(key)[0] !== threadId) continue;
      if (!keepIds.has(key)) {
        delete writes[key];
        continue;
      }
      data.writes[key] = {};
      for (const [k, [task, channel, value, taskPath]] of Object.entries(writes[key]!))
        data.writes[key]![k] = [task, channel, b64(value), taskPath ?? null];
    }
    const file = this.file(threadId);
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, JSON.stringify(data));
    await fs.promises.rename(tmp, file);
  }
}
