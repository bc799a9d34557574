import { runContext, type AgentConfig } from '../../context.ts';
import { understand } from '../../question.ts';
import { NEW_TURN, type ChatStateType, type ChatUpdate } from '../state.ts';

/** Reads the question: services and time it names; starts a new turn. */
export function intake(state: ChatStateType, config: AgentConfig): ChatUpdate {
  const rc = runContext(config);
  const turn = state.turn + 1;
  const question = state.question.trim();
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'intake', status: 'done' } });
  return {
    turn,
    facts: understand(question, rc.services, rc.now),
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
