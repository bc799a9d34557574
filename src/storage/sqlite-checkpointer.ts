import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Database } from 'better-sqlite3';
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  JsonPlusSerializer,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  type PendingWrite,
  type SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';

/** A value kept once in checkpoint_blobs and named by its digest in the checkpoints that hold it. */
interface BlobRef {
  $blob: string;
}

const isRef = (v: unknown): v is BlobRef =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as BlobRef).$blob === 'string' && Object.keys(v).length === 1;

/** Serialized values at least this big are stored deflated. */
const DEFLATE_BYTES = 256;
/** What starts a deflated value (base64 after it): JSON never starts so. */
const DEFLATED = '~z:';

/**
 * LangGraph's JSON serializer, deflating what is big. The value stays text (base64) because the
 * SQLite saver reads pending writes as TEXT; the type stays the same because it must equal the
 * metadata's.
 */
class DeflatingSerializer implements SerializerProtocol {
  private readonly inner = new JsonPlusSerializer();

  async dumpsTyped(value: unknown): Promise<[string, Uint8Array]> {
    const [type, body] = await this.inner.dumpsTyped(value);
    if (body.length < DEFLATE_BYTES) return [type, body];
    return [type, Buffer.from(DEFLATED + deflateRawSync(body).toString('base64'))];
  }

  async loadsTyped(type: string, data: Uint8Array | string): Promise<unknown> {
    const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    if (!text.startsWith(DEFLATED)) return this.inner.loadsTyped(type, data);
    return this.inner.loadsTyped(type, inflateRawSync(Buffer.from(text.slice(DEFLATED.length), 'base64')));
  }
}

/** Items of a list (an evidence item, a message) at least this big are kept once, by digest. */
const ITEM_BYTES = 512;
/** A whole value (an answer, a plan) at least this big is kept once, by digest. */
const VALUE_BYTES = 2048;

/**
 * LangGraph's official SQLite checkpointer with two changes that keep a thread small:
 *
 * - A checkpoint holds the whole graph state after every step, and a turn takes about eight steps;
 *   the evidence and messages of earlier turns would be written again each time. Here each bulky
 *   item (an evidence item, a message, an answer) goes once into `checkpoint_blobs` under its
 *   SHA-256 and the checkpoint keeps the digest, so a turn stores its own new items and a few
 *   kilobytes of references.
 * - Only the latest `keep` checkpoints of a thread are kept (a conversation continues from the
 *   latest; an interrupted approval resumes from it), with their pending writes; subgraph
 *   checkpoints go once their step is over.
 * - What is big is stored deflated.
 *
 * Nothing is loaded for a thread that is not read: each read is a query.
 */
export class CompactSqliteSaver extends SqliteSaver {
  constructor(
    db: Database,
    private readonly keep = 3,
  ) {
    super(db, new DeflatingSerializer());
  }

  protected override setup(): void {
    if (this.isSetup) return;
    super.setup();
    this.db.exec(`CREATE TABLE IF NOT EXISTS checkpoint_blobs (
      thread_id TEXT NOT NULL, hash TEXT NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL,
      PRIMARY KEY (thread_id, hash)) WITHOUT ROWID`);
  }

  /** Makes the tables now (they are otherwise made on first use). */
  init(): void {
    this.setup();
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata): Promise<RunnableConfig> {
    this.setup();
    const threadId = String(config.configurable?.thread_id);
    const values: Record<string, unknown> = {};
    for (const [channel, value] of Object.entries(checkpoint.channel_values ?? {}))
      values[channel] = channel.startsWith('__') ? value : await this.externalize(threadId, value);
    const out = await super.put(config, { ...checkpoint, channel_values: values }, metadata);
    const ns = String(config.configurable?.checkpoint_ns ?? '');
    this.prune(threadId, ns);
    // Subgraphs (the specialists) checkpoint in namespaces of their own, which a finished step no longer needs.
    const parent = config.configurable?.checkpoint_id;
    if (ns === '' && typeof parent === 'string') this.dropSubgraphs(threadId, parent);
    return out;
  }

  override async putWrites(config: RunnableConfig, writes: PendingWrite[], taskId: string): Promise<void> {
    this.setup();
    const threadId = String(config.configurable?.thread_id);
    const compact: PendingWrite[] = [];
    for (const [channel, value] of writes)
      compact.push([channel, channel.startsWith('__') ? value : await this.externalize(threadId, value)]);
    await super.putWrites({ ...config, configurable: { checkpoint_ns: '', ...config.configurable } }, compact, taskId);
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const t = await super.getTuple(config);
    return t && this.hydrate(t);
  }

