import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { AGENTS } from '../policies/schema.ts';
import { estimateTokens } from '../core/evidence.ts';
import type { PromptRef } from '../prompts/registry.ts';
import { inSpan, SpanKind, type Span } from '../observability/tracing.ts';
import type { CacheKey } from '../storage/llm-cache.ts';
import type { RunContext } from './context.ts';

const RouteDecision = z.object({
  agents: z.array(z.enum(AGENTS)).min(1).max(3),
  reason: z.string().max(400).default(''),
});
type RouteDecision = z.infer<typeof RouteDecision>;

export class LlmTimeout extends Error {
  constructor(ms: number) {
    super(`the model did not answer within ${ms} ms`);
    this.name = 'LlmTimeout';
  }
}

function signals(rc: RunContext, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return rc.signal ? AbortSignal.any([rc.signal, timeout]) : timeout;
}

function count(rc: RunContext, system: string, user: string, out: string) {
  rc.usage.llmCalls++;
  rc.usage.promptTokens += estimateTokens(system) + estimateTokens(user);
  rc.usage.completionTokens += estimateTokens(out);
}

/** Which prompt a call renders; calls that do not say are keyed by their name with no version. */
type CallRef = Pick<PromptRef, 'id' | 'version' | 'hash'>;

interface CallInfo {
  /** The call's purpose: route, intent, plan, draft, briefing... */
  name: string;
  ref?: CallRef;
  system: string;
  user: string;
}

function cacheKey(rc: RunContext, info: CallInfo): CacheKey {
  return {
    workspace: rc.workspace,
    model: rc.deps.modelName ?? 'model',
    promptId: info.ref?.id ?? info.name,
    promptHash: info.ref ? `${info.ref.version}:${info.ref.hash}` : '',
    system: `${info.name}\u0000${info.system}`,
    user: info.user,
  };
}

/**
 * One model call as the service observes it: a span with the GenAI semantic
 * conventions' attributes, a fact row (prompt, version, tokens, time, cache),
 * the token and duration histograms, and the LLM cache in front of it.
 * `call` runs the model and returns its text; `decode` turns a text (fresh or
 * cached) into the result (a cached text that no longer decodes is a miss).
 */
async function observedCall<T>(
  rc: RunContext,
  info: CallInfo,
  call: (span: Span) => Promise<string>,
  decode: (text: string, cached: boolean) => T,
): Promise<T> {
  const model = rc.deps.modelName ?? 'model';
  const operation = 'chat';
  const started = performance.now();
  const cache = rc.deps.llmCache;
  const key = cache ? cacheKey(rc, info) : undefined;
  const attrs: Record<string, string> = {
    model,
    call: info.name,
    prompt: info.ref?.id ?? info.name,
    prompt_version: info.ref ? String(info.ref.version) : '',
    prompt_hash: info.ref?.hash ?? '',
  };
  const fact = (status: 'ok' | 'error', cacheState: string, input: number, output: number, error?: string) =>
    rc.deps.facts?.record({
      kind: 'model',
      trackingId: rc.trackingId,
      workspace: rc.workspace,
      name: operation,
      status,
      durationMs: performance.now() - started,
      attrs: { ...attrs, cache: cacheState, ...(error ? { error: error.slice(0, 300) } : {}) },
      nums: { input_tokens: input, output_tokens: output },
    });
  return inSpan(
    rc.deps.tracer,
    `${operation} ${model}`,
    {
      'gen_ai.operation.name': operation,
      'gen_ai.system': 'ollama',
      'gen_ai.provider.name': 'ollama',
      'gen_ai.request.model': model,
      'aiops.prompt.id': attrs.prompt!,
      'aiops.prompt.version': attrs.prompt_version!,
      'aiops.call': info.name,
    },
    async (span) => {
      if (cache && key) {
        const hit = await cache.get(key);
        if (hit) {
          try {
            const out = decode(hit.output, true);
            span.setAttributes({ 'aiops.cache.hit': true, 'gen_ai.usage.input_tokens': 0, 'gen_ai.usage.output_tokens': 0 });
            fact('ok', 'hit', hit.inputTokens, hit.outputTokens);
            return out;
          } catch {
            // An answer an older reader wrote that this one cannot decode: ask the model.
          }
        }
      }
      const input = estimateTokens(info.system) + estimateTokens(info.user);
      const labels = { gen_ai_operation_name: operation, gen_ai_request_model: model };
      const modelStarted = performance.now();
      let text: string;
      try {
        text = await call(span);
      } catch (err) {
        rc.deps.metrics?.genAiDuration.observe(
          { ...labels, error_type: (err as Error).name || 'error' },
          (performance.now() - modelStarted) / 1000,
        );
        fact('error', cache ? 'miss' : 'off', input, 0, (err as Error).message);
        throw err;
      }
      const output = estimateTokens(text);
      rc.deps.metrics?.genAiDuration.observe({ ...labels, error_type: '' }, (performance.now() - modelStarted) / 1000);
      rc.deps.metrics?.genAiTokenUsage.observe({ ...labels, gen_ai_token_type: 'input' }, input);
      rc.deps.metrics?.genAiTokenUsage.observe({ ...labels, gen_ai_token_type: 'output' }, output);
      span.setAttributes({ 'aiops.cache.hit': false, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output });
      let result: T;
      try {
        result = decode(text, false);
      } catch (err) {
        fact('error', cache ? 'miss' : 'off', input, output, (err as Error).message);
        throw err;
      }
      fact('ok', cache ? 'miss' : 'off', input, output);
      if (cache && key) await cache.put(key, { output: text, inputTokens: input, outputTokens: output });
      return result;
    },
    { kind: SpanKind.CLIENT },
  );
}

