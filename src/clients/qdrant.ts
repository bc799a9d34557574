import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { QdrantVectorStore } from '@langchain/qdrant';
import { QdrantClient } from '@qdrant/js-client-rest';
import type { Config } from '../config/env.ts';

interface QdrantSettings {
  /** As people write it: no port means the scheme's default, not 6333. */
  url: string;
  apiKey?: string;
  timeoutMs: number;
}

/** How long a Qdrant request may take before the service falls back to its embedded index. */
const QDRANT_TIMEOUT_MS = 3000;

function restClient(s: QdrantSettings): QdrantClient {
  const u = new URL(s.url);
  return new QdrantClient({
    url: `${u.protocol}//${u.host}`,
    ...(u.pathname !== '/' ? { prefix: u.pathname.replace(/\/$/, '') } : {}),
    // null, not undefined: the client would otherwise add its own default port 6333.
    port: u.port ? Number(u.port) : null,
    ...(s.apiKey ? { apiKey: s.apiKey } : {}),
    timeout: s.timeoutMs,
    checkCompatibility: false,
  });
}

/**
 * The one connection to Qdrant (URL, API key, timeout). It hands out the
 * REST client, for collections with named dense and `bm25` sparse vectors,
 * which @langchain/qdrant does not model, and LangChain vector stores (one
 * unnamed dense vector per point) over the same client.
 */
export class Qdrant {
  readonly rest: QdrantClient;

  constructor(readonly settings: QdrantSettings) {
    this.rest = restClient(settings);
  }

  /** A LangChain vector store over a collection, sharing this connection. */
  vectorStore(embeddings: EmbeddingsInterface, collection: string): QdrantVectorStore {
    return new QdrantVectorStore(embeddings, { client: this.rest, collectionName: collection });
  }
}

/** Qdrant when QDRANT_URL is set. */
export function openQdrant(config: Pick<Config, 'QDRANT_URL' | 'QDRANT_API_KEY'>, timeoutMs = QDRANT_TIMEOUT_MS): Qdrant | undefined {
  if (!config.QDRANT_URL) return undefined;
  return new Qdrant({ url: config.QDRANT_URL, ...(config.QDRANT_API_KEY ? { apiKey: config.QDRANT_API_KEY } : {}), timeoutMs });
}
