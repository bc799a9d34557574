import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Config } from '../config/env.ts';
import type { Logger } from '../observability/logger.ts';
import { loadPolicies } from '../policies/load.ts';
import { loadOrCreateDevKeys } from '../auth/dev-keys.ts';
import { createTokenVerifier } from '../auth/verifier.ts';
import { openStore, type Store } from '../clients/clickhouse.ts';
import { migrate, readTableShapes } from '../storage/migrations.ts';
import { applyRetention, readTelemetryRetention } from '../storage/retention.ts';
import { IngestClaims } from '../storage/ingest-claims.ts';
import { TelemetryIngest } from '../otlp/ingest.ts';
import { checkPolicyPatterns } from '../tools/regex.ts';
import { parseDuration } from '../core/duration.ts';
import type { Policies } from '../policies/schema.ts';
import type pg from 'pg';
import { ServiceMetrics } from '../observability/metrics.ts';
import { WideEventWriter } from '../storage/wide-events.ts';
import { DemoController } from '../demo/controller.ts';
import { Readiness } from '../api/readiness.ts';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseCheckpointSaver } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { openPostgres } from '../clients/postgres.ts';
import path from 'node:path';
import { currentPromptChoice, PromptRegistry, withPromptChoice } from '../prompts/registry.ts';
import { EvalRuns, currentCommit } from '../evals/runs.ts';
import { signDevToken } from '../auth/dev-keys.ts';
import { WORKSPACES } from '../demo/topology.ts';
import type { Scope } from '../core/scope.ts';
import type { ThreadRecord } from '../storage/threads.ts';
import { buildChatGraph } from '../agents/orchestrator/graph.ts';
import { ChatService } from '../conversations/chat.ts';
import { RetentionSweeper, sweepPostgres } from '../storage/retention-sweep.ts';
import { PostgresThreadIndex, type ThreadIndex } from '../storage/threads.ts';
import { createApp } from '../api/app.ts';
import type { AppDeps } from '../api/deps.ts';
import type { AppEnv } from '../api/env.ts';
import { KnowledgeBase } from '../knowledge/base.ts';
import { knowledgeEmbeddings, ollamaChatModel } from '../clients/ollama.ts';
import { openQdrant } from '../clients/qdrant.ts';
import { ApprovalService } from '../actions/approvals.ts';
import { AuditLog } from '../storage/audit.ts';
import { ControlPlaneClient } from '../clients/control-plane.ts';
import { PostgresApprovalStore, type ApprovalStore } from '../storage/approvals.ts';
import { AlertIntake } from '../alerts/intake.ts';
import { SlackAdapter } from '../slack/adapter.ts';
import { SlackClient } from '../clients/slack.ts';
import { ConfigError } from '../config/env.ts';
import { BriefingStore, ClickHouseSlotLease, PostgresSlotLease } from '../storage/briefings.ts';
import { BriefingService, replicaId } from '../briefings/service.ts';
import { BriefingScheduler } from '../briefings/scheduler.ts';
import { RequestFacts } from '../storage/request-facts.ts';
import { LlmCache } from '../storage/llm-cache.ts';
import { createTracing } from '../observability/tracing.ts';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-node';

/**
 * Every turn runs with its thread as the prompt choice, so a traffic split in policies/llm.yaml
 * (prompt_splits) keeps a thread on the version it drew; an eval run's choice (headers) wins.
 */
class ThreadPromptChat extends ChatService {
  override turn(
    scope: Scope,
    thread: ThreadRecord,
    ...rest: Parameters<ChatService['turn']> extends [Scope, ThreadRecord, ...infer R] ? R : never
  ) {
    return withPromptChoice({ threadId: thread.id }, () => super.turn(scope, thread, ...rest));
  }
}

