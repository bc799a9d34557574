import { runContext, type AgentConfig } from '../../context.ts';
import { DEFAULT_WINDOW, understandQuestion, type PreviousTurn } from '../../understand/index.ts';
import { NEW_TURN, type ChatStateType, type ChatUpdate, type QuestionFacts } from '../state.ts';

/** What the question asks, about what and when: the parts later nodes use, as plain data. */
export function readQuestion(question: string, services: string[], now: number, previous?: PreviousTurn): QuestionFacts {
  const u = understandQuestion(question, { services, now, ...(previous ? { previous } : {}) });
  const legacy = u.toFacts();
  const named = u.windowSource !== 'default';
  return {
    services: u.services,
    words: legacy.words,
    ...(named ? { window: u.window } : {}),
    ...(u.incidentStart !== undefined
      ? { incidentStart: u.incidentStart }
      : legacy.incidentStart !== undefined
        ? { incidentStart: legacy.incidentStart }
        : {}),
    ...(named && u.baseline ? { baseline: u.baseline } : {}),
    ...(u.compare ? { window: u.compare.current, baseline: u.compare.reference, compareHow: u.compare.how } : {}),
    intent: u.runAs,
    confidence: u.intent.confidence,
    reasons: u.intent.reasons,
    ...(u.intent.ranking ? { ranking: u.intent.ranking } : {}),
    ...(u.intent.measure ? { measure: u.intent.measure } : {}),
    defaultWindowMs: DEFAULT_WINDOW[u.runAs] * 60_000,
    entities: u.entities,
    subjectSource: u.subjectSource,
    timeNotes: u.time?.notes ?? [],
  };
}

/** What the thread's previous turn was about, for a follow-up to refer to. */
function previousTurn(state: ChatStateType): PreviousTurn | undefined {
  if (!state.facts || !state.plan) return undefined;
  return {
    intent: state.facts.intent,
    services: state.plan.focus.length ? state.plan.focus : state.facts.services,
    entities: state.facts.entities,
    hadRootCause: (state.answer?.meta.hypotheses ?? []).some((h) => !h.explained_by),
    window: state.plan.window,
    ...(state.plan.baseline ? { baseline: state.plan.baseline } : {}),
    ...(state.plan.incidentStart !== undefined ? { incidentStart: state.plan.incidentStart } : {}),
  };
}

/** Reads the question: what it asks, the services and time it names; starts a new turn. */
export function intake(state: ChatStateType, config: AgentConfig): ChatUpdate {
  const rc = runContext(config);
  const turn = state.turn + 1;
  const question = state.question.trim();
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'intake', status: 'done' } });
  return {
    turn,
    facts: readQuestion(question, rc.services, rc.now, state.alert ? undefined : previousTurn(state)),
    hypotheses: NEW_TURN,
    runs: NEW_TURN,
    turnEvidence: NEW_TURN,
    proposalDrafts: NEW_TURN,
    proposals: NEW_TURN,
    dropped: NEW_TURN,
    draft: null,
    fallback: null,
    grounding: null,
    answer: null,
    messages: [{ role: 'user', content: question, by: rc.sub, at: new Date(rc.now).toISOString(), turn }],
  };
}
