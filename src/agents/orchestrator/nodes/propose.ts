import { randomUUID } from 'node:crypto';
import { runContext, type AgentConfig } from '../../context.ts';
import { byScore } from '../../../core/hypothesis.ts';
import { checkProposal, describeAction } from '../../../actions/catalogue.ts';
import { draftForRequest } from '../../../actions/drafts.ts';
import { parseActionRequest } from '../../../actions/intent.ts';
import type { ChatStateType, ChatUpdate } from '../state.ts';
import type { ProposalDraft } from '../../../core/proposal.ts';
import type { DroppedProposal, TurnProposal } from '../../../core/proposal.ts';
import { subjectAbsent } from '../../narrator.ts';

/**
 * Turns the specialists' remedies, and an action the person asked for, into
 * proposals: each checked against the catalogue in policies/remediate.yaml
 * (action, proposer, parameters, limits, evidence). What fails is dropped and
 * logged. Nothing is sent anywhere: a proposal waits for a person.
 */
export function propose(state: ChatStateType, config: AgentConfig): ChatUpdate {
  const rc = runContext(config);
  const policy = rc.deps.policies.remediate;
  const turnIds = new Set(state.turnEvidence);
  const evidence = state.evidence.filter((e) => turnIds.has(e.id));
  const hypotheses = [...state.hypotheses].sort(byScore);
  const drafts: (ProposalDraft & { confidence?: number })[] = [];
  const dropped: DroppedProposal[] = [];
  // Only the person's own words can ask for an action; tool output never does.
  const request = parseActionRequest(state.question, rc.services);
  if (request) {
    const r = draftForRequest(request, evidence, hypotheses);
    if ('draft' in r) drafts.push(r.draft);
    else {
      const params = {
        service: request.service,
        ...(request.replicas !== undefined ? { replicas: request.replicas } : {}),
        ...(request.resource ? { [request.resource.kind]: request.resource.quantity } : {}),
      };
      dropped.push({ action: request.action, params, agent: 'sre', requested: true, reason: r.refusal });
    }
  }
  // No remedy is put forward for another problem than the one asked about.
  if (!subjectAbsent(state.plan?.subject)) {
    drafts.push(
      ...[...state.proposalDrafts].sort((a, b) => b.confidence - a.confidence).filter((d) => d.confidence >= policy.min_confidence),
    );
  }
  const proposals: TurnProposal[] = [];
  for (const d of drafts) {
    const checked = checkProposal(policy, d, rc.services);
    if (!checked.ok) {
      rc.deps.logger.warn(
        { tracking_id: rc.trackingId, action: d.action, agent: d.agent, requested: d.requested ?? false, reason: checked.reason },
        'proposal dropped',
      );
      dropped.push({ action: d.action, params: d.params, agent: d.agent, requested: d.requested ?? false, reason: checked.reason });
      continue;
    }
    const p = checked.proposal;
    if (proposals.some((x) => x.action === p.action && x.params.service === p.params.service)) continue;
    if (proposals.length >= policy.max_per_turn) break;
    proposals.push({ ...p, approval_id: randomUUID() });
  }
  if (proposals.length || dropped.length) {
    rc.emit({
      event: 'agent.step',
      data: {
        agent: 'orchestrator',
        step: 'propose',
        status: 'done',
        detail: [...proposals.map((p) => `proposed: ${p.summary}`), ...dropped.map((d) => `dropped ${d.action}: ${d.reason}`)].join('; '),
      },
    });
  }
  return { proposals, dropped };
}

/** The lines an answer carries about actions: what waits for approval, what was asked for and not proposed. */
export function actionLines(proposals: TurnProposal[], dropped: DroppedProposal[]): string[] {
  const lines: string[] = [];
  for (const p of proposals) {
    lines.push(
      `Proposed action, waiting for approval: ${p.summary} (risk ${p.risk}; approvers: ${p.approvers.join(' or ')}). Why: ${p.reason}. Nothing is done until a person approves it (approval ${p.approval_id}).`,
    );
  }
  for (const d of dropped.filter((x) => x.requested)) {
    const what =
      d.action === 'scale' || d.action === 'rollback' || d.action === 'rollout_restart' || d.action === 'set_resources'
        ? describeAction(d.action, d.params)
        : d.action;
    lines.push(`You asked to ${what}: not proposed, because ${d.reason}.`);
  }
  return lines;
}
