import { randomUUID } from 'node:crypto';
import { runContext, type AgentConfig } from '../../context.ts';
import { byScore } from '../../../core/hypothesis.ts';
import { checkProposal, describeAction, outsideLimits } from '../../../actions/catalogue.ts';
import { draftForRequest } from '../../../actions/drafts.ts';
import { parseActionRequests, type ActionRequest } from '../../../actions/intent.ts';
import type { ChatStateType, ChatUpdate } from '../state.ts';
import type { ProposalDraft } from '../../../core/proposal.ts';
import { ACTION_NAMES, type ActionName, type DroppedProposal, type TurnProposal } from '../../../core/proposal.ts';
import { whenText } from '../../../core/window.ts';
import { subjectAbsent } from '../../narrator.ts';

/** The parameters of a request as the person gave them, for a refusal. */
function requestParams(r: ActionRequest): Record<string, unknown> {
  return {
    service: r.service,
    ...(r.replicas !== undefined ? { replicas: r.replicas } : {}),
    ...(r.resource ? { [r.resource.kind]: r.resource.quantity } : {}),
  };
}

const sameParams = (a: Record<string, unknown>, b: Record<string, unknown>) => {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => JSON.stringify(a[k]) === JSON.stringify(b[k]));
};

/**
 * Turns the specialists' remedies, and the actions the person asked for, into
 * proposals: each checked against the catalogue in policies/remediate.yaml
 * (action, proposer, parameters, limits, evidence). Every request in the
 * person's message is read; each one not proposed is kept with why. A
 * proposal already pending in the workspace (same action and target) is
 * pointed at rather than made again; one with other parameters supersedes it.
 * Nothing is sent anywhere: a proposal waits for a person.
 */
