import type { AgentDeps } from '../agents/context.ts';
import type { Scope } from '../core/scope.ts';
import type { ThreadRecord } from '../storage/threads.ts';
import type { ChatAnswer } from './chat.ts';

/** Keeps investigations that found a root cause as incidents of their workspace, for `similar_incidents`. */
export class IncidentRecorder {
  constructor(private readonly deps: Pick<AgentDeps, 'knowledge' | 'logger'>) {}

  /**
   * A turn that found a root cause is an incident of the workspace: kept (one
   * per thread, later turns replace it) so the next similar one finds it.
   */
  async remember(scope: Scope, thread: ThreadRecord, turn: number, message: string, answer: ChatAnswer): Promise<void> {
    const top = answer.hypotheses.find((h) => !h.explained_by);
    if (!top || !this.deps.knowledge) return;
    const byId = new Map(answer.evidence.map((e) => [e.id, e]));
    const firstParagraph = answer.answer
      .split(/\n\n/)[0]!
      .replace(/\s*(\[[a-z]+\d+\])+/g, '')
      .trim();
    try {
      await this.deps.knowledge.recordIncident({
        workspace: scope.workspace,
        id: thread.id,
        thread_id: thread.id,
        source: thread.kind === 'alert' ? 'alert' : 'chat',
        created_at: thread.created_at,
        updated_at: new Date().toISOString(),
        question: (turn === 1 ? message : `${thread.title} / ${message}`).slice(0, 1000),
        alertname: thread.meta?.alert?.alerts[0]?.alertname ?? '',
        root_service: top.service,
        root_kind: top.kind,
        summary: firstParagraph.slice(0, 800),
        evidence: top.evidence_ids
          .flatMap((id) => (byId.has(id) ? [{ id, kind: byId.get(id)!.kind, summary: byId.get(id)!.summary.slice(0, 300) }] : []))
          .slice(0, 8),
        runbooks: answer.citations.map((c) => c.citation),
      });
    } catch (err) {
      this.deps.logger.warn(
        { tracking_id: scope.trackingId, thread_id: thread.id, err: (err as Error).message },
        'the incident could not be recorded',
      );
    }
  }
}