  override async *list(config: RunnableConfig, options?: CheckpointListOptions): AsyncGenerator<CheckpointTuple> {
    for await (const t of super.list(config, options)) yield await this.hydrate(t);
  }

  override async deleteThread(threadId: string): Promise<void> {
    this.setup();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM checkpoints WHERE thread_id = ?').run(threadId);
      this.db.prepare('DELETE FROM writes WHERE thread_id = ?').run(threadId);
      this.db.prepare('DELETE FROM checkpoint_blobs WHERE thread_id = ?').run(threadId);
    })();
  }

  /** Bytes a thread holds in the three tables (benchmarks). */
  storedBytes(threadId: string): number {
    this.setup();
    const row = this.db
      .prepare(
        `SELECT (SELECT COALESCE(SUM(length(checkpoint) + length(metadata)), 0) FROM checkpoints WHERE thread_id = ?)
              + (SELECT COALESCE(SUM(length(value)), 0) FROM writes WHERE thread_id = ?)
              + (SELECT COALESCE(SUM(length(body)), 0) FROM checkpoint_blobs WHERE thread_id = ?) AS bytes`,
      )
      .get(threadId, threadId, threadId) as { bytes: number };
    return row.bytes;
  }

  /** A list's big items, or a big value as a whole, replaced by references to rows stored once. */
  private async externalize(threadId: string, value: unknown): Promise<unknown> {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (const item of value) out.push(await this.blob(threadId, item, ITEM_BYTES));
      return out;
    }
    return this.blob(threadId, value, VALUE_BYTES);
  }

  private async blob(threadId: string, value: unknown, min: number): Promise<unknown> {
    if (typeof value !== 'object' || value === null) return value;
    const [type, body] = await this.serde.dumpsTyped(value);
    if (body.length < min) return value;
    const hash = createHash('sha256').update(type).update('\0').update(body).digest('base64url').slice(0, 22);
    this.db
      .prepare('INSERT OR IGNORE INTO checkpoint_blobs (thread_id, hash, type, body) VALUES (?, ?, ?, ?)')
      .run(threadId, hash, type, body);
    return { $blob: hash } satisfies BlobRef;
  }

  private async hydrate(t: CheckpointTuple): Promise<CheckpointTuple> {
    const threadId = String(t.config.configurable?.thread_id);
    const values = t.checkpoint.channel_values ?? {};
    for (const [channel, value] of Object.entries(values))
      if (!channel.startsWith('__')) values[channel] = await this.resolve(threadId, value);
    if (t.pendingWrites)
      t.pendingWrites = await Promise.all(
        t.pendingWrites.map(async ([task, channel, value]) =>
          channel.startsWith('__') ? ([task, channel, value] as const) : ([task, channel, await this.resolve(threadId, value)] as const),
        ),
      ).then((ws) => ws.map((w) => [...w] as [string, string, unknown]));
    return t;
  }

  private async resolve(threadId: string, value: unknown): Promise<unknown> {
    if (Array.isArray(value)) return Promise.all(value.map((v) => (isRef(v) ? this.load(threadId, v) : v)));
    return isRef(value) ? this.load(threadId, value) : value;
  }

  private async load(threadId: string, ref: BlobRef): Promise<unknown> {
    const row = this.db.prepare('SELECT type, body FROM checkpoint_blobs WHERE thread_id = ? AND hash = ?').get(threadId, ref.$blob) as
      | { type: string; body: Uint8Array }
      | undefined;
    if (!row) throw new Error(`checkpoint of thread ${threadId} names a stored value ${ref.$blob} that is missing`);
    return this.serde.loadsTyped(row.type, row.body);
  }

  /** Removes the subgraph checkpoints of the thread made before the step that ended at `before`. */
  private dropSubgraphs(threadId: string, before: string): void {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns <> '' AND checkpoint_id < ?").run(threadId, before);
      this.db.prepare("DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns <> '' AND checkpoint_id < ?").run(threadId, before);
    })();
  }

  /** Keeps the latest `keep` checkpoints of the thread's namespace and their writes. */
  private prune(threadId: string, ns: string): void {
    this.db.transaction(() => {
      const cut = this.db
        .prepare(
          'SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?',
        )
        .get(threadId, ns, this.keep - 1) as { checkpoint_id: string } | undefined;
      if (!cut) return;
      this.db
        .prepare('DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?')
        .run(threadId, ns, cut.checkpoint_id);
      this.db
        .prepare('DELETE FROM writes WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?')
        .run(threadId, ns, cut.checkpoint_id);
    })();
  }
}
