/**
 * Draws the service's graphs as Mermaid diagrams (paste into any Mermaid
 * viewer), from the same factories the service runs:
 *
 *   npm run graph            # the chat orchestrator, its specialists, the approval graph and the briefing graph
 *   npm run graph -- chat    # one of them
 */
import { MemorySaver } from '@langchain/langgraph';
import { buildApprovalGraph } from '../src/actions/approval-graph.ts';
import { buildChatGraph } from '../src/agents/orchestrator/graph.ts';
import { efficiencyGraph } from '../src/agents/specialists/efficiency/graph.ts';
import { securityGraph } from '../src/agents/specialists/security/graph.ts';
import { sreGraph } from '../src/agents/specialists/sre/graph.ts';
import { buildBriefingGraph } from '../src/briefings/graph.ts';

const graphs = {
  chat: () => buildChatGraph(),
  sre: () => sreGraph,
  security: () => securityGraph,
  efficiency: () => efficiencyGraph,
  approval: () => buildApprovalGraph(new MemorySaver()),
  briefing: () => buildBriefingGraph(),
};
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in graphs));
if (unknown.length) {
  process.stderr.write(`unknown graph ${unknown.join(', ')}; the graphs are ${Object.keys(graphs).join(', ')}\n`);
  process.exit(2);
}
for (const [name, build] of Object.entries(graphs)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const drawing = await build().getGraphAsync();
  process.stdout.write(`%% ${name}\n${drawing.drawMermaid()}\n`);
}
