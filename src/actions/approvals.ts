import { createHash } from 'node:crypto';
import {
  Annotation,
  Command,
  END,
  interrupt,
  START,
  StateGraph,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from '@langchain/langgraph';
import { problems } from '../core/problem.ts';
import { hasRole, type Scope } from '../core/scope.ts';
import { formatDuration, parseDuration } from '../core/duration.ts';
import type { Logger } from '../observability/logger.ts';
import type { Policies } from '../policies/schema.ts';
import type { Store } from '../clients/clickhouse.ts';
import type { Evidence } from '../core/evidence.ts';
import { runTool } from '../tools/definition.ts';
import { findTool } from '../tools/registry.ts';
import { evidenceIds } from '../tools/run.ts';
import type { ChatEvent } from '../core/events.ts';
import type { AuditLog, AuditQuery } from '../storage/audit.ts';
import type { ControlPlaneClient } from '../clients/control-plane.ts';
import type { ApprovalStore } from '../storage/approvals.ts';
import { hhmm } from '../core/window.ts';
import type { TurnProposal } from '../core/proposal.ts';
import type { ActionResult, ApprovalRecord } from '../core/proposal.ts';

/** How the approval workflow writes into a conversation. */
export interface ThreadPoster {
  append(threadId: string, content: string, evidence?: Evidence[]): Promise<void>;
  evidenceIds(threadId: string): Promise<string[]>;
}

export interface Decision {
  decision: 'approve' | 'reject';
  comment?: string;
}

/** The run context of the approval graph: never checkpointed, so the approver's token stays out of storage. */
interface ApprovalContext {
  service: ApprovalService;
  token?: string;
  scope: Scope;
  emit: (e: ChatEvent) => void;
}

const ApprovalState = Annotation.Root({
  approval_id: Annotation<string>(),
  decision: Annotation<{ decision: Decision['decision']; by: string; comment?: string } | null>({
    reducer: (_, b) => b,
    default: () => null,
  }),
  result: Annotation<ActionResult | null>({ reducer: (_, b) => b, default: () => null }),
});

const ctxOf = (config: LangGraphRunnableConfig) => config.context as unknown as ApprovalContext;

/**
 * One graph per proposal: it stops at `interrupt` until a person decides;
 * approval resumes it into `send`, which asks the control plane with the
 * approver's token. A rejection ends it.
 */
function buildApprovalGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(ApprovalState)
    .addNode('await_decision', (state) => {
      const decision = interrupt<{ approval_id: string }, { decision: Decision['decision']; by: string; comment?: string }>({
        approval_id: state.approval_id,
      });
      return { decision };
    })
    .addNode('send', async (state, config: LangGraphRunnableConfig) => {
      const ctx = ctxOf(config);
      return { result: await ctx.service.execute(state.approval_id, ctx) };
    })
    .addEdge(START, 'await_decision')
    .addConditionalEdges('await_decision', (s) => (s.decision?.decision === 'approve' ? 'send' : END), ['send', END])
    .addEdge('send', END)
    .compile({ checkpointer });
}

/** The same change by hand, for when nothing could be sent. */
export function kubectlFor(r: Pick<ApprovalRecord, 'action' | 'params' | 'workspace'>): string {
  const d = `deployment/${r.params.service}`;
  const ns = `-n ${r.workspace}`;
  switch (r.action) {
    case 'scale':
      return `kubectl ${ns} scale ${d} --replicas=${r.params.replicas}`;
    case 'rollout_restart':
      return `kubectl ${ns} rollout restart ${d}`;
    case 'rollback':
      return `kubectl ${ns} rollout undo ${d}`;
    case 'set_resources': {
      const req = [r.params.cpu_request && `cpu=${r.params.cpu_request}`, r.params.memory_request && `memory=${r.params.memory_request}`]
        .filter(Boolean)
        .join(',');
      const lim = [r.params.cpu_limit && `cpu=${r.params.cpu_limit}`, r.params.memory_limit && `memory=${r.params.memory_limit}`]
        .filter(Boolean)
        .join(',');
      return `kubectl ${ns} set resources ${d}${req ? ` --requests=${req}` : ''}${lim ? ` --limits=${lim}` : ''}`;
    }
  }
}

