import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { streamSSE } from 'hono/streaming';
import { scoped } from '../middleware/auth.ts';
import { jsonBody } from '../body.ts';
import { bearerAuth, json, jsonRequest, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { Approval } from '../schemas.ts';
import { Problem, problems } from '../../core/problem.ts';
import type { ApprovalService } from '../../actions/approvals.ts';
import type { AppDeps } from '../deps.ts';
import type { AppEnv } from '../env.ts';
import { eventWriter } from '../sse.ts';

export const Id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const DecisionBody = z
  .object({
    decision: z.enum(['approve', 'reject'], { message: 'expected "approve" or "reject"' }),
    comment: z.string().trim().max(1000, 'at most 1000 characters').optional(),
  })
  .strict()
  .openapi('Decision');
/** Thread ids are checked by the handler: one that is not an id names no thread (404). */
const ThreadParams = z.object({ id: z.string().openapi({ description: 'A thread id' }) });
const DecisionParams = z.object({ id: Id, approval_id: Id });

/** The caller's bearer token, as sent: it goes to the control plane with an approval and nowhere else. */
const bearer = (c: Context) => /^Bearer[ ]+(\S+)/i.exec(c.req.header('authorization') ?? '')![1]!;

/** An id that is not one names nothing: 404 before the body is read, as for an unknown approval. */
const knownIds = createMiddleware<AppEnv>(async (c, next) => {
  const threadId = c.req.param('id') ?? '';
  const approvalId = c.req.param('approval_id') ?? '';
  if (!Id.safeParse(threadId).success || !Id.safeParse(approvalId).success)
    throw problems.notFound(`there is no approval ${approvalId} in thread ${threadId}`);
  await next();
});

/** Every role that may approve some action of the policy. */
function approverRolesOf(policy: AppDeps['policies']['remediate']): string[] {
  return [...new Set(Object.values(policy.actions).flatMap((a) => a?.approvers ?? []))];
}

/** /v1/threads/{id}/approvals: a thread's proposed actions, and decisions on them. */
export function approvalRoutes(deps: AppDeps, approvals: ApprovalService) {
  const app = router();
  const policy = deps.policies.remediate;
  const approverRoles = approverRolesOf(policy);

  const list = createRoute({
    method: 'get',
    path: '/',
    tags: ['approvals'],
    operationId: 'listApprovals',
    summary: "A thread's proposed actions and what became of them",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(...deps.policies.routing.chat_roles, ...approverRoles)] as const,
    request: { params: ThreadParams },
    responses: {
      200: { description: 'The approvals', content: json(z.object({ thread_id: z.string(), approvals: z.array(Approval) })) },
      ...problemResponses(401, 403, 404),
    },
  });
  const decide = createRoute({
    method: 'post',
    path: '/{approval_id}',
    tags: ['approvals'],
    operationId: 'decideApproval',
    summary: 'Approve or reject a proposed action (an approver role of the action)',
    description:
      'On approval the action goes to the control plane once, as the approver. 409 once decided or expired. ' +
      'With `Accept: text/event-stream` the progress is streamed as Server-Sent Events.',
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(), knownIds, jsonBody(deps.config.AIOPS_MAX_BODY_BYTES)] as const,
    request: { params: DecisionParams, body: jsonRequest(DecisionBody) },
    responses: {
      200: {
        description: 'The approval after the decision; with `Accept: text/event-stream`, its progress as Server-Sent Events',
        content: {
          ...json(z.object({ approval: Approval })),
          'text/event-stream': {
            schema: z.string().openapi({
              description:
                '`approval.decided`, `action.result`, `answer` (with the approval), `error` (a problem), `done`; `data` is JSON with `v: 1`',
            }),
          },
        },
      },
      ...problemResponses(400, 401, 403, 404, 409, 413, 415, 503),
    },
  });

  app.openapi(list, async (c) => {
    const { workspace } = c.var.scope;
    const { id } = c.req.valid('param');
    const thread = Id.safeParse(id).success ? await deps.chat.threads.get(id) : undefined;
    if (!thread || thread.workspace !== workspace) throw problems.notFound(`there is no thread ${id} in workspace ${workspace}`);
    return c.json({ thread_id: id, approvals: await approvals.byThread(id) }, 200);
  });

  app.openapi(decide, async (c) => {
    const scope = c.var.scope;
    const { id: threadId, approval_id: approvalId } = c.req.valid('param');
    const body = c.req.valid('json');
    c.set('eventAttributes', { approval_id: approvalId, decision: body.decision });
    const token = bearer(c);
    if (!(c.req.header('accept') ?? '').includes('text/event-stream')) {
      return c.json({ approval: await approvals.decide(scope, token, threadId, approvalId, body, () => undefined) }, 200);
    }
    return streamSSE(c, async (stream) => {
      const { emit, flushed } = eventWriter(stream);
      try {
        const record = await approvals.decide(scope, token, threadId, approvalId, body, emit);
        emit({ event: 'answer', data: { approval: record } as Record<string, unknown> });
      } catch (err) {
        const p = err instanceof Problem ? err : problems.internal();
        if (!(err instanceof Problem)) deps.logger.error({ tracking_id: scope.trackingId, err: (err as Error).message }, 'decision failed');
        emit({ event: 'error', data: { type: `urn:hks-aiops:problem:${p.type}`, title: p.title, status: p.status, detail: p.detail } });
      }
      emit({ event: 'done', data: { run_id: '' } });
      await flushed();
    });
  });

  return app;
}

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'sending', 'accepted', 'refused', 'failed', 'not_sent'] as const;
const WorkspaceQuery = z
  .object({
    status: z
      .string()
      .default('pending')
      .transform((v) => v.split(',').map((s) => s.trim()))
      .pipe(z.array(z.enum(STATUSES, { message: `expected statuses among ${STATUSES.join(', ')}, separated by commas` })).min(1))
      .openapi({ description: 'The states to list, separated by commas (default pending)', example: 'pending' }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    workspace: z.string().optional(),
  })
  .strict();

/** /v1/approvals: the workspace's proposals across threads (the console's approvals page). */
export function workspaceApprovalRoutes(deps: AppDeps, approvals: ApprovalService) {
  const app = router();
  const policy = deps.policies.remediate;
  const approverRoles = approverRolesOf(policy);
  const list = createRoute({
    method: 'get',
    path: '/',
    tags: ['approvals'],
    operationId: 'listWorkspaceApprovals',
    summary: "The workspace's proposed actions in the given states (default pending), newest first",
    description:
      'For a chat role or an approver role. Each names its thread; deciding is POST /v1/threads/{id}/approvals/{approval_id}, ' +
      "for the action's approvers.",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(...deps.policies.routing.chat_roles, ...approverRoles)] as const,
    request: { query: WorkspaceQuery },
    responses: {
      200: { description: 'The approvals', content: json(z.object({ workspace: z.string(), approvals: z.array(Approval) })) },
      ...problemResponses(400, 401, 403),
    },
  });
  app.openapi(list, async (c) => {
    const { workspace } = c.var.scope;
    const q = c.req.valid('query');
    return c.json({ workspace, approvals: await approvals.inWorkspace(workspace, q.status, q.limit) }, 200);
  });
  return app;
}
