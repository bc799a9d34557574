import { randomUUID } from 'node:crypto';
import type { AgentDeps } from '../agents/context.ts';
import type { Scope } from '../core/scope.ts';
import type { Incident } from '../knowledge/incidents.ts';
import type { ThreadRecord } from '../storage/threads.ts';
import type { ChatAnswer } from './chat.ts';

/** An incident lasts while investigations keep finding the same root cause within this time of each other. */
const LASTING_MS = 2 * 3600_000;
/** An answer about "now" (its window ends within this of the present) can tell that an incident recovered. */
const CURRENT_MS = 5 * 60_000;

type Evidence = ChatAnswer['evidence'][number];

/**
 * Keeps one incident per incident: the first investigation that finds a root
 * cause opens it; later ones (other threads, alerts) that find the same root
 * service and kind while it lasts update it; it closes when its alert
 * resolves or an investigation of the present finds no fault. Open incidents
 * are never offered as "seen before" (see IncidentMemory.search).
 */
export class IncidentRecorder {
  constructor(private readonly deps: Pick<AgentDeps, 'knowledge' | 'logger'>) {}

  async remember(scope: Scope, thread: ThreadRecord, turn: number, message: string, answer: ChatAnswer, now = Date.now()): Promise<void> {
    const kb = this.deps.knowledge;
    if (!kb) return;
    const top = answer.hypotheses.find((h) => !h.explained_by);
    try {
      if (!top) {
        // Nothing wrong in the present (and the question was about the workspace, not an absent subject): what was open recovered.
        const current = now - Date.parse(answer.window.to) <= CURRENT_MS;
        if (current && !answer.other_problems) {
          for (const i of kb.openIncidents(scope.workspace)) {
            await kb.recordIncident(closed(i, now, 'Recovered: a later investigation found no fault.'));
          }
        }
        return;
      }
      const at = new Date(now).toISOString();
      const ongoing = kb.ongoingIncident(scope.workspace, top.service, top.kind, now, LASTING_MS);
      const byId = new Map(answer.evidence.map((e) => [e.id, e]));
      const incident: Incident = {
        workspace: scope.workspace,
        id: ongoing?.id ?? randomUUID(),
        thread_id: ongoing?.thread_id ?? thread.id,
        source: ongoing?.source ?? (thread.kind === 'alert' ? 'alert' : 'chat'),
        created_at: ongoing?.created_at ?? at,
        updated_at: at,
        question: ongoing?.question ?? (turn === 1 ? message : `${thread.title} / ${message}`).slice(0, 1000),
        alertname: ongoing?.alertname || (thread.meta?.alert?.alerts[0]?.alertname ?? ''),
        root_service: top.service,
        root_kind: top.kind,
        summary: firstParagraph(answer.answer).slice(0, 800),
        evidence: top.evidence_ids
          .flatMap((id) => {
            const e: Evidence | undefined = byId.get(id);
            return e ? [{ id, kind: e.kind, summary: e.summary.slice(0, 300) }] : [];
          })
          .slice(0, 8),
        runbooks: answer.citations.map((c) => c.citation),
        status: 'open',
        threads: [...new Set([...(ongoing?.threads ?? []), thread.id])],
      };
      await kb.recordIncident(incident);
    } catch (err) {
      this.deps.logger.warn(
        { tracking_id: scope.trackingId, thread_id: thread.id, err: (err as Error).message },
        'the incident could not be recorded',
      );
    }
  }

  /**
   * An alert thread resolved: the incidents it investigated close; when it
   * found none, the alert itself is kept as a closed incident.
   */
  async alertResolved(scope: Scope, thread: ThreadRecord, outcome: Omit<Incident, 'status' | 'threads' | 'closed_at'>): Promise<void> {
    const kb = this.deps.knowledge;
    if (!kb) return;
    const at = Date.parse(outcome.updated_at);
    const open = kb.openIncidents(scope.workspace, thread.id);
    if (!open.length) {
      await kb.recordIncident({ ...outcome, status: 'closed', closed_at: outcome.updated_at, threads: [thread.id] });
      return;
    }
    for (const i of open) {
      await kb.recordIncident({ ...closed(i, at, outcome.summary), alertname: i.alertname || outcome.alertname });
    }
  }
}

function closed(i: Incident, at: number, note: string): Incident {
  const iso = new Date(at).toISOString();
  return { ...i, status: 'closed', closed_at: iso, updated_at: iso, summary: `${i.summary} ${note}`.slice(0, 1000) };
}

/** The answer's first paragraph without its evidence ids: what an incident record says. */
function firstParagraph(text: string): string {
  return text
    .split(/\n\n/)[0]!
    .replace(/\s*(\[[a-z]+\d+\])+/g, '')
    .trim();
}
