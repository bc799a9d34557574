import type { ChatEvent } from '../core/events.ts';
import { parseDuration } from '../core/duration.ts';
import type { ActionResult, ApprovalRecord } from '../core/proposal.ts';
import type { Scope } from '../core/scope.ts';
import { hhmm } from '../core/window.ts';
import type { ApprovalEnv } from './approval-env.ts';

/** An approved action about to be sent: as whom, under which request, and where its events go. */
interface SendRun {
  /** The approver's own token: the control plane authorises the operation as that person. */
  token: string;
  scope: Scope;
  emit: (e: ChatEvent) => void;
}

/** The same change by hand, for when nothing could be sent. */
function kubectlFor(r: Pick<ApprovalRecord, 'action' | 'params' | 'workspace'>): string {
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

/**
 * The approval graph's `send` step: exactly one request per approval, as the
 * approver, with the idempotency key; the outcome into the thread and the
 * audit trail, and the check after it scheduled.
 */
export class ActionSender {
  constructor(private readonly env: ApprovalEnv) {}

  /** The `send` step: exactly one request per approval, as the approver; the outcome into the thread and the audit trail. */
  async send(approvalId: string, run: SendRun): Promise<ActionResult | null> {
    const sending = await this.env.store.transition(approvalId, ['approved'], { status: 'sending' });
    if (!sending) return null;
    const by = sending.decided_by!;
    let result: ActionResult;
    if (!this.env.controlPlane) {
      result = {
        status: 'not_sent',
        message: 'no control plane is configured (CONTROL_PLANE_URL is unset); nothing was sent',
        attempts: 0,
        at: new Date(this.env.now()).toISOString(),
      };
    } else {
      await this.env.audit.record({
        workspace: sending.workspace,
        kind: 'request',
        approval_id: approvalId,
        thread_id: sending.thread_id,
        actor: by,
        action: sending.action,
        params: sending.params,
        status: 'sending',
        detail: `idempotency key ${sending.idempotency_key}`,
        tracking_id: run.scope.trackingId,
      });
      try {
        result = await this.env.controlPlane.send({ record: sending, token: run.token, approvedBy: by, trackingId: run.scope.trackingId });
      } catch (err) {
        result = { status: 'failed', message: (err as Error).message, attempts: 1, at: new Date(this.env.now()).toISOString() };
      }
      this.env.metrics?.controlPlane.inc({ outcome: result.status === 'accepted' ? 'ok' : 'failed' });
    }
    const verifyAt =
      result.status === 'accepted' && sending.verify && this.env.policies.remediate.verification.enabled
        ? new Date(this.env.now() + (parseDuration(this.env.policies.remediate.verification.after) ?? 600_000)).toISOString()
        : undefined;
    await this.env.store.transition(approvalId, ['sending'], {
      status: result.status,
      result,
      ...(verifyAt ? { verification: { state: 'scheduled', at: verifyAt } } : {}),
    });
    await this.env.audit.record({
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
      tracking_id: run.scope.trackingId,
    });
    this.env.logger.info(
      {
        tracking_id: run.scope.trackingId,
        approval_id: approvalId,
        action: sending.action,
        status: result.status,
        http_status: result.http_status,
        attempts: result.attempts,
      },
      'action request finished',
    );
    run.emit({ event: 'action.result', data: { approval_id: approvalId, ...result } });
    const text = resultText(sending, by, result, verifyAt);
    await this.env.post(sending.thread_id, text);
    // Decided from a conversation that pointed at it: that one hears the outcome too.
    if (sending.decided_in && sending.decided_in !== sending.thread_id) await this.env.post(sending.decided_in, text);
    return result;
  }
}

function resultText(r: ApprovalRecord, by: string, result: ActionResult, verifyAt?: string): string {
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
