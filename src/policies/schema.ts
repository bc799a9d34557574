import { Cron } from 'croner';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { isRole, ROLE_NAMES } from '../core/roles.ts';

/** A role named in a policy: one of the registry's (src/core/roles.ts), so a typo stops the start. */
const RoleName = z
  .string()
  .min(1)
  .refine(isRole, { error: (iss) => `unknown role "${String(iss.input)}"; the roles are ${ROLE_NAMES.join(', ')}` });

/** Days a table keeps rows (its TTL). */
const Days = z.number().int().min(1).max(36_500);

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 30s, 10m or 6h');
/** A duration that must be more than nothing. */
const PositiveDuration = Duration.refine((d) => parseDuration(d) !== undefined, 'must be more than 0');

/** retention.yaml: how long the tables the service creates keep rows, and what it keeps about its own work. */
const RetentionPolicy = z
  .object({
    telemetry: z
      .object({
        /**
         * Days the otel_* tables keep rows where the service owns them (the embedded store);
         * a ClickHouse server's tables keep the TTL they have, which the service reads.
         */
        days: Days.default(180),
        /** Per table overrides of `days`. */
        tables: z
          .object({
            otel_logs: Days,
            otel_traces: Days,
            otel_metrics_gauge: Days,
            otel_metrics_sum: Days,
            otel_metrics_histogram: Days,
          })
          .partial()
          .strict()
          .default({}),
        /** Records stamped further ahead of the service's clock than this are refused. */
        future_tolerance: PositiveDuration.default('1h'),
      })
      .strict()
      .prefault({}),
    ingest_dedup: z
      .object({
        /** A request body sent again within this time is not written again (the keys' TTL). */
        window: PositiveDuration.default('1h'),
      })
      .strict()
      .prefault({}),
    wide_events: z
      .object({
        /** Days aiops_wide_events keeps rows. */
        days: Days.default(30),
        /** Share of ordinary requests kept; errors and slow requests are always kept. */
        sample_rate: z.number().min(0).max(1).default(0.25),
        slow_ms: z.number().int().positive().default(2000),
        queue_size: z.number().int().min(10).default(10_000),
        batch_size: z.number().int().min(1).default(500),
        flush_interval_ms: z.number().int().min(50).default(2000),
      })
      .strict()
      .prefault({}),
    conversations: z
      .object({
        /** Days a chat thread is kept after its last change: its record, checkpoints and evidence. */
        chat_days: Days.default(90),
        /** Days an alert thread is kept after its last change. */
        alert_days: Days.default(180),
        /** How often expired threads are removed in the background. */
        sweep_interval: PositiveDuration.default('1h'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const Budget = z
  .object({
    /** ClickHouse max_execution_time for each query of the tool. */
    max_execution_time_s: z.number().positive().max(300),
    /** ClickHouse max_result_rows for each query (the query fails beyond it). */
    max_result_rows: z.number().int().positive(),
    /** Size of the prompt rendering of the tool's evidence. */
    render_tokens: z.number().int().min(100).max(8000),
  })
  .strict();

/** tools.yaml: who may run each telemetry tool and within which budgets. */
const ToolsPolicy = z
  .object({
    defaults: Budget.partial()
      .prefault({})
      .transform((d) => ({ max_execution_time_s: 10, max_result_rows: 200_000, render_tokens: 1500, ...d })),
    /** Per tool overrides of the defaults. */
    budgets: z.record(z.string(), Budget.partial()).default({}),
    /** Roles that may run a tool (any of them); a tool not listed needs `sre`. */
    roles: z.record(z.string(), z.array(RoleName).min(1)).default({}),
    /** Longest window a tool may query. */
    max_window: z.string().default('7d'),
    /** Metric names resource_efficiency reads, first match wins (exporter and semantic-convention names). */
    resource_metrics: z
      .object({
        cpu_usage: z.array(z.string()).min(1).default(['k8s.pod.cpu.usage', 'container.cpu.usage', 'k8s.container.cpu.usage']),
        memory_usage: z
          .array(z.string())
          .min(1)
          .default(['k8s.pod.memory.working_set', 'container.memory.working_set', 'k8s.pod.memory.usage']),
        cpu_request: z.array(z.string()).min(1).default(['k8s.container.cpu_request', 'k8s.container.cpu.request']),
        cpu_limit: z.array(z.string()).min(1).default(['k8s.container.cpu_limit', 'k8s.container.cpu.limit']),
        memory_request: z.array(z.string()).min(1).default(['k8s.container.memory_request', 'k8s.container.memory.request']),
        memory_limit: z.array(z.string()).min(1).default(['k8s.container.memory_limit', 'k8s.container.memory.limit']),
        cpu_periods: z.array(z.string()).default(['container_cpu_cfs_periods_total', 'container.cpu.throttling_data.periods']),
        cpu_throttled_periods: z
          .array(z.string())
          .default(['container_cpu_cfs_throttled_periods_total', 'container.cpu.throttling_data.throttled_periods']),
      })
      .strict()
      .prefault({}),
    auth_failures: z
      .object({
        /** Log bodies that report a failed authentication (case-insensitive RE2). */
        body_pattern: z
          .string()
          .default(
            '(login|logon|sign-in|authentication|auth)\\s+(failed|failure)|failed\\s+(login|password|authentication)|invalid\\s+(password|credentials)|bad\\s+credentials|unauthori[sz]ed',
          ),
        /** Cheap substring test run before the pattern: every failed-authentication message holds one of these (case-insensitive). */
        body_prefilter: z
          .array(z.string().min(2))
          .min(1)
          .default(['login', 'logon', 'sign-in', 'auth', 'password', 'credential', 'unauthori']),
        /** Failures per minute from one source that make a burst (also five times the baseline). */
        burst_per_minute: z.number().int().positive().default(20),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const AGENTS = ['sre', 'security', 'efficiency'] as const;
export type AgentName = (typeof AGENTS)[number];

/** routing.yaml: which specialists answer what, and who may ask. */
const RoutingPolicy = z
  .object({
    /** Roles that may chat at all. */
    chat_roles: z.array(RoleName).min(1).default(['sre', 'security', 'efficiency', 'viewer']),
    /** Roles that may read another user's thread in the same workspace. */
    read_others_roles: z.array(RoleName).default(['admin', 'sre-lead']),
    agents: z
      .record(
        z.enum(AGENTS),
        z
          .object({
            /** The caller needs one of these roles for the specialist to run. */
            roles: z.array(RoleName).min(1),
            /** Words that point a question at this specialist (lexical routing). */
            keywords: z.array(z.string().min(1)).min(1),
          })
          .strict(),
      )
      .refine((a) => AGENTS.every((k) => a[k]), { message: `every specialist needs an entry: ${AGENTS.join(', ')}` }),
    /** A specialist joins when its lexical score is at least this share of the best one. */
    multi_agent_share: z.number().min(0).max(1).default(0.6),
    /** With no keyword at all, these answer. */
    default_agents: z.array(z.enum(AGENTS)).min(1).default(['sre']),
  })
  .strict();

/** llm.yaml: the model, its limits, and the prompt versions in use. */
const LlmPolicy = z
  .object({
    model: z.string().min(1).default('qwen2.5:3b'),
    temperature: z.number().min(0).max(2).default(0.1),
    num_ctx: z.number().int().min(512).default(8192),
    /** A call slower than this falls back to the deterministic narrator. */
    timeout_ms: z.number().int().min(100).default(20_000),
    retries: z.number().int().min(0).max(5).default(1),
    /** Prompt tokens allowed for one synthesis (evidence is cut to fit). */
    max_prompt_tokens: z.number().int().min(500).default(5000),
    /** Route with the model when it is available (else the lexical classifier). */
    route_with_llm: z.boolean().default(true),
    /** Active version of each prompt. */
    prompts: z.record(z.string(), z.number().int().positive()).default({}),
    /**
     * Live traffic split between versions of a prompt: version → weight. A thread keeps the version
     * it drew (a hash of the thread id), so a conversation never changes prompt halfway.
     */
    prompt_splits: z
      .record(
        z.string(),
        z
          .record(z.string().regex(/^[1-9]\d*$/, 'expected a prompt version (1, 2, ...)'), z.number().min(0))
          .refine((w) => Object.values(w).some((x) => x > 0), 'at least one version needs a weight above 0'),
      )
      .default({}),
    /** What a model's tokens cost, per million (evals report the cost of a run with it; a local model costs 0). */
    price_per_million_tokens: z
      .object({ prompt: z.number().min(0).default(0), completion: z.number().min(0).default(0) })
      .strict()
      .prefault({}),
    grounding: z
      .object({
        /** Above this share of unsupported sentences the draft is dropped for the narrator. */
        max_unsupported_share: z.number().min(0).max(1).default(0.34),
        /** Relative tolerance when matching a number to the evidence. */
        number_tolerance: z.number().min(0).max(0.5).default(0.02),
      })
      .strict()
      .prefault({}),
    /** Model answers kept in ClickHouse per workspace, model, prompt version and redacted inputs. */
    cache: z
      .object({
        enabled: z.boolean().default(true),
        ttl: PositiveDuration.default('45m'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** privacy.yaml: what is redacted before anything reaches a prompt. */
const PrivacyPolicy = z
  .object({
    redact: z
      .array(
        z
          .object({
            name: z.string().min(1),
            /** JavaScript regular expression, applied globally. */
            pattern: z
              .string()
              .min(1)
              .refine((p) => {
                try {
                  new RegExp(p, 'g');
                  return true;
                } catch {
                  return false;
                }
              }, 'not a valid regular expression'),
            replacement: z.string().default('[redacted]'),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** knowledge.yaml: runbook and incident retrieval. */
const KnowledgePolicy = z
  .object({
    /** Ollama embedding model for dense vectors (used when OLLAMA_URL answers). */
    embedding_model: z.string().min(1).default('nomic-embed-text'),
    /** Reciprocal rank fusion constant. */
    rrf_k: z.number().int().min(1).default(60),
    /** Candidates each retriever contributes before fusion. */
    candidates: z.number().int().min(5).max(500).default(40),
    /** Sections longer than this are split at paragraphs. */
    chunk_max_chars: z.number().int().min(200).default(1800),
    /** How often each replica picks up documents and incidents written elsewhere. */
    refresh_s: z.number().int().min(1).default(15),
    /** Ollama embedding requests slower than this count as failed. */
    embedding_timeout_ms: z.number().int().min(100).default(5000),
    /**
     * A runbook hit is a strong match when its document holds at least this
     * share of the query's word weight (IDF); below, it is weak and answers
     * do not cite it. Calibrated on evals/knowledge/runbook-queries.yaml by
     * leave-one-out (npm run bench:knowledge).
     */
    match_threshold: z.number().min(0).max(1).default(0.32),
    qdrant: z
      .object({
        collection: z
          .string()
          .regex(/^[a-zA-Z0-9_-]+$/)
          .default('aiops_knowledge'),
        incidents_collection: z
          .string()
          .regex(/^[a-zA-Z0-9_-]+$/)
          .default('aiops_incidents'),
        /** After a failure, how long to use the embedded index before trying Qdrant again. */
        retry_after_s: z.number().int().min(1).default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const Roles = z.array(RoleName).min(1);
const Risk = z.enum(['low', 'medium', 'high']);
const ActionRule = z
  .object({
    description: z.string().min(1),
    risk: Risk,
    /** Specialists that may propose it. */
    proposers: z.array(z.enum(['sre', 'security', 'efficiency'])).min(1),
    /** Roles that may approve it (any of them). */
    approvers: Roles,
    /**
     * Whether someone who owns or asked in the conversation a proposal comes
     * from (or asked for it) may approve it too. Unset: by risk, allowed for
     * low, someone else for medium and high.
     */
    self_approval: z.boolean().optional(),
  })
  .strict();

/** remediate.yaml: the typed actions the agents may propose, who approves them, and their limits. */
export const RemediatePolicy = z
  .object({
    actions: z
      .object({
        scale: ActionRule.extend({
          limits: z
            .object({ min_replicas: z.number().int().min(0).default(1), max_replicas: z.number().int().min(1).default(20) })
            .strict()
            .prefault({})
            .refine((l) => l.min_replicas <= l.max_replicas, 'min_replicas is above max_replicas'),
        })
          .strict()
          .optional(),
        rollout_restart: ActionRule.optional(),
        rollback: ActionRule.optional(),
        set_resources: ActionRule.extend({
          limits: z
            .object({
              min_cpu: z.number().positive().default(0.05),
              max_cpu: z.number().positive().default(8),
              min_memory_mib: z.number().positive().default(64),
              max_memory_mib: z.number().positive().default(16384),
              /** At most this factor up or down from the current value in one change. */
              max_change_factor: z.number().min(1).default(4),
            })
            .strict()
            .prefault({}),
        })
          .strict()
          .optional(),
      })
      .strict()
      // An action left out of the catalogue is never proposed.
      .default({}),
    /** At most this many proposals per answer (the strongest first). */
    max_per_turn: z.number().int().min(0).max(5).default(1),
    /** A candidate weaker than this proposes nothing by itself (a person may still ask). */
    min_confidence: z.number().min(0).max(1).default(0.6),
    /** A pending approval older than this can no longer be approved. */
    expire_after: z.string().default('24h'),
    /** Who may read the audit trail of a workspace. */
    audit_roles: Roles.default(['admin', 'sre-lead', 'approver', 'auditor']),
    control_plane: z
      .object({
        timeout_ms: z.number().int().min(100).default(10_000),
        /** Retries after a network error, 429 or 5xx, with the same idempotency key. */
        retries: z.number().int().min(0).max(5).default(2),
        backoff_ms: z.number().int().min(0).default(500),
      })
      .strict()
      .prefault({}),
    verification: z
      .object({
        enabled: z.boolean().default(true),
        /** How long after an accepted action the motivating signal is checked again. */
        after: z.string().default('10m'),
        /** How often due verifications are looked for. */
        poll: z.string().default('30s'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** alerts.yaml: how alerts become investigations. */
const AlertsPolicy = z
  .object({
    /** Roles the service investigates an alert with (no person is asking). */
    investigate_roles: z.array(RoleName).min(1).default(['sre', 'security', 'efficiency']),
    /** First matching rule picks the specialists: label name → regular expression (RE2-style, case-insensitive with (?i)). */
    routing: z
      .array(
        z
          .object({
            match: z.record(z.string().min(1), z.string().min(1)).refine((m) => Object.keys(m).length > 0, 'give at least one label'),
            agents: z.array(z.enum(AGENTS)).min(1),
          })
          .strict(),
      )
      .default([]),
    /** Labels that may name the service, first present wins. */
    service_labels: z
      .array(z.string().min(1))
      .min(1)
      .default(['service', 'service_name', 'app', 'app_kubernetes_io_name', 'deployment', 'container', 'job']),
    window: z
      .object({ before_start: Duration.default('15m'), min: Duration.default('30m'), max: Duration.default('6h') })
      .strict()
      .prefault({}),
    /** An identical notification sooner than this after the last one is a retry (ignored); later, a "still firing" note. */
    repeat_note_after: Duration.default('10m'),
    /** Largest Alertmanager payload accepted, in alerts. */
    max_alerts: z.number().int().min(1).max(10_000).default(1000),
  })
  .strict();

/** slack.yaml: the optional Slack adapter (secrets come from the environment). */
const SlackPolicy = z
  .object({
    enabled: z.boolean().default(false),
    /** Channel (id) where each workspace's alert threads are posted. */
    channels: z.record(z.string(), z.string().regex(/^[A-Z0-9]{6,20}$/, 'expected a Slack channel id such as C0123ABCD')).default({}),
    /** Slack user id → the workspace and roles they read and reply with (never approve). */
    users: z
      .record(
        z.string().regex(/^[UW][A-Z0-9]{6,20}$/, 'expected a Slack user id such as U0123ABCD'),
        z.object({ workspace: z.string().min(1), roles: z.array(RoleName).min(1) }).strict(),
      )
      .default({}),
    /** Where people approve actions (the platform UI); approvals posted to Slack link there. */
    approval_url: z.string().url().optional(),
  })
  .strict();

/** A cron expression croner accepts (five or six fields, or a nickname such as @hourly). */
const CronExpression = z
  .string()
  .min(1)
  .superRefine((v, ctx) => {
    try {
      new Cron(v, { paused: true }).stop();
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a cron expression: ${(err as Error).message}` });
    }
  });

/** One scheduled briefing of a workspace. */
const BriefingSchedule = z
  .object({
    /** Names the schedule: a briefing is compared with the previous one of the same name. */
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lower-case letters, digits and "-", such as hourly'),
    /** When it runs: a cron expression (UTC), or a fixed interval from midnight UTC. */
    schedule: z
      .object({ cron: CronExpression.optional(), every: PositiveDuration.optional() })
      .strict()
      .refine((s) => (s.cron === undefined) !== (s.every === undefined), 'give exactly one of cron and every'),
    /** The period each briefing covers, ending at the slot (default: the interval, or 1h with cron). */
    period: PositiveDuration.optional(),
    /** A quiet period (no incident, no new finding) is stored but not delivered. */
    skip_quiet: z.boolean().default(true),
    delivery: z
      .object({
        webhook: z
          .object({
            url: z.string().url(),
            /** The environment variable holding the HMAC-SHA256 secret (never the secret itself). */
            secret_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as BRIEFING_WEBHOOK_SECRET'),
          })
          .strict()
          .optional(),
        /** Posted with the Slack bot token (SLACK_BOT_TOKEN) to this channel. */
        slack: z
          .object({ channel: z.string().regex(/^[A-Z0-9]{6,20}$/, 'expected a Slack channel id such as C0123ABCD') })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
  })
  .strict();

/** briefings.yaml: scheduled briefings per workspace, and how they are delivered. */
const BriefingsPolicy = z
  .object({
    /** Whether this process runs the schedules (POST /v1/briefings works either way). */
    scheduler: z.boolean().default(true),
    /** Where a reader opens a briefing (the platform, or this service's console); links are `<base>/v1/briefings/<id>.html`. */
    link_base: z.string().url().optional(),
    delivery: z
      .object({
        attempts: z.number().int().min(1).max(10).default(4),
        /** Pause before the second attempt; doubled before each later one. */
        backoff: PositiveDuration.default('2s'),
        timeout: PositiveDuration.default('10s'),
      })
      .strict()
      .prefault({}),
    /** Briefings allowed at once across the process (scheduled and requested). */
    max_concurrent: z.number().int().min(1).max(16).default(2),
    workspaces: z
      .record(
        z.string().min(1),
        z.array(BriefingSchedule).superRefine((list, ctx) => {
          const seen = new Set<string>();
          list.forEach((b, i) => {
            if (seen.has(b.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the name ${b.name} appears twice` });
            seen.add(b.name);
          });
        }),
      )
      .default({}),
  })
  .strict();
export type BriefingSchedulePolicy = z.output<typeof BriefingSchedule>;

/** Every policy segment: one YAML file each under policies/. */
export const POLICY_SEGMENTS = {
  alerts: AlertsPolicy,
  knowledge: KnowledgePolicy,
  remediate: RemediatePolicy,
  slack: SlackPolicy,
  retention: RetentionPolicy,
  tools: ToolsPolicy,
  routing: RoutingPolicy,
  llm: LlmPolicy,
  privacy: PrivacyPolicy,
  briefings: BriefingsPolicy,
} as const;

export type PolicySegment = keyof typeof POLICY_SEGMENTS;
export type Policies = { [K in PolicySegment]: z.output<(typeof POLICY_SEGMENTS)[K]> };
