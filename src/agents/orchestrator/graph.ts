import { END, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph';
import { ChatState } from './state.ts';
import { RunContextSchema } from '../context.ts';
import { intake } from './nodes/intake.ts';
import { route, toSpecialists } from './nodes/route.ts';
import { specialistNode } from './nodes/specialists.ts';
import { synthesize } from './nodes/synthesize.ts';
import { verify } from './nodes/verify.ts';
import { respond } from './nodes/respond.ts';
import { propose } from './nodes/propose.ts';
import { observedNode } from '../observe.ts';

/**
 * intake → route → specialists (in parallel) → synthesize → verify → propose → respond.
 * Each specialist is its own subgraph; the thread's state lives in the checkpointer
 * (none when a tool such as LangGraph Studio or `npm run graph` opens the graph to draw it).
 */
export function buildChatGraph(checkpointer?: BaseCheckpointSaver) {
  return new StateGraph(ChatState, RunContextSchema)
    .addNode('intake', observedNode('intake', intake))
    .addNode('route', observedNode('route', route))
    .addNode('sre', observedNode('sre', specialistNode('sre')))
    .addNode('security', observedNode('security', specialistNode('security')))
    .addNode('efficiency', observedNode('efficiency', specialistNode('efficiency')))
    .addNode('synthesize', observedNode('synthesize', synthesize))
    .addNode('verify', observedNode('verify', verify))
    .addNode('propose', observedNode('propose', propose))
    .addNode('respond', observedNode('respond', respond))
    .addEdge(START, 'intake')
    .addEdge('intake', 'route')
    .addConditionalEdges('route', toSpecialists, ['sre', 'security', 'efficiency', 'synthesize'])
    .addEdge('sre', 'synthesize')
    .addEdge('security', 'synthesize')
    .addEdge('efficiency', 'synthesize')
    .addEdge('synthesize', 'verify')
    .addEdge('verify', 'propose')
    .addEdge('propose', 'respond')
    .addEdge('respond', END)
    .compile(checkpointer ? { checkpointer } : {});
}

export type ChatGraph = ReturnType<typeof buildChatGraph>;