export interface ApprovalDeps {
  store: ApprovalStore;
  audit: AuditLog;
  policies: Policies;
  controlPlane?: ControlPlaneClient;
  logger: Logger;
  telemetry: Store;
  tenantAttribute: string;
  checkpointer: BaseCheckpointSaver;
  now?: () => number;
}

/**
 * Proposals, decisions, requests to the control plane, and the check that
 * follows an accepted action. The audit trail gets every step; no step
 * stores a token.
 */
export class ApprovalService {
  private readonly graph;
  private poster: ThreadPoster | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly d: ApprovalDeps) {
    this.graph = buildApprovalGraph(d.checkpointer);
    this.now = d.now ?? Date.now;
  }

  /** Where decisions, results and checks are written (the chat service). */
  attach(poster: ThreadPoster): void {
    this.poster = poster;
  }

  private get policy() {
    return this.d.policies.remediate;
  }

  private config(id: string) {
    return { configurable: { thread_id: `approval:${id}` } };
  }

  /** Records this turn's proposals as pending approvals, each its graph stopped at the decision. */
  async register(scope: Scope, threadId: string, proposals: TurnProposal[], emit: (e: ChatEvent) => void): Promise<ApprovalRecord[]> {
    const out: ApprovalRecord[] = [];
    const now = this.now();
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
        expires_at: new Date(now + (parseDuration(this.policy.expire_after) ?? 86_400_000)).toISOString(),
        idempotency_key: createHash('sha256').update(`${threadId}:${p.approval_id}`).digest('hex').slice(0, 40),
        ...(p.verify ? { verify: p.verify } : {}),
      };
      await this.d.store.create(record);
      await this.graph.invoke(
        { approval_id: record.approval_id },
        { ...this.config(record.approval_id), context: { service: this, scope, emit } as unknown as Record<string, unknown> },
      );
      await this.d.audit.record({
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
  async dropped(
    scope: Scope,
    threadId: string,
    items: { action: string; params: Record<string, unknown>; agent: string; requested: boolean; reason: string }[],
  ): Promise<void> {
    for (const d of items) {
      await this.d.audit.record({
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
    return this.d.store.byThread(threadId);
  }

  audit(q: AuditQuery) {
    return this.d.audit.list(q);
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
    const record = await this.d.store.get(approvalId);
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
    if (record.status === 'pending' && Date.parse(record.expires_at) < this.now()) {
      await this.d.store.transition(approvalId, ['pending'], { status: 'expired' });
      await this.d.audit.record({
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
    const decidedAt = new Date(this.now()).toISOString();
    const updated = await this.d.store.transition(approvalId, ['pending'], {
      status: decision.decision === 'approve' ? 'approved' : 'rejected',
      decided_by: scope.principal.sub,
      decided_at: decidedAt,
      ...(decision.comment ? { comment: decision.comment } : {}),
    });
    if (!updated) {
      const now = await this.d.store.get(approvalId);
      throw problems.conflict(
        `approval ${approvalId} is already ${now?.status}${now?.decided_by ? ` (by ${now.decided_by} at ${now.decided_at})` : ''}`,
      );
    }
    await this.d.audit.record({
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
    const ctx: ApprovalContext = { service: this, token: decision.decision === 'approve' ? token : undefined, scope, emit };
    await this.graph.invoke(
      new Command({
        resume: { decision: decision.decision, by: scope.principal.sub, ...(decision.comment ? { comment: decision.comment } : {}) },
      }),
      {
        ...this.config(approvalId),
        context: ctx as unknown as Record<string, unknown>,
      },
    );
    if (decision.decision === 'reject') {
      await this.post(
        threadId,
        `${scope.principal.sub} rejected the proposal to ${record.summary}${decision.comment ? ` ("${decision.comment}")` : ''}. Nothing was sent.`,
      );
    }
    return (await this.d.store.get(approvalId))!;
  }

  /** The `send` step: exactly one request per approval, as the approver; the outcome into the thread and the audit trail. */
  async execute(approvalId: string, ctx: ApprovalContext): Promise<ActionResult | null> {
    const sending = await this.d.store.transition(approvalId, ['approved'], { status: 'sending' });
    if (!sending) return null;
    const by = sending.decided_by!;
    let result: ActionResult;
    if (!this.d.controlPlane) {
      result = {
        status: 'not_sent',
        message: 'no control plane is configured (CONTROL_PLANE_URL is unset); nothing was sent',
        attempts: 0,
        at: new Date(this.now()).toISOString(),
      };
    } else {
      await this.d.audit.record({
        workspace: sending.workspace,
        kind: 'request',
        approval_id: approvalId,
        thread_id: sending.thread_id,
        actor: by,
        action: sending.action,
        params: sending.params,
        status: 'sending',
        detail: `idempotency key ${sending.idempotency_key}`,
        tracking_id: ctx.scope.trackingId,
      });
      try {
        result = await this.d.controlPlane.send({ record: sending, token: ctx.token!, approvedBy: by, trackingId: ctx.scope.trackingId });
      } catch (err) {
        result = { status: 'failed', message: (err as Error).message, attempts: 1, at: new Date(this.now()).toISOString() };
      }
    }
    const verifyAt =
      result.status === 'accepted' && sending.verify && this.policy.verification.enabled
        ? new Date(this.now() + (parseDuration(this.policy.verification.after) ?? 600_000)).toISOString()
        : undefined;
    await this.d.store.transition(approvalId, ['sending'], {
      status: result.status,
      result,
      ...(verifyAt ? { verification: { state: 'scheduled', at: verifyAt } } : {}),
    });
    await this.d.audit.record({
      workspace: sending.workspace,
      kind: 'result',
      approval_id: approvalId,
      thread_id: sending.thread_id,
      actor: by,
      action: sending.action,
      params: sending.params,
      status: result.status,
      control_plane_status: result.http_status ?? 0,
      detail: `${result.message}${result.operation_id ? ` (operation ${result.operation_id})` : ''}; attempts ${result.attempts}`,
      tracking_id: ctx.scope.trackingId,
    });
    this.d.logger.info(
      {
        tracking_id: ctx.scope.trackingId,
        approval_id: approvalId,
        action: sending.action,
        status: result.status,
        http_status: result.http_status,
        attempts: result.attempts,
      },
      'action request finished',
    );
    ctx.emit({ event: 'action.result', data: { approval_id: approvalId, ...result } });
    await this.post(sending.thread_id, this.resultText(sending, by, result, verifyAt));
    return result;
  }

  private resultText(r: ApprovalRecord, by: string, result: ActionResult, verifyAt?: string): string {
    const head = `${by} approved: ${r.summary}.`;
    switch (result.status) {
      case 'accepted':
        return `${head} The control plane accepted it${result.operation_id ? ` (operation ${result.operation_id})` : ''}.${verifyAt && r.verify ? ` I will check ${r.verify.label} again at ${hhmm(verifyAt)} UTC.` : ''}`;
      case 'refused':
        return `${head} The control plane refused it (${result.http_status}): ${result.message}. Nothing was changed.`;
      case 'failed':
        return `${head} The request failed: ${result.message}. Nothing is known to have changed; the control plane runs this request at most once (idempotency key ${r.idempotency_key}).`;
      case 'not_sent':
        return `${head} No control plane is configured (CONTROL_PLANE_URL is unset), so the request was recorded as not sent and nothing was changed. To do it by hand: ${kubectlFor(r)}`;
    }
  }

  private async post(threadId: string, text: string, evidence?: Evidence[]): Promise<void> {
    try {
      await this.poster?.append(threadId, text, evidence);
    } catch (err) {
      this.d.logger.warn({ thread_id: threadId, err: (err as Error).message }, 'could not write to the thread');
    }
  }

  /** Starts looking for due verifications (and requests a restart interrupted) every `poll`. */
  start(): void {
    const poll = parseDuration(this.policy.verification.poll) ?? 30_000;
    this.timer = setInterval(() => void this.tick(), poll);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
  }

  /** One pass: runs every due verification; marks requests a restart cut off as failed. */
  tick(): Promise<void> {
    this.polling = this.polling.then(async () => {
      try {
        await this.recoverInterrupted();
        for (
          let r = await this.d.store.claimVerification(new Date(this.now()));
          r;
          r = await this.d.store.claimVerification(new Date(this.now()))
        )
          await this.verify(r);
      } catch (err) {
        this.d.logger.warn({ err: (err as Error).message }, 'the approvals pass failed');
      }
    });
    return this.polling;
  }

  /** An approval left `approved` or `sending` longer than a request can take was cut off (a restart): say so. */
  private async recoverInterrupted(): Promise<void> {
    const cp = this.policy.control_plane;
    const longest = cp.timeout_ms * (cp.retries + 1) + cp.backoff_ms * 2 ** (cp.retries + 1) + 60_000;
    for (const r of await this.d.store.byStatus(['approved', 'sending'])) {
      if (!r.decided_at || Date.parse(r.decided_at) > this.now() - longest) continue;
      const result: ActionResult = {
        status: 'failed',
        message: 'the service stopped before the control plane answered; the request may or may not have reached it',
        attempts: 0,
        at: new Date(this.now()).toISOString(),
      };
      if (!(await this.d.store.transition(r.approval_id, [r.status], { status: 'failed', result }))) continue;
      await this.d.audit.record({
        workspace: r.workspace,
        kind: 'result',
        approval_id: r.approval_id,
        thread_id: r.thread_id,
        actor: r.decided_by ?? '',
        action: r.action,
        params: r.params,
        status: 'failed',
        detail: result.message,
        tracking_id: 'recovery',
      });
      await this.post(
        r.thread_id,
        `${r.decided_by} approved: ${r.summary}, but ${result.message}. Check the deployment before asking again (idempotency key ${r.idempotency_key}).`,
      );
    }
  }

  /** The same tool, the same question, some minutes later: did the signal recover? */
  private async verify(r: ApprovalRecord): Promise<void> {
    const spec = r.verify!;
    const tool = findTool(spec.tool);
    const trackingId = `verify-${r.approval_id.slice(0, 8)}`;
    let text: string;
    let verification: ApprovalRecord['verification'];
    let evidence: Evidence[] = [];
    try {
      if (!tool) throw new Error(`unknown tool ${spec.tool}`);
      const ids = evidenceIds(this.poster ? await this.poster.evidenceIds(r.thread_id) : []);
      const result = await runTool(
        tool,
        {
          store: this.d.telemetry,
          workspace: r.workspace,
          tenantAttribute: this.d.tenantAttribute,
          trackingId,
          policy: this.d.policies.tools,
          now: this.now(),
          ids,
        },
        { ...spec.args, last: formatDuration(spec.window_ms) },
      );
      const item = result.evidence.find((e) => spec.evidence_kind.includes(e.kind) && e.service === spec.service);
      // Events that stopped leave no item: none is zero. A missing service-level item is unknown.
      const value = item ? (item.numbers[spec.number] ?? 0) : spec.evidence_kind.includes('oom_kill') ? 0 : undefined;
      evidence = item ? [item] : [];
      const at = new Date(this.now()).toISOString();
      const shown = (v: number) => (spec.number === 'error_ratio' ? `${(v * 100).toFixed(1)}%` : String(Math.round(v * 100) / 100));
      if (value === undefined) {
        verification = { state: 'done', at, message: 'no data for the check' };
        text = `Check after "${r.summary}": ${result.tool} found no data for ${spec.service} in the last ${formatDuration(spec.window_ms)}, so recovery cannot be confirmed.`;
      } else {
        const recovered = value <= spec.target;
        verification = { state: 'done', at, recovered, value, message: recovered ? 'recovered' : 'not recovered' };
        text = `Check after "${r.summary}": ${spec.label} is ${shown(value)} over the last ${formatDuration(spec.window_ms)} (it was ${shown(spec.before)}; recovered means at most ${shown(spec.target)}): ${recovered ? 'recovered' : 'not recovered yet'}${item ? ` [${item.id}]` : ''}.`;
      }
    } catch (err) {
      verification = { state: 'done', at: new Date(this.now()).toISOString(), message: `the check failed: ${(err as Error).message}` };
      text = `Check after "${r.summary}" could not run: ${(err as Error).message}.`;
    }
    // The thread says it before the record does: whoever sees the check done finds its message there.
    await this.post(r.thread_id, text, evidence);
    await this.d.store.update(r.approval_id, { verification });
    await this.d.audit.record({
      workspace: r.workspace,
      kind: 'verification',
      approval_id: r.approval_id,
      thread_id: r.thread_id,
      actor: 'hks-aiops',
      action: r.action,
      params: r.params,
      status: verification?.message ?? '',
      detail: text,
      tracking_id: trackingId,
    });
  }
}
