import { z } from '@hono/zod-openapi';
import { Evidence as EvidenceSchema } from '../core/evidence.ts';
import { Hypothesis as HypothesisSchema } from '../core/hypothesis.ts';
import { TimeRange as TimeRangeSchema } from '../core/window.ts';
import { INTENTS } from '../agents/understand/index.ts';

/*
 * The main response bodies, for the OpenAPI description. The handlers return
 * the domain's own types; these schemas are checked against them by the
 * compiler (a handler's JSON must fit its route's schema), not at run time.
 */

// Schemas of lower layers are named with zod's own .meta: they may be built before
// @hono/zod-openapi adds .openapi to new schemas.
export const TimeRange = TimeRangeSchema.meta({ id: 'TimeRange' });
export const Evidence = EvidenceSchema.meta({ id: 'Evidence', description: 'One finding of a tool; answers cite it by id' });
export const Hypothesis = HypothesisSchema.meta({ id: 'Hypothesis', description: 'A ranked root-cause candidate' });

export const ToolResult = z
  .object({
    tool: z.string(),
    workspace: z.string(),
    window: TimeRange,
    baseline: TimeRange.optional(),
    evidence: z.array(Evidence),
    rendered: z.string().openapi({ description: 'The evidence as compact text, as a model sees it' }),
    truncated: z.boolean(),
    notes: z.array(z.string()),
    stats: z.object({ queries: z.number().int(), query_ids: z.array(z.string()), elapsed_ms: z.number() }),
  })
  .openapi('ToolResult');

const ProposedAction = z.object({
  approval_id: z.string(),
  action: z.string(),
  params: z.record(z.string(), z.unknown()),
  summary: z.string(),
  reason: z.string(),
  risk: z.string(),
  approvers: z.array(z.string()),
  evidence_ids: z.array(z.string()),
  status: z.string(),
});

const Chart = z
  .object({
    title: z.string(),
    unit: z.string(),
    service: z.string().optional(),
    evidence_id: z.string(),
    points: z.array(z.tuple([z.number(), z.number()])).openapi({ description: 'Epoch milliseconds and value' }),
  })
  .openapi('Chart');

const AnswerMeta = z.object({
  intent: z.enum(INTENTS).openapi({ description: 'The kind of answer given (status, ranking, logs, root cause…)' }),
  charts: z.array(Chart).openapi({ description: 'Series behind the answer, for a UI to plot' }),
  hypotheses: z.array(Hypothesis),
  evidence_ids: z.array(z.string()),
  agents: z.array(z.string()).openapi({ description: 'The specialists that answered' }),
  path: z.enum(['llm', 'deterministic']),
  fallback_reason: z.string().optional(),
  prompts: z.array(z.object({ id: z.string(), version: z.number().int(), hash: z.string() })),
  model: z.string().nullable(),
  grounding: z
    .object({
      sentences: z.number().int(),
      supported: z.number().int(),
      removed: z.number().int(),
      unsupported_numbers: z.array(z.string()),
      unsupported_entities: z.array(z.string()),
      unknown_citations: z.array(z.string()),
      citations: z.number().int(),
      passed: z.boolean(),
    })
    .optional(),
  window: z.object({ from: z.string(), to: z.string() }),
  routing: z.object({
    method: z.enum(['llm', 'lexical', 'default', 'rules']),
    reason: z.string(),
    skipped: z.array(z.object({ agent: z.string(), reason: z.string() })),
  }),
  tracking_id: z.string(),
  usage: z.object({ llm_calls: z.number().int(), prompt_tokens: z.number().int(), completion_tokens: z.number().int() }),
  approvals: z.array(ProposedAction).openapi({ description: 'Actions proposed in this answer, each waiting for a person to approve it' }),
  refused_actions: z.array(z.string()),
  citations: z.array(
    z.object({
      evidence_id: z.string(),
      title: z.string(),
      section: z.string(),
      citation: z.string(),
      action_citation: z.string().optional(),
    }),
  ),
  similar_incidents: z.array(
    z.object({
      evidence_id: z.string(),
      incident_id: z.string(),
      thread_id: z.string(),
      root_service: z.string(),
      root_kind: z.string(),
      at: z.string(),
    }),
  ),
});

