import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { PromptRegistry } from '../prompts/registry.ts';
import type { ToolContext } from '../tools/run.ts';
import type { Redactor } from './redaction.ts';
import type { KnowledgeBase } from '../knowledge/base.ts';
import type { ChatEvent } from '../core/events.ts';

/** What every run of the agents shares: built once at start. */
export interface AgentDeps {
  store: Store;
  policies: Policies;
  prompts: PromptRegistry;
  /** Absent without OLLAMA_URL: answers come from the deterministic narrator. */
  model?: BaseChatModel;
  modelName?: string;
  tenantAttribute: string;
  logger: Logger;
  /** Runbooks and past incidents (absent in tests that do not need them). */
  knowledge?: KnowledgeBase;
}

/** Counted per turn: the benchmark and the answer report them. */
export interface Usage {
  llmCalls: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * The run's context, passed to the graph as LangGraph `context`: never
 * checkpointed. The caller's token is not in it; scope is what tools need.
 */
export interface RunContext {
  deps: AgentDeps;
  workspace: string;
  threadId: string;
  sub: string;
  roles: string[];
  trackingId: string;
  now: number;
  /** Services of the workspace, for recognising names in questions and answers. */
  services: string[];
  ids: (prefix: string) => string;
  emit: (event: ChatEvent) => void;
  signal?: AbortSignal;
  redactor: Redactor;
  usage: Usage;
}

export function toolContext(rc: RunContext): ToolContext {
  return {
    store: rc.deps.store,
    workspace: rc.workspace,
    tenantAttribute: rc.deps.tenantAttribute,
    trackingId: rc.trackingId,
    policy: rc.deps.policies.tools,
    now: rc.now,
    signal: rc.signal,
    ids: rc.ids,
    knowledge: rc.deps.knowledge,
    threadId: rc.threadId,
  };
}

/** The run context from a node's config (LangGraph passes `context` through). */
export function runContext(config: { context?: unknown }): RunContext {
  const rc = config.context as RunContext | undefined;
  if (!rc?.deps) throw new Error('the agents run without their context');
  return rc;
}
