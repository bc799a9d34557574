import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOllama, OllamaEmbeddings } from '@langchain/ollama';
import type { Config } from '../config/env.ts';
import type { Policies } from '../policies/schema.ts';

/** The chat model, when OLLAMA_URL is set; otherwise the service answers without one. */
export function ollamaChatModel(config: Pick<Config, 'OLLAMA_URL'>, policy: Policies['llm']): BaseChatModel | undefined {
  if (!config.OLLAMA_URL) return undefined;
  return new ChatOllama({
    baseUrl: config.OLLAMA_URL,
    model: policy.model,
    temperature: policy.temperature,
    numCtx: policy.num_ctx,
    maxRetries: policy.retries,
    keepAlive: '10m',
  });
}

/** Ollama embeddings with a time limit per request (a slow model must not hold a search up). */
export function ollamaEmbeddings(baseUrl: string, model: string, timeoutMs: number): EmbeddingsInterface {
  return new OllamaEmbeddings({
    baseUrl,
    model,
    maxRetries: 1,
    maxConcurrency: 2,
    fetch: (input, init) =>
      fetch(input, {
        ...init,
        signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs),
      }),
  });
}

/** The knowledge policy's embedding model, when OLLAMA_URL is set. */
export function knowledgeEmbeddings(
  config: Pick<Config, 'OLLAMA_URL'>,
  policy: Pick<Policies['knowledge'], 'embedding_model' | 'embedding_timeout_ms'>,
): { embeddings: EmbeddingsInterface; model: string } | undefined {
  if (!config.OLLAMA_URL) return undefined;
  return {
    embeddings: ollamaEmbeddings(config.OLLAMA_URL, policy.embedding_model, policy.embedding_timeout_ms),
    model: policy.embedding_model,
  };
}
