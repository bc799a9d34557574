import { z } from 'zod';

/** Actions the service can request of the control plane; the catalogue in policies/remediate.yaml enables them. */
export const ACTION_NAMES = ['scale', 'rollout_restart', 'rollback', 'set_resources'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];
export type Risk = 'low' | 'medium' | 'high';

/** How to tell, some minutes after an accepted action, whether the signal that motivated it recovered. */
export const VerifySpec = z.object({
  tool: z.string(),
  /** The tool's arguments without the window (the check uses the same length, ending then). */
  args: z.record(z.string(), z.unknown()),
  window_ms: z.number().int().positive(),
  evidence_kind: z.array(z.string()).min(1),
  service: z.string(),
  number: z.string(),
  /** The value when the action was proposed, and the value at or below which it counts as recovered. */
  before: z.number(),
  target: z.number(),
  label: z.string(),
});
export type VerifySpec = z.infer<typeof VerifySpec>;

/** What a specialist (or a person, through chat) suggests; the catalogue decides whether it may be proposed. */
export interface ProposalDraft {
  action: string;
  params: Record<string, unknown>;
  /** Why, in a sentence, with the evidence ids it rests on. */
  reason: string;
  evidence_ids: string[];
  agent: string;
  verify?: VerifySpec;
  /** Asked for by the person in the conversation. */
  requested?: boolean;
  /** Current values the limits compare against (cores, MiB). */
  current?: { cpu_request?: number; cpu_limit?: number; memory_request?: number; memory_limit?: number };
}

/** A draft the catalogue accepted: what a person is asked to approve. */
export interface Proposal {
  action: ActionName;
  params: Record<string, unknown>;
  reason: string;
  evidence_ids: string[];
  agent: string;
  risk: Risk;
  approvers: string[];
  self_approval: boolean;
  /** The action in words: "roll payment back to 2.4.1". */
  summary: string;
  requested: boolean;
  verify?: VerifySpec;
}

/**
 * A proposal of this turn with the approval id it waits under: a new one, or
 * (`refers_to`) the same proposal already pending in the workspace, which the
 * answer points at instead of making another. `supersedes`: the pending
 * proposal of the same action and target with other parameters, expired when
 * this one is recorded.
 */
export type TurnProposal = Proposal & {
  approval_id: string;
  refers_to?: { thread_id: string; created_at: string; since: string; here: boolean };
  supersedes?: string;
};
/** A draft the catalogue refused, kept for the log, the audit trail and (when a person asked for it) the answer. */
export interface DroppedProposal {
  action: string;
  params: Record<string, unknown>;
  agent: string;
  requested: boolean;
  reason: string;
  /** The person's words, for a request that is not an action of the catalogue. */
  request?: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'sending' | 'accepted' | 'refused' | 'failed' | 'not_sent';

export interface ActionResult {
  status: 'accepted' | 'refused' | 'failed' | 'not_sent';
  /** The control plane's HTTP status, when it answered. */
  http_status?: number;
  operation_id?: string;
  /** In words: the control plane's reason for a refusal, the error of a failure. */
  message: string;
  attempts: number;
  at: string;
}

interface Verification {
  state: 'scheduled' | 'running' | 'done';
  at: string;
  recovered?: boolean;
  value?: number;
  message?: string;
}

/** A proposed action and everything that happened to it. Never holds a token. */
export interface ApprovalRecord {
  approval_id: string;
  thread_id: string;
  workspace: string;
  action: ActionName;
  params: Record<string, unknown>;
  summary: string;
  reason: string;
  evidence_ids: string[];
  risk: Risk;
  agent: string;
  approvers: string[];
  self_approval: boolean;
  /** Who was talking to the agents when it was proposed, and whether they asked for it. */
  requested_by: string;
  requested: boolean;
  /** People who asked for it in a later turn (of this or another conversation) while it was pending. */
  asked_by?: string[];
  /** Other conversations whose answers pointed at it while it was pending; it can be decided from them too. */
  referred_in?: string[];
  /** The proposal of the same action and target, with other parameters, that replaced it. */
  superseded_by?: string;
  status: ApprovalStatus;
  created_at: string;
  expires_at: string;
  decided_by?: string;
  decided_at?: string;
  /** The conversation it was decided from, when not its own (one whose answer pointed at it). */
  decided_in?: string;
  comment?: string;
  idempotency_key: string;
  result?: ActionResult;
  verify?: VerifySpec;
  verification?: Verification;
}
