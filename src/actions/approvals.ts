import { createHash } from 'node:crypto';
import { Command } from '@langchain/langgraph';
import { parseDuration } from '../core/duration.ts';
import type { ChatEvent } from '../core/events.ts';
import type { Evidence } from '../core/evidence.ts';
import { problems } from '../core/problem.ts';
import type { ApprovalRecord, DroppedProposal, TurnProposal } from '../core/proposal.ts';
import { hasRole, type Scope } from '../core/scope.ts';
import type { AuditQuery } from '../storage/audit.ts';
import type { ApprovalDeps, ApprovalEnv, ThreadPoster } from './approval-env.ts';
import { approvalThread, buildApprovalGraph, type ApprovalGraph } from './approval-graph.ts';
import { PostActionChecks } from './checks.ts';
import { ActionSender } from './sending.ts';

export type { ApprovalDeps, ThreadPoster } from './approval-env.ts';

interface Decision {
  decision: 'approve' | 'reject';
  comment?: string;
}

/** `send` for a graph that is not resumed by an approval: it never runs. */
const notDecided = async () => {
  throw new Error('an approval graph reached send without an approval');
};

/**
 * Proposals and decisions: a proposal becomes a pending approval with its
 * own graph stopped at the decision; a person with the right role decides;
 * an approval resumes the graph, whose `send` step is the ActionSender. The
 * checks after an action run apart (PostActionChecks). The audit trail gets
 * every step; no step stores a token.
 */
export class ApprovalService {
  private readonly graph: ApprovalGraph;
  private readonly env: ApprovalEnv;
  private readonly sender: ActionSender;
  private readonly checks: PostActionChecks;
  private poster: ThreadPoster | undefined;

  constructor(deps: ApprovalDeps) {
    const { checkpointer, now, ...rest } = deps;
    this.graph = buildApprovalGraph(checkpointer);
    this.env = {
      ...rest,
      now: now ?? (() => Date.now()),
      post: (threadId, text, evidence) => this.post(threadId, text, evidence),
      threadEvidenceIds: async (threadId) => (this.poster ? this.poster.evidenceIds(threadId) : []),
    };
    this.sender = new ActionSender(this.env);
    this.checks = new PostActionChecks(this.env);
  }

  /** Where decisions, results and checks are written (the chat service). */
  attach(poster: ThreadPoster): void {
    this.poster = poster;
  }

  start(): void {
    this.checks.start();
  }

  stop(): Promise<void> {
    return this.checks.stop();
  }

