import type { Config } from '../config/env.ts';
import type { Logger } from '../observability/logger.ts';
import type { TokenVerifier } from '../auth/verifier.ts';
import type { Store } from '../clients/clickhouse.ts';
import type { TelemetryIngest } from '../otlp/ingest.ts';
import type { ServiceMetrics } from '../observability/metrics.ts';
import type { WideEventWriter } from '../storage/wide-events.ts';
import type { Readiness } from './readiness.ts';
import type { DemoController } from '../demo/controller.ts';
import type { Policies } from '../policies/schema.ts';
import type { ChatService } from '../conversations/chat.ts';
import type { KnowledgeBase } from '../knowledge/base.ts';
import type { ApprovalService } from '../actions/approvals.ts';
import type { AlertIntake } from '../alerts/intake.ts';
import type { SlackAdapter } from '../slack/adapter.ts';
import type { EvalRuns } from '../evals/runs.ts';
import type { PromptRegistry } from '../prompts/registry.ts';
import type { BriefingService } from '../briefings/service.ts';
import type { RequestFacts } from '../storage/request-facts.ts';
import type { Tracing } from '../observability/tracing.ts';
import type { LlmCache } from '../storage/llm-cache.ts';

/** Everything the routes use, built once at start (src/runtime/service.ts). */
export interface AppDeps {
  config: Config;
  logger: Logger;
  policies: Policies;
  verifier: TokenVerifier;
  store: Store;
  ingest: TelemetryIngest;
  metrics: ServiceMetrics;
  wideEvents: WideEventWriter;
  readiness: Readiness;
  demo?: DemoController;
  chat: ChatService;
  knowledge: KnowledgeBase;
  approvals: ApprovalService;
  alerts: AlertIntake;
  /** Present when Slack is enabled and configured. */
  slack?: SlackAdapter;
  prompts: PromptRegistry;
  /** Whether a model answers (X-Eval-Model needs one). */
  modelAvailable: boolean;
  /** Eval runs (dev mode: the runner signs a token per case workspace). */
  evals?: EvalRuns;
  /** Scheduled and requested briefings. */
  briefings: BriefingService;
  /** Every request's facts, unsampled: /v1/stats and /v1/trace read them. */
  facts: RequestFacts;
  /** The service's own spans (a no-op without OTEL_EXPORTER_OTLP_ENDPOINT). */
  tracing: Tracing;
  /** Model answers kept in ClickHouse (absent when the policy turns it off). */
  llmCache?: LlmCache;
}
