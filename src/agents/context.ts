import { Annotation, type LangGraphRunnableConfig } from '@langchain/langgraph';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { Store } from '../clients/clickhouse.ts';
import type { Logger } from '../observability/logger.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { Policies } from '../policies/schema.ts';
import type { PromptRegistry } from '../prompts/registry.ts';
import type { ToolContext } from '../tools/run.ts';
import type { Redactor } from '../policies/redaction.ts';
import type { KnowledgeBase } from '../knowledge/base.ts';
import type { ChatEvent } from '../core/events.ts';
import type { ApprovalRecord } from '../core/proposal.ts';
import type { FactSink } from '../observability/facts.ts';
import type { Tracer } from '../observability/tracing.ts';
import type { LlmCache } from '../storage/llm-cache.ts';

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
  /** Counts tool failures (absent in tests that do not need it). */
  metrics?: ServiceMetrics;
  /** Runbooks and past incidents (absent in tests that do not need them). */
  knowledge?: KnowledgeBase;
  /** A workspace's pending proposal of an action on a target, if any (absent without approvals). */
  pendingProposal?: (workspace: string, action: string, target: string) => Promise<ApprovalRecord | undefined>;
  /** Every run's facts (nodes, tools, model calls, grounding, turns), unsampled; absent in tests that do not need them. */
  facts?: FactSink;
  /** Spans of runs, nodes, tools and model calls (a no-op tracer without an OTLP endpoint). */
  tracer?: Tracer;
  /** Model answers kept for the policy's TTL (absent: every call asks the model). */
  llmCache?: LlmCache;
  /** The clock turns start by (tests fix it). */
  now?: () => number;
}

/** Counted per turn: the benchmark and the answer report them. */
interface Usage {
  llmCalls: number;
  promptTokens: number;
  completionTokens: number;
}

/**
 * The run's context: the graphs' LangGraph context schema, so nodes get it
 * typed and it is never checkpointed. The caller's token is not in it; scope
 * is what tools need.
 */
export const RunContextSchema = Annotation.Root({
  deps: Annotation<AgentDeps>(),
  workspace: Annotation<string>(),
  threadId: Annotation<string>(),
  sub: Annotation<string>(),
  roles: Annotation<string[]>(),
  trackingId: Annotation<string>(),
  now: Annotation<number>(),
  /** Services of the workspace, for recognising names in questions and answers. */
  services: Annotation<string[]>(),
  /** Hands out evidence ids that stay unique across the thread's turns. */
  ids: Annotation<(prefix: string) => string>(),
  emit: Annotation<(event: ChatEvent) => void>(),
  signal: Annotation<AbortSignal | undefined>(),
  redactor: Annotation<Redactor>(),
  usage: Annotation<Usage>(),
});
export type RunContext = typeof RunContextSchema.State;
/** A node's config with the run context in it. */
export type AgentConfig = LangGraphRunnableConfig<RunContext>;

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
export function runContext(config: AgentConfig): RunContext {
  const rc = config.context;
  if (!rc?.deps) throw new Error('the agents run without their context');
  return rc;
}