export interface Service {
  deps: AppDeps;
  app: Hono<AppEnv>;
  /** Starts background work (wide events, demo data); resolves when the first demo seed is done. */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface TelemetryOptions {
  /** retention.yaml (read from AIOPS_POLICIES_DIR when absent). */
  retention?: Policies['retention'];
  /** The process's PostgreSQL pool: OTLP request keys are claimed there, shared by replicas. */
  postgres?: pg.Pool;
}

/** Opens the store and the ingest path (shared by `serve` and a seed run with no service up). */
export async function openTelemetry(
  config: Config,
  logger?: Logger,
  opts: TelemetryOptions = {},
): Promise<{ store: Store; ingest: TelemetryIngest }> {
  const retention = opts.retention ?? loadPolicies(config.AIOPS_POLICIES_DIR).retention;
  const store = await openStore(config);
  try {
    await migrate(store, logger);
    await applyRetention(store, retention, logger);
    const shapes = await readTableShapes(store);
    const windowMs = parseDuration(retention.ingest_dedup.window) ?? 3_600_000;
    const claims = opts.postgres
      ? await IngestClaims.postgres(opts.postgres, windowMs, logger)
      : await IngestClaims.clickhouse(store, windowMs, logger);
    const ingest = new TelemetryIngest(store, shapes, config.TENANT_ATTRIBUTE, {
      claims,
      retention: await readTelemetryRetention(store),
      futureToleranceMs: parseDuration(retention.telemetry.future_tolerance) ?? 3_600_000,
    });
    return { store, ingest };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** Where conversations live: an SQLite database in the data folder, or PostgreSQL (the process's pool) shared by replicas. */
async function openConversations(
  config: Config,
  retention: Policies['retention'],
  logger: Logger,
  pool?: pg.Pool,
): Promise<{ checkpointer: BaseCheckpointSaver; threads: ThreadIndex; approvals: ApprovalStore; close(): Promise<void> }> {
  const r = retention.conversations;
  const keep = { chatMs: r.chat_days * 86_400_000, alertMs: r.alert_days * 86_400_000 };
  const interval = parseDuration(r.sweep_interval) ?? 3_600_000;
  if (pool) {
    const saver = new PostgresSaver(pool);
    await saver.setup();
    const threads = await PostgresThreadIndex.open(pool, keep);
    const approvals = await PostgresApprovalStore.open(pool);
    const sweeper = new RetentionSweeper(() => sweepPostgres(pool, saver, keep), interval, logger);
    sweeper.start();
    return { checkpointer: saver, threads, approvals, close: () => sweeper.stop() };
  }
  // Loaded only here: a replica on PostgreSQL does not need the native SQLite module.
  const { openSqliteConversations, sweepSqlite } = await import('../storage/conversation-db.ts');
  const db = await openSqliteConversations(config.dataDir, keep, logger);
  const sweeper = new RetentionSweeper(() => sweepSqlite(db, keep), interval, logger);
  sweeper.start();
  return {
    checkpointer: db.checkpointer,
    threads: db.threads,
    approvals: db.approvals,
    close: async () => {
      await sweeper.stop();
      db.close();
    },
  };
}

export interface BuildOptions {
  defaultMetrics?: boolean;
  /** A chat model to use instead of the configured one (tests pass scripted models). */
  model?: BaseChatModel;
  modelName?: string;
  /** This replica's name in briefing slot claims (default: a random id). */
  replica?: string;
  /** The clock chat turns start by (tests fix it). */
  clock?: () => number;
  /** Span processors besides the OTLP exporter (tests collect spans in memory). */
  spanProcessors?: SpanProcessor[];
}

/** Builds every part of the service without listening (tests call `app.request()` on it). */
export async function buildService(config: Config, logger: Logger, opts: BuildOptions = {}): Promise<Service> {
  const policies = loadPolicies(config.AIOPS_POLICIES_DIR);
  const prompts = new PromptRegistry(config.AIOPS_PROMPTS_DIR, policies.llm.prompts, policies.llm.prompt_splits);
  const model = opts.model ?? ollamaChatModel(config, policies.llm);
  const devKeys = config.devAuth ? await loadOrCreateDevKeys(config.dataDir) : undefined;
  const verifier = createTokenVerifier(config, devKeys);
  // One pool per process: checkpoints, threads, approvals and OTLP request keys share it.
  const pool = config.POSTGRES_URL ? openPostgres(config.POSTGRES_URL) : undefined;
  let telemetry: Awaited<ReturnType<typeof openTelemetry>>;
  try {
    telemetry = await openTelemetry(config, logger, { retention: policies.retention, postgres: pool });
  } catch (err) {
    await pool?.end();
    throw err;
  }
  const { store, ingest } = telemetry;
  const closeStores = async () => {
    await ingest.close();
    await store.close();
    await pool?.end();
  };
  try {
    // The failed-login pattern goes to ClickHouse as RE2: a bad one stops the start, not every auth_failures call.
    const file = path.join(config.AIOPS_POLICIES_DIR, 'tools.yaml');
    await checkPolicyPatterns(store, policies.tools, path.relative(process.cwd(), file) || file);
  } catch (err) {
    await closeStores();
    throw err;
  }
  const metrics = new ServiceMetrics({ defaultMetrics: opts.defaultMetrics });
  const wideEvents = new WideEventWriter(store, policies.retention, logger, metrics);
  const facts = new RequestFacts(store, logger, metrics);
  metrics.queueDepthSource = () => ({ wide_events: wideEvents.pending, facts: facts.pending });
  const tracing = createTracing({ endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, processors: opts.spanProcessors });
  const llmCache =
    model && policies.llm.cache.enabled ? new LlmCache(store, parseDuration(policies.llm.cache.ttl)!, logger, metrics) : undefined;
  const observed = { facts, tracer: tracing.tracer, metrics, ...(llmCache ? { llmCache } : {}) };
  const demo =
    config.demo === 'off'
      ? undefined
      : new DemoController(
          store,
          ingest,
          {
            mode: config.demo,
            scenario: config.AIOPS_DEMO_SCENARIO,
            seed: config.AIOPS_DEMO_SEED,
            hours: config.AIOPS_DEMO_HOURS,
            tenantAttribute: config.TENANT_ATTRIBUTE,
          },
          logger,
        );
  const readiness = new Readiness(
    store,
    [
      { name: 'ollama', url: config.OLLAMA_URL, probePath: '/api/version' },
      { name: 'qdrant', url: config.QDRANT_URL, probePath: '/readyz' },
      { name: 'postgres', url: config.POSTGRES_URL },
      { name: 'control_plane', url: config.CONTROL_PLANE_URL },
    ],
    demo,
  );
  const kp = policies.knowledge;
  const embedder = knowledgeEmbeddings(config, kp);
  const qdrant = openQdrant(config);
  const knowledge = new KnowledgeBase({
    policy: kp,
    store,
    logger,
    runbooksDir: config.AIOPS_RUNBOOKS_DIR,
    cacheDir: path.join(config.dataDir, 'knowledge'),
    ...(embedder ? { embeddings: embedder.embeddings, embeddingModel: embedder.model } : {}),
    ...(qdrant ? { qdrant } : {}),
    refreshMs: kp.refresh_s * 1000,
  });
  try {
    const indexed = await knowledge.start();
    logger.info(
      { ...indexed, dense: knowledge.dense, qdrant: config.QDRANT_URL !== undefined },
      'knowledge indexed: runbooks are the shared runbook files; documents are those workspaces stored and did not delete (per workspace: what aiops knowledge list shows)',
    );
  } catch (err) {
    await closeStores();
    throw err;
  }
  let conversations: Awaited<ReturnType<typeof openConversations>>;
  try {
    conversations = await openConversations(config, policies.retention, logger, pool);
  } catch (err) {
    await knowledge.close();
    await closeStores();
    throw err;
  }
  const approvals = new ApprovalService({
    store: conversations.approvals,
    audit: new AuditLog(store),
    policies,
    ...(config.CONTROL_PLANE_URL
      ? { controlPlane: new ControlPlaneClient(config.CONTROL_PLANE_URL, policies.remediate.control_plane) }
      : {}),
    logger,
    telemetry: store,
    tenantAttribute: config.TENANT_ATTRIBUTE,
    checkpointer: conversations.checkpointer,
    metrics,
  });
  // An eval run may name another model for a turn (X-Eval-Model): one client per name, made when first asked for.
  const models = new Map<string, BaseChatModel | undefined>();
  const modelFor = (name: string) => {
    if (!models.has(name)) models.set(name, ollamaChatModel(config, { ...policies.llm, model: name }));
    return models.get(name);
  };
  const evalModel = () => (opts.model ? undefined : currentPromptChoice()?.model);
  const chat = new ThreadPromptChat(
    {
      store,
      policies,
      prompts,
      get model() {
        const name = evalModel();
        return name ? modelFor(name) : model;
      },
      get modelName() {
        return model ? (evalModel() ?? opts.modelName ?? policies.llm.model) : undefined;
      },
      tenantAttribute: config.TENANT_ATTRIBUTE,
      logger,
      knowledge,
      ...observed,
      ...(opts.clock ? { now: opts.clock } : {}),
    },
    buildChatGraph(conversations.checkpointer),
    conversations.threads,
    approvals,
  );
  const alerts = new AlertIntake({
    chat,
    threads: conversations.threads,
    policies,
    logger,
    store,
    tenantAttribute: config.TENANT_ATTRIBUTE,
    knowledge,
  });
  let slack: SlackAdapter | undefined;
  if (policies.slack.enabled) {
    const missing = (['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET'] as const).filter((k) => !config[k]);
    if (missing.length) {
      await conversations.close();
      await closeStores();
      throw new ConfigError(missing.map((variable) => ({ variable, message: 'required when policies/slack.yaml has enabled: true' })));
    }
    slack = new SlackAdapter(
      new SlackClient(config.SLACK_API_URL, config.SLACK_BOT_TOKEN!),
      policies.slack,
      conversations.threads,
      chat,
      logger,
    );
  }
  const evals = devKeys
    ? new EvalRuns({
        store,
        logger,
        root: config.AIOPS_EVALS_DIR,
        mint: (workspace, roles) =>
          signDevToken(devKeys, {
            sub: 'eval-runner',
            workspaces: [workspace],
            roles,
            ttlSeconds: 900,
            issuer: config.AUTH_ISSUER,
            audience: config.AUTH_AUDIENCE,
            rolesClaim: config.AUTH_ROLES_CLAIM,
            workspacesClaim: config.AUTH_WORKSPACES_CLAIM,
          }),
        knownServices: [...new Set(Object.values(WORKSPACES).flatMap((w) => w.services.map((s) => s.name)))],
        matchThreshold: policies.knowledge.match_threshold,
        price: policies.llm.price_per_million_tokens,
        commit: currentCommit(),
      })
    : undefined;
  // Briefings: the lease on schedule slots lives in PostgreSQL when replicas share one, else in the store.
  let lease: ClickHouseSlotLease | PostgresSlotLease;
  try {
    lease = pool ? await PostgresSlotLease.open(pool) : new ClickHouseSlotLease(store);
  } catch (err) {
    await conversations.close();
    await closeStores();
    throw err;
  }
  const briefings = new BriefingService({
    agents: {
      store,
      policies,
      prompts,
      model,
      modelName: model ? (opts.modelName ?? policies.llm.model) : undefined,
      tenantAttribute: config.TENANT_ATTRIBUTE,
      logger,
      knowledge,
      ...observed,
    },
    store: new BriefingStore(store),
    policy: policies.briefings,
    ...(config.SLACK_BOT_TOKEN ? { slack: new SlackClient(config.SLACK_API_URL, config.SLACK_BOT_TOKEN) } : {}),
    linkBase: policies.briefings.link_base ?? config.serviceUrl,
  });
  const scheduler = new BriefingScheduler(briefings, policies.briefings, lease, logger, { owner: opts.replica ?? replicaId(), metrics });
  const deps: AppDeps = {
    prompts,
    modelAvailable: model !== undefined,
    ...(evals ? { evals } : {}),
    config,
    logger,
    policies,
    verifier,
    store,
    ingest,
    metrics,
    wideEvents,
    readiness,
    demo,
    chat,
    knowledge,
    approvals,
    alerts,
    ...(slack ? { slack } : {}),
    briefings,
    facts,
    tracing,
    ...(llmCache ? { llmCache } : {}),
  };
  const app = createApp(deps);
  return {
    deps,
    app,
    async start() {
      wideEvents.start();
      approvals.start();
      // Missed briefing slots are caught up in the background; the first demo seed does not wait for them.
      void scheduler.start().catch((err) => logger.error({ err }, 'briefing scheduler failed to start'));
      await demo?.start();
    },
    async close() {
      await evals?.stop();
      await demo?.stop();
      await scheduler.stop();
      await wideEvents.stop();
      await alerts.settled();
      await facts.settle();
      await tracing.shutdown();
      await slack?.settled();
      await approvals.stop();
      await knowledge.close();
      await conversations.close();
      await closeStores();
    },
  };
}

interface RunningService {
  service: Service;
  url: string;
  /** Resolves when the initial demo data is in place. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

/** Listens on HOST:PORT; stops gracefully (in-flight requests finish, queues flush). */
export async function listen(service: Service, config: Config, logger: Logger): Promise<RunningService> {
  const server = serve({ fetch: service.app.fetch, port: config.PORT, hostname: config.HOST });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${addr.port}`;
  const ready = service.start();
  let stopping: Promise<void> | undefined;
  return {
    service,
    url,
    ready,
    stop: () =>
      (stopping ??= (async () => {
        logger.info('shutting down: no new connections, finishing requests in flight');
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            if ('closeAllConnections' in server) server.closeAllConnections();
            resolve();
          }, 10_000);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          if ('closeIdleConnections' in server) server.closeIdleConnections();
        });
        await service.close();
        logger.info('stopped');
      })()),
  };
}