export const ChatAnswer = AnswerMeta.extend({
  thread_id: z.string(),
  turn: z.number().int(),
  answer: z.string().openapi({ description: 'The answer text; cites evidence ids in brackets' }),
  evidence: z.array(Evidence),
}).openapi('ChatAnswer');

export const ChatStream = z.string().openapi({
  description:
    'Server-Sent Events (with `Accept: text/event-stream`): `run.started`, `agent.step`, `evidence`, `token`, ' +
    '`approval.required`, `answer`, `error` (a problem), `done`; each `data` is JSON with `v: 1`',
});

export const Thread = z
  .object({
    id: z.string(),
    workspace: z.string(),
    owner: z.string(),
    title: z.string(),
    kind: z.enum(['chat', 'alert']),
    status: z.enum(['open', 'firing', 'resolved']),
    created_at: z.string(),
    updated_at: z.string(),
    turns: z.number().int(),
    last_path: z.string().nullable(),
    alert_key: z.string().nullable(),
    meta: z.record(z.string(), z.unknown()).optional().openapi({ description: "The alert group's state, the Slack thread" }),
  })
  .openapi('Thread');

export const Approval = z
  .object({
    approval_id: z.string(),
    thread_id: z.string(),
    workspace: z.string(),
    action: z.string(),
    params: z.record(z.string(), z.unknown()),
    summary: z.string(),
    reason: z.string(),
    evidence_ids: z.array(z.string()),
    risk: z.enum(['low', 'medium', 'high']),
    agent: z.string(),
    approvers: z.array(z.string()),
    self_approval: z.boolean(),
    requested_by: z.string(),
    requested: z.boolean(),
    asked_by: z.array(z.string()).optional().openapi({ description: 'People who asked for it again while it was pending' }),
    referred_in: z
      .array(z.string())
      .optional()
      .openapi({ description: 'Other threads whose answers pointed at it while it was pending; it can be decided from them' }),
    superseded_by: z.string().optional().openapi({ description: 'The proposal with other parameters that replaced it' }),
    status: z.enum(['pending', 'approved', 'rejected', 'expired', 'sending', 'accepted', 'refused', 'failed', 'not_sent']),
    created_at: z.string(),
    expires_at: z.string(),
    decided_by: z.string().optional(),
    decided_at: z.string().optional(),
    decided_in: z.string().optional(),
    comment: z.string().optional(),
    idempotency_key: z.string(),
    result: z.record(z.string(), z.unknown()).optional().openapi({ description: "The control plane's answer" }),
    verify: z.record(z.string(), z.unknown()).optional(),
    verification: z.record(z.string(), z.unknown()).optional(),
  })
  .openapi('Approval');

export const ThreadView = Thread.extend({
  messages: z.array(
    z.object({
      role: z.enum(['user', 'assistant']),
      content: z.string(),
      at: z.string(),
      turn: z.number().int(),
      meta: z.record(z.string(), z.unknown()).optional().openapi({ description: 'For an answer: its metadata, as in ChatAnswer' }),
    }),
  ),
  evidence: z.array(Evidence),
  approvals: z.array(Approval),
}).openapi('ThreadView');

export const IntakeResult = z
  .object({
    thread_id: z.string().nullable(),
    outcome: z.enum(['investigating', 'duplicate', 'still_firing', 'extended', 'partly_resolved', 'resolved', 'reopened', 'ignored']),
    detail: z.string(),
  })
  .openapi('IntakeResult');

export const SectionHit = z
  .object({
    title: z.string(),
    section: z.string(),
    path: z.string(),
    anchor: z.string(),
    citation: z.string().openapi({ description: 'path#anchor, as answers cite it' }),
    source: z.string(),
    workspace: z.string(),
    score: z.number(),
    snippet: z.string(),
    alerts: z.array(z.string()),
    lexical_rank: z.number().optional(),
    dense_rank: z.number().optional(),
    match: z
      .enum(['exact', 'strong', 'weak'])
      .openapi({ description: 'exact: written for the alert named; strong: the words match well; weak: cite nothing on it' }),
    match_score: z.number().openapi({ description: "Share of the query's word weight the section holds (0-1), comparable across queries" }),
  })
  .openapi('SectionHit');
