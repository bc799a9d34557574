import fs from 'node:fs';
import path from 'node:path';
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import { ChatGenerationChunk, type ChatResult } from '@langchain/core/outputs';
import { RunnableLambda } from '@langchain/core/runnables';
import type { z } from 'zod';
import { tempDir } from './service.ts';

export interface Script {
  /** What routing returns (or throws). */
  route?: unknown;
  /** The draft, or a function of the synthesis prompt (user part). */
  draft?: string | ((user: string) => string) | Error;
  /** Delay before the draft streams (for timeouts). */
  delayMs?: number;
}

const text = (m: BaseMessage) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content));

/** A chat model that follows a script and records every prompt it gets. */
export class ScriptedChatModel extends BaseChatModel {
  readonly calls: { kind: 'route' | 'draft'; system: string; user: string }[] = [];
  constructor(private readonly script: Script) {
    super({});
  }
  _llmType() {
    return 'scripted';
  }
  private draftFor(messages: BaseMessage[]): string {
    const [system, user] = [text(messages[0]!), text(messages[1]!)];
    this.calls.push({ kind: 'draft', system, user });
    const d = this.script.draft;
    if (d instanceof Error) throw d;
    return typeof d === 'function' ? d(user) : (d ?? '');
  }
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const t = this.draftFor(messages);
    return { generations: [{ text: t, message: new AIMessage(t) }] };
  }
  override async *_streamResponseChunks(messages: BaseMessage[], options: this['ParsedCallOptions']): AsyncGenerator<ChatGenerationChunk> {
    if (this.script.delayMs) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.script.delayMs);
        options.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        });
      });
    }
    const t = this.draftFor(messages);
    for (const piece of t.match(/\S+\s*/g) ?? []) {
      if (options.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      yield new ChatGenerationChunk({ text: piece, message: new AIMessageChunk({ content: piece }) });
    }
  }
  override withStructuredOutput<T extends Record<string, unknown>>(schema: z.ZodType<T>): never {
    return RunnableLambda.from(async (messages: BaseMessage[]) => {
      this.calls.push({ kind: 'route', system: text(messages[0]!), user: text(messages[1]!) });
      if (this.script.route instanceof Error) throw this.script.route;
      return schema.parse(this.script.route);
    }) as never;
  }
}

/** A copy of policies/ with some files replaced (for budgets and timeouts in tests). */
export function policiesWith(files: Record<string, string>): string {
  const dir = tempDir('aiops-policies-');
  for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(dir, f));
  for (const [f, body] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), body);
  return dir;
}
