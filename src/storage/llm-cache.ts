import { createHash } from 'node:crypto';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import { insertCompact, readRows, type Store } from '../clients/clickhouse.ts';

export interface CacheKey {
  workspace: string;
  model: string;
  promptId: string;
  /** The prompt version's content hash: a new version never reads an old version's answers. */
  promptHash: string;
  /** The rendered (already redacted) system and user prompts. */
  system: string;
  user: string;
}

interface CachedAnswer {
  output: string;
  inputTokens: number;
  outputTokens: number;
}

const inputHash = (k: CacheKey) => createHash('sha256').update(k.system).update('\u0000').update(k.user).digest('hex');

/**
 * Model answers in ClickHouse, shared by every replica on the same store,
 * for the policy's TTL. A key always carries the workspace, so nothing is
 * shared across workspaces; the answer is a draft like any other and still
 * goes through grounding against the evidence of the turn that reads it.
 */
export class LlmCache {
  /** The clock expiry is judged by (tests move it). */
  now: () => number = Date.now;

  constructor(
    private readonly store: Store,
    readonly ttlMs: number,
    private readonly logger: Logger,
    private readonly metrics?: ServiceMetrics,
  ) {}

  async get(k: CacheKey): Promise<CachedAnswer | undefined> {
    let rows: { output: string; expires_ms: number; input_tokens: number; output_tokens: number }[];
    try {
      rows = await readRows(this.store, {
        query: `SELECT output, toUnixTimestamp64Milli(expires_at) AS expires_ms, input_tokens, output_tokens
          FROM aiops_llm_cache
          WHERE workspace = {workspace:String} AND model = {model:String} AND prompt_id = {prompt_id:String}
            AND prompt_hash = {prompt_hash:String} AND input_hash = {input_hash:String}
          ORDER BY created_at DESC LIMIT 1`,
        params: { workspace: k.workspace, model: k.model, prompt_id: k.promptId, prompt_hash: k.promptHash, input_hash: inputHash(k) },
      });
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'the LLM cache could not be read; asking the model');
      rows = [];
    }
    const row = rows[0];
    if (row && Number(row.expires_ms) > this.now()) {
      this.metrics?.llmCache.inc({ result: 'hit' });
      return { output: row.output, inputTokens: Number(row.input_tokens), outputTokens: Number(row.output_tokens) };
    }
    if (row) this.metrics?.llmCacheExpiries.inc();
    this.metrics?.llmCache.inc({ result: 'miss' });
    return undefined;
  }

  async put(k: CacheKey, a: CachedAnswer): Promise<void> {
    const now = this.now();
    try {
      await insertCompact(
        this.store,
        'aiops_llm_cache',
        [
          'workspace',
          'model',
          'prompt_id',
          'prompt_hash',
          'input_hash',
          'created_at',
          'expires_at',
          'output',
          'input_tokens',
          'output_tokens',
        ],
        [
          [
            k.workspace,
            k.model,
            k.promptId,
            k.promptHash,
            inputHash(k),
            (now / 1000).toFixed(3),
            ((now + this.ttlMs) / 1000).toFixed(3),
            a.output,
            a.inputTokens,
            a.outputTokens,
          ],
        ],
      );
      await this.countEntries();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'an answer could not be written to the LLM cache');
    }
  }

  /** Sets the entries gauge from the table (unexpired rows, all workspaces). */
  async countEntries(): Promise<number> {
    const [row] = await readRows<{ n: number }>(this.store, {
      query: 'SELECT count() AS n FROM aiops_llm_cache FINAL WHERE expires_at > fromUnixTimestamp64Milli({now:Int64})',
      params: { now: this.now() },
    });
    const n = Number(row?.n ?? 0);
    this.metrics?.llmCacheEntries.set(n);
    return n;
  }
}
