import { render, refOf } from '../../../prompts/registry.ts';
import { estimateTokens } from '../../../core/evidence.ts';
import { runContext, type RunContext, type AgentConfig } from '../../context.ts';
import { byScore, type Hypothesis } from '../../../core/hypothesis.ts';
import { LlmTimeout, streamDraft } from '../../llm.ts';
import type { ChatStateType, ChatUpdate } from '../state.ts';
import { subjectAbsent } from '../../narrator.ts';
import { SHAPED } from '../../answers.ts';

const KNOWLEDGE_TOOLS = new Set(['search_runbooks', 'similar_incidents']);

function hypothesesBlock(hyps: Hypothesis[]): string {
  if (hyps.length === 0) return '(none: the evidence shows no fault)';
  return hyps
    .slice(0, 5)
    .map(
      (h, i) =>
        `${i + 1}. ${h.service}, ${h.kind.replace(/_/g, ' ')} (confidence ${h.score.toFixed(2)})${h.explained_by ? `, explained by ${h.explained_by}` : ''}: ${h.summary} ${h.evidence_ids.map((id) => `[${id}]`).join('')}`,
    )
    .join('\n');
}

/**
 * The evidence for the prompt: each tool's rendering (already within its own
 * budget), the tools behind the leading hypothesis first, cut to the policy's
 * prompt budget, redacted, as data.
 */
function evidenceBlock(state: ChatStateType, rc: RunContext, budgetTokens: number): string {
  const cited = new Set(state.hypotheses.slice(0, 2).flatMap((h) => h.evidence_ids));
  // The tools behind the leading candidates first, then the runbooks and past incidents (short), then the rest.
  const weight = (r: (typeof state.runs)[number]) => (r.evidence_ids.some((id) => cited.has(id)) ? 2 : KNOWLEDGE_TOOLS.has(r.tool) ? 1 : 0);
  const runs = [...state.runs].filter((r) => r.rendered).sort((a, b) => weight(b) - weight(a));
  const blocks: string[] = [];
  let used = 0;
  for (const r of runs) {
    const text = rc.redactor.redact(r.rendered);
    const cost = estimateTokens(text);
    if (used + cost > budgetTokens) continue;
    blocks.push(text);
    used += cost;
  }
  return blocks.join('\n\n');
}

function history(state: ChatStateType, rc: RunContext): string {
  const earlier = state.messages.filter((m) => m.turn < state.turn).slice(-4);
  if (earlier.length === 0) return '(this is the first question)';
  return earlier.map((m) => `${m.role === 'user' ? 'Q' : 'A'}: ${rc.redactor.redact(m.content.split('\n')[0]!.slice(0, 300))}`).join(' | ');
}

/** Ranks the specialists' candidates; with a model, drafts the answer from the evidence only. */
export async function synthesize(state: ChatStateType, config: AgentConfig): Promise<ChatUpdate> {
  const rc = runContext(config);
  const model = rc.deps.model;
  if (!model) return { draft: null, fallback: null };
  // Nothing it is about is in the telemetry: the narrator says so; a model would only guess.
  if (subjectAbsent(state.plan?.subject)) return { draft: null, fallback: 'no telemetry names what the question is about' };
  // A table, a verdict, log lines or a follow-up from the earlier answer: written from the evidence as it is.
  if (state.plan && SHAPED.has(state.plan.intent))
    return { draft: null, fallback: `a ${state.plan.intent.replace('_', ' ')} answer is written from the evidence as it is` };
  const hypotheses = [...state.hypotheses].sort(byScore);
  const prompt = rc.deps.prompts.get('synthesize');
  const overhead = estimateTokens(prompt.system + prompt.user) + 600;
  const { system, user } = render(prompt, {
    workspace: rc.workspace,
    now: new Date(rc.now).toISOString().slice(0, 16).replace('T', ' '),
    question: rc.redactor.redact(state.question),
    hypotheses: hypothesesBlock(hypotheses),
    evidence: evidenceBlock({ ...state, hypotheses }, rc, Math.max(500, rc.deps.policies.llm.max_prompt_tokens - overhead)),
    history: history(state, rc),
  });
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'synthesize', status: 'started' } });
  const refs = [refOf(prompt), ...(state.plan?.method === 'llm' ? [refOf(rc.deps.prompts.get('route'))] : [])];
  try {
    const text = await streamDraft(rc, model, system, user, (t) => rc.emit({ event: 'token', data: { text: t } }), refOf(prompt));
    rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'synthesize', status: 'done' } });
    return { draft: { text, prompts: refs, model: rc.deps.modelName ?? 'model' }, fallback: null };
  } catch (err) {
    if (rc.signal?.aborted) throw err;
    const reason = err instanceof LlmTimeout ? err.message : `the model failed (${(err as Error).message.slice(0, 200)})`;
    rc.deps.logger.warn({ tracking_id: rc.trackingId, err: reason }, 'synthesis with the model failed; the narrator answers');
    rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'synthesize', status: 'failed', detail: reason } });
    return { draft: null, fallback: reason };
  }
}
