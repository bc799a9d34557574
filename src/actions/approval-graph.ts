import {
  Annotation,
  END,
  interrupt,
  START,
  StateGraph,
  type BaseCheckpointSaver,
  type LangGraphRunnableConfig,
} from '@langchain/langgraph';
import type { ActionResult } from '../core/proposal.ts';

/** A person's decision, as it resumes the graph. */
interface DecisionInput {
  decision: 'approve' | 'reject';
  by: string;
  comment?: string;
}

/**
 * The approval graph's run context (its LangGraph context schema): how to
 * send an approved action. It carries the approver's token in a closure and
 * is never checkpointed, so the token stays out of storage.
 */
const ApprovalRun = Annotation.Root({
  execute: Annotation<(approvalId: string) => Promise<ActionResult | null>>(),
});
type ApprovalRunContext = typeof ApprovalRun.State;

const ApprovalState = Annotation.Root({
  approval_id: Annotation<string>(),
  decision: Annotation<DecisionInput | null>({ reducer: (_, b) => b, default: () => null }),
  result: Annotation<ActionResult | null>({ reducer: (_, b) => b, default: () => null }),
});

/**
 * One graph per proposal: it stops at `interrupt` until a person decides;
 * approval resumes it into `send`, which runs the context's `execute`. A
 * rejection ends it.
 */
export function buildApprovalGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(ApprovalState, ApprovalRun)
    .addNode('await_decision', (state) => {
      const decision = interrupt<{ approval_id: string }, DecisionInput>({ approval_id: state.approval_id });
      return { decision };
    })
    .addNode('send', async (state, config: LangGraphRunnableConfig<ApprovalRunContext>) => {
      const execute = config.context?.execute;
      if (!execute) throw new Error('the approval graph runs without its context');
      return { result: await execute(state.approval_id) };
    })
    .addEdge(START, 'await_decision')
    .addConditionalEdges('await_decision', (s) => (s.decision?.decision === 'approve' ? 'send' : END), ['send', END])
    .addEdge('send', END)
    .compile({ checkpointer });
}

export type ApprovalGraph = ReturnType<typeof buildApprovalGraph>;

/** The checkpointer thread of a proposal's graph. */
export const approvalThread = (approvalId: string) => ({ configurable: { thread_id: `approval:${approvalId}` } });
