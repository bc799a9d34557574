import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { requireScope } from '../middleware/auth.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { Problem, problems } from '../../core/problem.ts';
import type { ChatEvent } from '../../core/events.ts';
import type { ApprovalService } from '../../actions/approvals.ts';
import type { Scope } from '../../core/scope.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';

const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const DecisionBody = z
  .object({
    decision: z.enum(['approve', 'reject'], { message: 'expected "approve" or "reject"' }),
    comment: z.string().trim().max(1000, 'at most 1000 characters').optional(),
  })
  .strict();
const AuditQuery = z
  .object({
    thread_id: Id.optional(),
    approval_id: Id.optional(),
    kind: z.enum(['proposal', 'dropped', 'decision', 'request', 'result', 'verification', 'expired']).optional(),
    since: z.iso.datetime({ offset: true, message: 'expected an ISO 8601 time' }).optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    workspace: z.string().optional(),
  })
  .strict();

/** The caller's bearer token, as sent: it goes to the control plane with an approval and nowhere else. */
const bearer = (c: Context<AppEnv>) => /^Bearer[ ]+(\S+)/i.exec(c.req.header('authorization') ?? '')![1]!;

/** Decisions on proposed actions, and the audit trail. */
export function approvalRoutes(deps: AppDeps, approvals: ApprovalService) {
  const app = new Hono<AppEnv>();
  const policy = deps.policies.remediate;
  const approverRoles = [...new Set(Object.values(policy.actions).flatMap((a) => a?.approvers ?? []))];

  app.get('/threads/:id/approvals', async (c) => {
    const { workspace } = requireScope(c, ...deps.policies.routing.chat_roles, ...approverRoles);
    const id = c.req.param('id');
    const thread = Id.safeParse(id).success ? await deps.chat.threads.get(id) : undefined;
    if (!thread || thread.workspace !== workspace) throw problems.notFound(`there is no thread ${id} in workspace ${workspace}`);
    return c.json({ thread_id: id, approvals: await approvals.byThread(id) });
  });

  app.post('/threads/:id/approvals/:approval_id', async (c) => {
    const { principal, workspace } = requireScope(c);
    const threadId = c.req.param('id');
    const approvalId = c.req.param('approval_id');
    if (!Id.safeParse(threadId).success || !Id.safeParse(approvalId).success)
      throw problems.notFound(`there is no approval ${approvalId} in thread ${threadId}`);
    const body = await jsonBody(c, DecisionBody, deps.config.AIOPS_MAX_BODY_BYTES);
    const scope: Scope = { principal, workspace, trackingId: c.get('trackingId') };
    c.set('eventAttributes', { approval_id: approvalId, decision: body.decision });
    const token = bearer(c);
    if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
      return c.json({ approval: await approvals.decide(scope, token, threadId, approvalId, body, () => undefined) });
    }
    return streamSSE(c, async (stream) => {
      let seq = 0;
      let writing: Promise<unknown> = Promise.resolve();
      const emit = (e: ChatEvent) => {
        const id = String(++seq);
        writing = writing.then(() =>
          stream.aborted ? undefined : stream.writeSSE({ event: e.event, id, data: JSON.stringify({ v: 1, ...e.data }) }),
        );
      };
      try {
        const record = await approvals.decide(scope, token, threadId, approvalId, body, emit);
        emit({ event: 'answer', data: { approval: record } as Record<string, unknown> });
      } catch (err) {
        const p = err instanceof Problem ? err : problems.internal();
        if (!(err instanceof Problem)) deps.logger.error({ tracking_id: scope.trackingId, err: (err as Error).message }, 'decision failed');
        emit({ event: 'error', data: { type: `urn:hks-aiops:problem:${p.type}`, title: p.title, status: p.status, detail: p.detail } });
      }
      emit({ event: 'done', data: { run_id: '' } });
      await writing;
    });
  });

  app.get('/audit', async (c) => {
    const { workspace } = requireScope(c, ...policy.audit_roles);
    const q = queryParams(c, AuditQuery);
    const entries = await approvals.audit({
      workspace,
      thread_id: q.thread_id,
      approval_id: q.approval_id,
      kind: q.kind,
      since: q.since ? Date.parse(q.since) : undefined,
      limit: q.limit,
    });
    return c.json({ workspace, entries });
  });

  return app;
}
