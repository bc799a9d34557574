import { formatDuration, parseDuration } from '../core/duration.ts';
import type { Evidence } from '../core/evidence.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import type { ActionResult, ApprovalRecord } from '../core/proposal.ts';
import { runTool } from '../tools/definition.ts';
import { findTool } from '../tools/registry.ts';
import { evidenceIds } from '../tools/run.ts';
import type { ApprovalEnv } from './approval-env.ts';
import { Redactor, redactEvidence } from '../policies/redaction.ts';

/**
 * What follows an action: some minutes after it was accepted, the same tool
 * asks the same question again and the thread says whether the signal
 * recovered; a request that a restart cut off is marked failed. A timer looks
 * for due work every `verification.poll`; passes never overlap.
 */
export class PostActionChecks {
  private timer: NodeJS.Timeout | undefined;
  private readonly passes = new KeyedLock();

  constructor(private readonly env: ApprovalEnv) {}

  start(): void {
    const poll = parseDuration(this.env.policies.remediate.verification.poll) ?? 30_000;
    this.timer = setInterval(() => void this.tick(), poll);
    this.timer.unref();
    void this.tick();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.passes.run('pass', async () => undefined);
  }

  /** One pass: marks requests a restart cut off as failed, then runs every due check. */
  tick(): Promise<void> {
    return this.passes.run('pass', async () => {
      try {
        await this.recoverInterrupted();
        for (
          let r = await this.env.store.claimVerification(new Date(this.env.now()));
          r;
          r = await this.env.store.claimVerification(new Date(this.env.now()))
        )
          await this.verify(r);
      } catch (err) {
        this.env.logger.warn({ err: (err as Error).message }, 'the approvals pass failed');
      }
    });
  }

  /** An approval left `approved` or `sending` longer than a request can take was cut off (a restart): say so. */
  private async recoverInterrupted(): Promise<void> {
    const cp = this.env.policies.remediate.control_plane;
    const longest = cp.timeout_ms * (cp.retries + 1) + cp.backoff_ms * 2 ** (cp.retries + 1) + 60_000;
    for (const r of await this.env.store.byStatus(['approved', 'sending'])) {
      if (!r.decided_at || Date.parse(r.decided_at) > this.env.now() - longest) continue;
      const result: ActionResult = {
        status: 'failed',
        message: 'the service stopped before the control plane answered; the request may or may not have reached it',
        attempts: 0,
        at: new Date(this.env.now()).toISOString(),
      };
      if (!(await this.env.store.transition(r.approval_id, [r.status], { status: 'failed', result }))) continue;
      await this.env.audit.record({
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
      await this.env.post(
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
      const ids = evidenceIds(await this.env.threadEvidenceIds(r.thread_id));
      const result = await runTool(
        tool,
        {
          store: this.env.telemetry,
          workspace: r.workspace,
          tenantAttribute: this.env.tenantAttribute,
          trackingId,
          policy: this.env.policies.tools,
          now: this.env.now(),
          ids,
        },
        { ...spec.args, last: formatDuration(spec.window_ms) },
      );
      const item = result.evidence.find((e) => spec.evidence_kind.includes(e.kind) && e.service === spec.service);
      // Events that stopped leave no item: none is zero. A missing service-level item is unknown.
      const value = item ? (item.numbers[spec.number] ?? 0) : spec.evidence_kind.includes('oom_kill') ? 0 : undefined;
      evidence = item ? redactEvidence([item], new Redactor(this.env.policies.privacy)) : [];
      const at = new Date(this.env.now()).toISOString();
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
      verification = { state: 'done', at: new Date(this.env.now()).toISOString(), message: `the check failed: ${(err as Error).message}` };
      text = `Check after "${r.summary}" could not run: ${(err as Error).message}.`;
    }
    // The thread says it before the record does: whoever sees the check done finds its message there.
    await this.env.post(r.thread_id, text, evidence);
    await this.env.store.update(r.approval_id, { verification });
    await this.env.audit.record({
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
