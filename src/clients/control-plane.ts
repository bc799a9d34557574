import type { Policies } from '../policies/schema.ts';
import type { ActionResult, ApprovalRecord } from '../core/proposal.ts';

interface OperationRequest {
  record: ApprovalRecord;
  /** The approver's own token: the control plane authorises the operation as that person. */
  token: string;
  approvedBy: string;
  trackingId: string;
  signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The reason a control plane gives, from a problem+json body or plain text, bounded. */
async function reasonOf(res: Response): Promise<string> {
  const text = (await res.text().catch(() => '')).slice(0, 2000);
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; message?: string; error?: string };
    return (body.detail ?? body.message ?? body.error ?? body.title ?? text).slice(0, 500);
  } catch {
    return text.slice(0, 500) || res.statusText;
  }
}

/**
 * The HKS internal operations API: POST {base}/internal/v1/operations/{action}
 * as the approver, with an idempotency key derived from thread and proposal.
 * Network errors, 429 and 5xx are retried with the same key (the control
 * plane runs a key once); any other 4xx is the control plane's refusal.
 */
export class ControlPlaneClient {
  constructor(
    private readonly baseUrl: string,
    private readonly policy: Policies['remediate']['control_plane'],
  ) {}

  async send(req: OperationRequest): Promise<ActionResult> {
    const r = req.record;
    const url = new URL(`internal/v1/operations/${r.action}`, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`);
    const body = JSON.stringify({
      workspace: r.workspace,
      action: r.action,
      target: { kind: 'Deployment', namespace: r.workspace, name: r.params.service },
      params: r.params,
      reason: r.reason,
      evidence_ids: r.evidence_ids,
      approval_id: r.approval_id,
      thread_id: r.thread_id,
      proposed_by: `hks-aiops/${r.agent}`,
      requested_by: r.requested_by,
      approved_by: req.approvedBy,
    });
    let attempts = 0;
    let last = '';
    for (;;) {
      attempts++;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${req.token}`,
            'Content-Type': 'application/json',
            'Idempotency-Key': r.idempotency_key,
            'X-Request-Id': req.trackingId,
          },
          body,
          signal: req.signal
            ? AbortSignal.any([req.signal, AbortSignal.timeout(this.policy.timeout_ms)])
            : AbortSignal.timeout(this.policy.timeout_ms),
        });
        const at = new Date().toISOString();
        if (res.ok) {
          const text = await res.text().catch(() => '');
          let operation: string | undefined;
          try {
            const j = JSON.parse(text) as { operation_id?: unknown; id?: unknown };
            operation = typeof j.operation_id === 'string' ? j.operation_id : typeof j.id === 'string' ? j.id : undefined;
          } catch {
            /* an empty or non-JSON body: accepted all the same */
          }
          return {
            status: 'accepted',
            http_status: res.status,
            ...(operation ? { operation_id: operation.slice(0, 200) } : {}),
            message: 'the control plane accepted the operation',
            attempts,
            at,
          };
        }
        const reason = await reasonOf(res);
        if (res.status !== 429 && res.status < 500) return { status: 'refused', http_status: res.status, message: reason, attempts, at };
        last = `${res.status}: ${reason}`;
      } catch (err) {
        if (req.signal?.aborted) throw err;
        last = (err as Error).name === 'TimeoutError' ? `no answer within ${this.policy.timeout_ms} ms` : (err as Error).message;
      }
      if (attempts > this.policy.retries)
        return {
          status: 'failed',
          message: `the control plane did not accept it after ${attempts} attempts (last: ${last})`,
          attempts,
          at: new Date().toISOString(),
        };
      await sleep(this.policy.backoff_ms * 2 ** (attempts - 1));
    }
  }
}