export async function propose(state: ChatStateType, config: AgentConfig): Promise<ChatUpdate> {
  const rc = runContext(config);
  const policy = rc.deps.policies.remediate;
  const turnIds = new Set(state.turnEvidence);
  const evidence = state.evidence.filter((e) => turnIds.has(e.id));
  const hypotheses = [...state.hypotheses].sort(byScore);
  const requested: ProposalDraft[] = [];
  const drafts: (ProposalDraft & { confidence?: number })[] = [];
  const dropped: DroppedProposal[] = [];
  // Only words a person typed can ask for an action: an alert's payload (which
  // starts an alert turn), tool output and documents never do.
  if (!state.alert) {
    const { requests, others } = parseActionRequests(state.question, rc.services);
    for (const request of requests) {
      const outside = outsideLimits(policy, request.action, requestParams(request));
      if (outside) {
        rc.deps.logger.warn(
          { tracking_id: rc.trackingId, action: request.action, agent: 'sre', requested: true, reason: outside },
          'proposal dropped',
        );
        dropped.push({ action: request.action, params: requestParams(request), agent: 'sre', requested: true, reason: outside });
        continue;
      }
      const r = draftForRequest(request, evidence, hypotheses);
      if ('draft' in r) requested.push(r.draft);
      else dropped.push({ action: request.action, params: requestParams(request), agent: 'sre', requested: true, reason: r.refusal });
    }
    for (const o of others)
      dropped.push({ action: 'unknown', params: {}, agent: 'sre', requested: true, reason: o.reason, request: o.text });
  }
  // No remedy is put forward for another problem than the one asked about.
  if (!subjectAbsent(state.plan?.subject)) {
    drafts.push(
      ...[...state.proposalDrafts].sort((a, b) => b.confidence - a.confidence).filter((d) => d.confidence >= policy.min_confidence),
    );
  }
  const proposals: TurnProposal[] = [];
  for (const d of [...requested, ...drafts]) {
    const asked = d.requested ?? false;
    const checked = checkProposal(policy, d, rc.services);
    if (!checked.ok) {
      rc.deps.logger.warn(
        { tracking_id: rc.trackingId, action: d.action, agent: d.agent, requested: asked, reason: checked.reason },
        'proposal dropped',
      );
      dropped.push({ action: d.action, params: d.params, agent: d.agent, requested: asked, reason: checked.reason });
      continue;
    }
    const p = checked.proposal;
    const same = proposals.find((x) => x.action === p.action && x.params.service === p.params.service);
    if (same) {
      // The person asked for what the evidence proposes anyway: one proposal, marked as asked for.
      if (asked) {
        if (sameParams(same.params, p.params)) same.requested = true;
        else
          dropped.push({
            action: d.action,
            params: d.params,
            agent: d.agent,
            requested: true,
            reason: `another ${p.action} of ${p.params.service} is proposed in this answer (${same.summary}); one per action and service`,
          });
      }
      continue;
    }
    if (proposals.length >= policy.max_per_turn) {
      if (asked)
        dropped.push({
          action: d.action,
          params: d.params,
          agent: d.agent,
          requested: true,
          reason: `the policy proposes at most ${policy.max_per_turn} action${policy.max_per_turn === 1 ? '' : 's'} per answer (max_per_turn); ask for it again once the first is decided`,
        });
      continue;
    }
    const pending = await rc.deps.pendingProposal?.(rc.workspace, p.action, String(p.params.service));
    if (pending && sameParams(pending.params, p.params))
      proposals.push({
        ...p,
        approval_id: pending.approval_id,
        summary: pending.summary,
        risk: pending.risk,
        approvers: pending.approvers,
        refers_to: {
          thread_id: pending.thread_id,
          created_at: pending.created_at,
          since: whenText(Date.parse(pending.created_at), rc.now),
          here: pending.thread_id === rc.threadId,
        },
      });
    else proposals.push({ ...p, approval_id: randomUUID(), ...(pending ? { supersedes: pending.approval_id } : {}) });
  }
  if (proposals.length || dropped.length) {
    rc.emit({
      event: 'agent.step',
      data: {
        agent: 'orchestrator',
        step: 'propose',
        status: 'done',
        detail: [
          ...proposals.map((p) => `${p.refers_to ? 'already pending' : 'proposed'}: ${p.summary}`),
          ...dropped.map((d) => `dropped ${d.action}: ${d.reason}`),
        ].join('; '),
      },
    });
  }
  return { proposals, dropped };
}

/** What was asked for, in words: the catalogue's description of the action, or the person's words. */
function asked(d: DroppedProposal): string {
  return (ACTION_NAMES as readonly string[]).includes(d.action)
    ? describeAction(d.action as ActionName, d.params)
    : (d.request ?? d.action);
}

/** The answer's `refused_actions`: each request of the person not proposed, what it was and why. */
export function refusedActions(dropped: DroppedProposal[]): string[] {
  return dropped.filter((d) => d.requested).map((d) => `${asked(d)}: ${d.reason}`);
}

/** The lines an answer carries about actions: what waits for approval, what was asked for and not proposed. */
export function actionLines(proposals: TurnProposal[], dropped: DroppedProposal[]): string[] {
  const lines: string[] = [];
  for (const p of proposals) {
    if (p.refers_to) {
      lines.push(
        `Already proposed and waiting for approval since ${p.refers_to.since}${p.refers_to.here ? '' : ' (proposed in another conversation, which can decide it too)'}: ${p.summary} (risk ${p.risk}; approvers: ${p.approvers.join(' or ')}; approval ${p.approval_id}). No new proposal was made; nothing is done until a person approves it.`,
      );
      continue;
    }
    lines.push(
      `Proposed action, waiting for approval: ${p.summary} (risk ${p.risk}; approvers: ${p.approvers.join(' or ')}). Why: ${p.reason}. Nothing is done until a person approves it (approval ${p.approval_id}).`,
    );
  }
  for (const d of dropped.filter((x) => x.requested)) {
    lines.push(`You asked to ${asked(d)}: not proposed, because ${d.reason}.`);
  }
  return lines;
}
