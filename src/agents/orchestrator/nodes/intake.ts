import type { LangGraphRunnableConfig } from '@langchain/langgraph';
import { runContext } from '../../context.ts';
import { understand } from '../../question.ts';
import type { ChatStateType, ChatUpdate } from '../state.ts';

/** Reads the question: services and time it names; starts a new turn. */
export function intake(state: ChatStateType, config: LangGraphRunnableConfig): ChatUpdate {
  const rc = runContext(config);
  const turn = state.turn + 1;
  const question = state.question.trim();
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'intake', status: 'done' } });
  return {
    turn,
    facts: understand(question, rc.services, rc.now),
    hypotheses: null as never,
    runs: null as never,
    turnEvidence: null as never,
    proposalDrafts: null as never,
    proposals: null as never,
    dropped: null as never,
    draft: null,
    fallback: null,
    grounding: null,
    answer: null,
    messages: [{ role: 'user', content: question, at: new Date(rc.now).toISOString(), turn }],
  };
}
