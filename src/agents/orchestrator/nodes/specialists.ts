import type { AgentName } from '../../../policies/schema.ts';
import { runContext, type AgentConfig } from '../../context.ts';
import { sreGraph } from '../../specialists/sre/graph.ts';
import { securityGraph } from '../../specialists/security/graph.ts';
import { efficiencyGraph } from '../../specialists/efficiency/graph.ts';
import type { Assignment } from '../../specialists/specialist.ts';
import type { ChatUpdate } from '../state.ts';

const GRAPHS = { sre: sreGraph, security: securityGraph, efficiency: efficiencyGraph };

/** A node that runs one specialist's subgraph and hands back only what the orchestrator keeps. */
export function specialistNode(agent: AgentName) {
  return async (input: { assignment: Assignment }, config: AgentConfig): Promise<ChatUpdate> => {
    const rc = runContext(config);
    rc.emit({ event: 'agent.step', data: { agent, step: 'start', status: 'started' } });
    const started = performance.now();
    // The run context travels as LangGraph context: never checkpointed.
    const out = await GRAPHS[agent].invoke(
      { assignment: input.assignment },
      { context: rc, signal: rc.signal, callbacks: config.callbacks },
    );
    rc.emit({ event: 'agent.step', data: { agent, step: 'finish', status: 'done', elapsed_ms: Math.round(performance.now() - started) } });
    return {
      evidence: out.evidence,
      turnEvidence: out.evidence.map((e) => e.id),
      runs: out.runs,
      hypotheses: out.hypotheses,
      proposalDrafts: out.drafts,
    };
  };
}
