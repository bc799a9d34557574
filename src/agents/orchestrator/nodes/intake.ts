import { runContext, type AgentConfig } from '../../context.ts';
import { understandQuestion } from '../../understand/index.ts';
import { NEW_TURN, type ChatStateType, type ChatUpdate, type QuestionFacts } from '../state.ts';

/** What the question asks, about what and when: the parts later nodes use, as plain data. */
export function readQuestion(question: string, services: string[], now: number): QuestionFacts {
  const u = understandQuestion(question, { services, now });
  const legacy = u.toFacts();
  return {
    ...legacy,
    ...(legacy.window && u.baseline ? { baseline: u.baseline } : {}),
    intent: u.runAs,
    entities: u.entities,
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
    facts: readQuestion(question, rc.services, rc.now),
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
    messages: [{ role: 'user', content: question, at: new Date(rc.now).toISOString(), turn }],
  };
}
