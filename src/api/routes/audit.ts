import { createRoute, z } from '@hono/zod-openapi';
import { scoped } from '../middleware/auth.ts';
import { bearerAuth, json, problemResponses, router, workspaceHeader } from '../openapi.ts';
import { Id } from './approvals.ts';
import type { ApprovalService } from '../../actions/approvals.ts';
import type { AppDeps } from '../deps.ts';

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

const AuditEntry = z
  .object({
    at: z.string(),
    workspace: z.string(),
    kind: z.string(),
    approval_id: z.string(),
    thread_id: z.string(),
    actor: z.string().openapi({ description: "A person's subject, or `agent:<name>` for a proposal" }),
    action: z.string(),
    params: z.record(z.string(), z.unknown()),
    status: z.string(),
    control_plane_status: z.number().int(),
    detail: z.string(),
    tracking_id: z.string(),
  })
  .openapi('AuditEntry');

/** /v1/audit: the workspace's audit trail of proposed actions and decisions. */
export function auditRoutes(deps: AppDeps, approvals: ApprovalService) {
  const app = router();
  const list = createRoute({
    method: 'get',
    path: '/',
    tags: ['audit'],
    operationId: 'listAudit',
    summary: "The workspace's audit trail of proposals, decisions and results",
    security: bearerAuth,
    parameters: workspaceHeader,
    middleware: [scoped(...deps.policies.remediate.audit_roles)] as const,
    request: { query: AuditQuery },
    responses: {
      200: { description: 'The entries', content: json(z.object({ workspace: z.string(), entries: z.array(AuditEntry) })) },
      ...problemResponses(400, 401, 403, 503),
    },
  });
  app.openapi(list, async (c) => {
    const { workspace } = c.var.scope;
    const q = c.req.valid('query');
    const entries = await approvals.audit({
      workspace,
      thread_id: q.thread_id,
      approval_id: q.approval_id,
      kind: q.kind,
      since: q.since ? Date.parse(q.since) : undefined,
      limit: q.limit,
    });
    return c.json({ workspace, entries }, 200);
  });
  return app;
}