function asTimeout(err: unknown, rc: RunContext, ms: number): unknown {
  if (rc.signal?.aborted) return err;
  const e = err as Error;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || /abort|timed? ?out/i.test(e?.message ?? '')) return new LlmTimeout(ms);
  return err;
}

/** One structured-output call: the reply parsed by the schema (a reply that does not fit throws). */
export async function structuredCall<S extends z.ZodObject>(
  rc: RunContext,
  model: BaseChatModel,
  schema: S,
  name: string,
  system: string,
  user: string,
  ref?: CallRef,
): Promise<z.output<S>> {
  const ms = Math.min(rc.deps.policies.llm.timeout_ms, 10_000);
  const structured = model.withStructuredOutput(schema, { name, method: 'jsonSchema' });
  return observedCall(
    rc,
    { name, ref, system, user },
    async () => {
      try {
        const out = await structured.invoke([new SystemMessage(system), new HumanMessage(user)], { signal: signals(rc, ms) });
        const text = JSON.stringify(out);
        count(rc, system, user, text);
        return text;
      } catch (err) {
        rc.usage.llmCalls++;
        throw asTimeout(err, rc, ms);
      }
    },
    (text) => schema.parse(JSON.parse(text)),
  );
}

/** Structured routing: which specialists should answer. */
export function classifyWithModel(
  rc: RunContext,
  model: BaseChatModel,
  system: string,
  user: string,
  ref?: CallRef,
): Promise<RouteDecision> {
  return structuredCall(rc, model, RouteDecision, 'route', system, user, ref);
}

/** The answer draft, streamed token by token to the caller (a cached draft arrives as one piece). */
export async function streamDraft(
  rc: RunContext,
  model: BaseChatModel,
  system: string,
  user: string,
  onToken: (t: string) => void,
  ref?: CallRef,
  name = 'draft',
): Promise<string> {
  const ms = rc.deps.policies.llm.timeout_ms;
  return observedCall(
    rc,
    { name, ref, system, user },
    async () => {
      let text = '';
      try {
        const stream = await model.stream([new SystemMessage(system), new HumanMessage(user)], { signal: signals(rc, ms) });
        for await (const chunk of stream) {
          const t = typeof chunk.content === 'string' ? chunk.content : chunk.content.map((c) => ('text' in c ? c.text : '')).join('');
          if (!t) continue;
          text += t;
          onToken(t);
        }
      } catch (err) {
        count(rc, system, user, text);
        throw asTimeout(err, rc, ms);
      }
      count(rc, system, user, text);
      return text;
    },
    (text, cached) => {
      if (cached && text) onToken(text);
      return text;
    },
  );
}
