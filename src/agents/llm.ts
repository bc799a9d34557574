import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, SystemMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { AGENTS } from '../policies/schema.ts';
import { estimateTokens } from '../core/evidence.ts';
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
): Promise<z.output<S>> {
  const ms = Math.min(rc.deps.policies.llm.timeout_ms, 10_000);
  const structured = model.withStructuredOutput(schema, { name, method: 'jsonSchema' });
  try {
    const out = await structured.invoke([new SystemMessage(system), new HumanMessage(user)], { signal: signals(rc, ms) });
    count(rc, system, user, JSON.stringify(out));
    return schema.parse(out);
  } catch (err) {
    rc.usage.llmCalls++;
    throw asTimeout(err, rc, ms);
  }
}

/** Structured routing: which specialists should answer. */
export function classifyWithModel(rc: RunContext, model: BaseChatModel, system: string, user: string): Promise<RouteDecision> {
  return structuredCall(rc, model, RouteDecision, 'route', system, user);
}

/** The answer draft, streamed token by token to the caller. */
export async function streamDraft(
  rc: RunContext,
  model: BaseChatModel,
  system: string,
  user: string,
  onToken: (t: string) => void,
): Promise<string> {
  const ms = rc.deps.policies.llm.timeout_ms;
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
}
