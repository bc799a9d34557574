import { createHash } from 'node:crypto';
import { Command } from '@langchain/langgraph';
import { parseDuration } from '../core/duration.ts';
import type { ChatEvent } from '../core/events.ts';
import type { Evidence } from '../core/evidence.ts';
import { problems } from '../core/problem.ts';
import type { ApprovalRecord, ApprovalStatus, DroppedProposal, TurnProposal } from '../core/proposal.ts';
import { hasRole, type Scope } from '../core/scope.ts';
import type { AuditQuery } from '../storage/audit.ts';
import type { ApprovalDeps, ApprovalEnv, ThreadPoster } from './approval-env.ts';
import { approvalThread, buildApprovalGraph, type ApprovalGraph } from './approval-graph.ts';
import { PostActionChecks } from './checks.ts';
import { ActionSender } from './sending.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { PendingExists } from '../storage/approvals.ts';

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
  /** Proposals of one workspace, action and target are recorded one at a time (in this process; the store guards across). */
  private readonly keys = new KeyedLock();

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

  /**
   * The workspace's pending proposal of an action on a target, if any. One
   * past its expiry is expired here (audited) and not returned.
   */
  async pending(workspace: string, action: string, target: string): Promise<ApprovalRecord | undefined> {
    const r = await this.env.store.pending(workspace, action, target);
    if (!r) return undefined;
    if (Date.parse(r.expires_at) >= this.env.now()) return r;
    await this.expire(r, 'system', 'past its expiry', '');
    return undefined;
  }

  /**
   * The workspace's proposals in the given states, newest first (at most
   * `limit`). Pending ones past their expiry are expired here (audited) and
   * left out, as `pending` does.
   */
  async inWorkspace(workspace: string, statuses: ApprovalStatus[], limit: number): Promise<ApprovalRecord[]> {
    const records = (await this.env.store.byStatus(statuses))
      .filter((r) => r.workspace === workspace)
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
    const out: ApprovalRecord[] = [];
    for (const r of records) {
      if (out.length >= limit) break;
      if (r.status === 'pending' && Date.parse(r.expires_at) < this.env.now()) {
        await this.expire(r, 'system', 'past its expiry', '');
        continue;
      }
      out.push(r);
    }
    return out;
  }

  /**
   * Records this turn's proposals. A new one becomes a pending approval, its
   * graph stopped at the decision, after the pending proposal of the same
   * workspace, action and target (if any) is expired as superseded: one
   * pending at a time, across conversations and replicas. One that refers to
   * a pending proposal records who asked again and from where, and announces
   * it again; nothing new is created.
   */
  async register(scope: Scope, threadId: string, proposals: TurnProposal[], emit: (e: ChatEvent) => void): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    for (const p of proposals) {
      let registered: ApprovalRecord;
      if (p.refers_to) {
        const referred = await this.refer(scope, threadId, p);
        if (!referred) {
          // Decided or expired since the turn looked: its own thread says what became of it; asking again proposes afresh.
          this.env.logger.info(
            { tracking_id: scope.trackingId, approval_id: p.approval_id, thread_id: threadId },
            'a referred proposal is no longer pending',
          );
          continue;
        }
        registered = referred;
      } else registered = await this.createPending(scope, threadId, p);
      emit({
        event: 'approval.required',
        data: {
          approval_id: registered.approval_id,
          thread_id: registered.thread_id,
          action: registered.action,
          params: registered.params,
          summary: registered.summary,
          reason: registered.reason,
          risk: registered.risk,
          approvers: registered.approvers,
          evidence_ids: registered.evidence_ids,
          expires_at: registered.expires_at,
        },
      });
      out.push(registered);
    }
    return out;
  }

  /** A later turn's pointer to a pending proposal: who asked for it again, and from which conversation. */
  private async refer(scope: Scope, threadId: string, p: TurnProposal): Promise<ApprovalRecord | undefined> {
    const r = await this.env.store.get(p.approval_id);
    if (r?.status !== 'pending' || r.workspace !== scope.workspace) return undefined;
    const sub = scope.principal.sub;
    const askedBy = p.requested && sub !== r.requested_by && !(r.asked_by ?? []).includes(sub) ? [...(r.asked_by ?? []), sub] : r.asked_by;
    const referredIn =
      threadId !== r.thread_id && !(r.referred_in ?? []).includes(threadId) ? [...(r.referred_in ?? []), threadId] : r.referred_in;
    if (askedBy === r.asked_by && referredIn === r.referred_in) return r;
    const patch = { ...(askedBy ? { asked_by: askedBy } : {}), ...(referredIn ? { referred_in: referredIn } : {}) };
    return (await this.env.store.transition(r.approval_id, ['pending'], patch)) ?? r;
  }

  /** A new pending approval; the one pending for the same action and target, if any, expires as superseded. */
  private async createPending(scope: Scope, threadId: string, p: TurnProposal): Promise<ApprovalRecord> {
    const now = this.env.now();
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
    const target = String(p.params.service ?? '');
    await this.keys.run(`${scope.workspace}\u0000${p.action}\u0000${target}`, async () => {
      // Another replica may record one between the look and the write: the store refuses it, and this one supersedes it.
      for (let attempt = 0; ; attempt++) {
        const current = await this.env.store.pending(scope.workspace, p.action, target);
        if (current)
          await this.expire(current, scope.principal.sub, `superseded by ${record.approval_id}: ${record.summary}`, scope.trackingId, {
            superseded_by: record.approval_id,
          });
        try {
          await this.env.store.create(record);
          return;
        } catch (err) {
          if (!(err instanceof PendingExists) || attempt >= 3) throw err;
        }
      }
    });
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
    return record;
  }

  /** Expires a pending proposal (audited); false when it was no longer pending. */
  private async expire(
    r: ApprovalRecord,
    actor: string,
    why: string,
    trackingId: string,
    patch: Partial<ApprovalRecord> = {},
  ): Promise<boolean> {
    const done = await this.env.store.transition(r.approval_id, ['pending'], { status: 'expired', ...patch });
    if (!done) return false;
    await this.env.audit.record({
      workspace: r.workspace,
      kind: 'expired',
      approval_id: r.approval_id,
      thread_id: r.thread_id,
      actor,
      action: r.action,
      params: r.params,
      status: 'expired',
      detail: why,
      tracking_id: trackingId,
    });
    return true;
  }

  /** Expires the pending proposals of a conversation (its alert resolved), each audited; how many. */
  async expireThread(scope: Scope, threadId: string, why: string): Promise<number> {
    let n = 0;
    for (const r of await this.env.store.byThread(threadId)) {
      if (r.status === 'pending' && r.workspace === scope.workspace && (await this.expire(r, scope.principal.sub, why, scope.trackingId)))
        n++;
    }
    return n;
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
    // A proposal is decided from its conversation, or from one whose answer pointed at it.
    if (
      !record ||
      (record.thread_id !== threadId && !(record.referred_in ?? []).includes(threadId)) ||
      record.workspace !== scope.workspace
    )
      throw problems.notFound(`there is no approval ${approvalId} in thread ${threadId}`);
    if (!hasRole(scope.principal, ...record.approvers)) {
      throw problems.forbidden(
        `deciding on "${record.summary}" needs the role ${record.approvers.map((r) => `"${r}"`).join(' or ')}; the token has ${scope.principal.roles.join(', ') || 'no roles'}`,
      );
    }
    if (decision.decision === 'approve' && !record.self_approval) {
      const involved = await this.involvement(record, scope.principal.sub);
      if (involved)
        throw problems.forbidden(
          `${involved} "${record.summary}"; someone else with the role ${record.approvers.join(' or ')} must approve it (four eyes for ${record.action}, risk ${record.risk})`,
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
      ...(threadId !== record.thread_id ? { decided_in: threadId } : {}),
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
      const text = `${scope.principal.sub} rejected the proposal to ${record.summary}${decision.comment ? ` ("${decision.comment}")` : ''}. Nothing was sent.`;
      await this.env.post(record.thread_id, text);
      if (threadId !== record.thread_id) await this.env.post(threadId, text);
    }
    return (await this.env.store.get(approvalId))!;
  }

  /**
   * How a person took part in a proposal, for the four-eyes rule: asked for
   * it, or owns or asked in a conversation it comes from or was pointed at
   * in. Undefined when they did not.
   */
  private async involvement(r: ApprovalRecord, sub: string): Promise<string | undefined> {
    if ((r.requested && r.requested_by === sub) || (r.asked_by ?? []).includes(sub)) return 'you asked for';
    for (const threadId of [r.thread_id, ...(r.referred_in ?? [])]) {
      const people = this.poster ? await this.poster.participants(threadId) : [r.requested_by];
      if (people.includes(sub)) return 'you own or asked in the conversation that proposed';
    }
    if (r.requested_by === sub) return 'you own or asked in the conversation that proposed';
    return undefined;
  }

  private async post(threadId: string, text: string, evidence?: Evidence[]): Promise<void> {
    try {
      await this.poster?.append(threadId, text, evidence);
    } catch (err) {
      this.env.logger.warn({ thread_id: threadId, err: (err as Error).message }, 'could not write to the thread');
    }
  }
}