  /** Records this turn's proposals as pending approvals, each its graph stopped at the decision. */
  async register(scope: Scope, threadId: string, proposals: TurnProposal[], emit: (e: ChatEvent) => void): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    const now = this.env.now();
    for (const p of proposals) {
      const record: ApprovalRecord = {
        approval_id: p.approval_id,
        thread_id: threadId,
        workspace: scope.workspace,
        action: p.action,
        params: p.params,
        summary: p.summary,
        reason: p.reason,
        evidence_ids: p.evidence_ids,
        risk: p.risk,
        agent: p.agent,
        approvers: p.approvers,
        self_approval: p.self_approval,
        requested_by: scope.principal.sub,
        requested: p.requested,
        status: 'pending',
        created_at: new Date(now).toISOString(),
        expires_at: new Date(now + (parseDuration(this.env.policies.remediate.expire_after) ?? 86_400_000)).toISOString(),
        idempotency_key: createHash('sha256').update(`${threadId}:${p.approval_id}`).digest('hex').slice(0, 40),
        ...(p.verify ? { verify: p.verify } : {}),
      };
      await this.env.store.create(record);
      await this.graph.invoke(
        { approval_id: record.approval_id },
        { ...approvalThread(record.approval_id), context: { execute: notDecided } },
      );
      await this.env.audit.record({
        workspace: scope.workspace,
        kind: 'proposal',
        approval_id: record.approval_id,
        thread_id: threadId,
        actor: `agent:${p.agent}`,
        action: p.action,
        params: p.params,
        status: 'pending',
        detail: `${p.summary}; ${p.reason}`,
        tracking_id: scope.trackingId,
      });
      emit({
        event: 'approval.required',
        data: {
          approval_id: record.approval_id,
          thread_id: threadId,
          action: p.action,
          params: p.params,
          summary: p.summary,
          reason: p.reason,
          risk: p.risk,
          approvers: p.approvers,
          evidence_ids: p.evidence_ids,
          expires_at: record.expires_at,
        },
      });
      out.push(record);
    }
    return out;
  }

  /** Proposals the catalogue refused: in the audit trail as well as the log. */
  async dropped(scope: Scope, threadId: string, items: DroppedProposal[]): Promise<void> {
    for (const d of items) {
      await this.env.audit.record({
        workspace: scope.workspace,
        kind: 'dropped',
        approval_id: '',
        thread_id: threadId,
        actor: d.requested ? scope.principal.sub : `agent:${d.agent}`,
        action: d.action,
        params: d.params,
        status: 'dropped',
        detail: d.reason,
        tracking_id: scope.trackingId,
      });
    }
  }

  byThread(threadId: string) {
    return this.env.store.byThread(threadId);
  }

  audit(q: AuditQuery) {
    return this.env.audit.list(q);
  }

  /**
   * A person's decision. Role and workspace come from their token and are
   * checked against the catalogue; the first decision wins (409 after). An
   * approval resumes the graph, which sends the request with their token.
   */
  async decide(
    scope: Scope,
    token: string,
    threadId: string,
    approvalId: string,
    decision: Decision,
    emit: (e: ChatEvent) => void,
  ): Promise<ApprovalRecord> {
    const record = await this.env.store.get(approvalId);
    if (!record || record.thread_id !== threadId || record.workspace !== scope.workspace)
      throw problems.notFound(`there is no approval ${approvalId} in thread ${threadId}`);
    if (!hasRole(scope.principal, ...record.approvers)) {
      throw problems.forbidden(
        `deciding on "${record.summary}" needs the role ${record.approvers.map((r) => `"${r}"`).join(' or ')}; the token has ${scope.principal.roles.join(', ') || 'no roles'}`,
      );
    }
    if (decision.decision === 'approve' && record.requested && !record.self_approval && record.requested_by === scope.principal.sub) {
      throw problems.forbidden(
        `you asked for "${record.summary}"; someone else with the role ${record.approvers.join(' or ')} must approve it`,
      );
    }
    if (record.status === 'pending' && Date.parse(record.expires_at) < this.env.now()) {
      await this.env.store.transition(approvalId, ['pending'], { status: 'expired' });
      await this.env.audit.record({
        workspace: record.workspace,
        kind: 'expired',
        approval_id: approvalId,
        thread_id: threadId,
        actor: scope.principal.sub,
        action: record.action,
        params: record.params,
        status: 'expired',
        tracking_id: scope.trackingId,
      });
      throw problems.conflict(`approval ${approvalId} expired at ${record.expires_at}; ask again for a fresh proposal`);
    }
    const decidedAt = new Date(this.env.now()).toISOString();
    const updated = await this.env.store.transition(approvalId, ['pending'], {
      status: decision.decision === 'approve' ? 'approved' : 'rejected',
      decided_by: scope.principal.sub,
      decided_at: decidedAt,
      ...(decision.comment ? { comment: decision.comment } : {}),
    });
    if (!updated) {
      const now = await this.env.store.get(approvalId);
      throw problems.conflict(
        `approval ${approvalId} is already ${now?.status}${now?.decided_by ? ` (by ${now.decided_by} at ${now.decided_at})` : ''}`,
      );
    }
    await this.env.audit.record({
      workspace: record.workspace,
      kind: 'decision',
      approval_id: approvalId,
      thread_id: threadId,
      actor: scope.principal.sub,
      action: record.action,
      params: record.params,
      status: updated.status,
      detail: decision.comment ?? '',
      tracking_id: scope.trackingId,
    });
    emit({
      event: 'approval.decided',
      data: { approval_id: approvalId, decision: decision.decision, by: scope.principal.sub, at: decidedAt },
    });
    // The token lives only in this closure, for the graph's `send` step: never in its state.
    const execute = decision.decision === 'approve' ? (id: string) => this.sender.send(id, { token, scope, emit }) : notDecided;
    await this.graph.invoke(
      new Command({
        resume: { decision: decision.decision, by: scope.principal.sub, ...(decision.comment ? { comment: decision.comment } : {}) },
      }),
      { ...approvalThread(approvalId), context: { execute } },
    );
    if (decision.decision === 'reject') {
      await this.env.post(
        threadId,
        `${scope.principal.sub} rejected the proposal to ${record.summary}${decision.comment ? ` ("${decision.comment}")` : ''}. Nothing was sent.`,
      );
    }
    return (await this.env.store.get(approvalId))!;
  }

  private async post(threadId: string, text: string, evidence?: Evidence[]): Promise<void> {
    try {
      await this.poster?.append(threadId, text, evidence);
    } catch (err) {
      this.env.logger.warn({ thread_id: threadId, err: (err as Error).message }, 'could not write to the thread');
    }
  }
}
