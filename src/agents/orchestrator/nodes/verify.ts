import { checkGrounding } from '../../grounding.ts';
import { runContext, type AgentConfig } from '../../context.ts';
import type { ChatStateType, ChatUpdate } from '../state.ts';
import { hhmm } from '../../../core/window.ts';

/** Holds the model's draft to the evidence; a draft that fails is dropped for the narrator. */
export function verify(state: ChatStateType, config: AgentConfig): ChatUpdate {
  const rc = runContext(config);
  if (!state.draft) return {};
  const turnIds = new Set(state.turnEvidence);
  // The draft may cite this turn's evidence and what earlier turns found.
  const evidence = state.evidence;
  const g = rc.deps.policies.llm.grounding;
  const { text, report } = checkGrounding(state.draft.text, evidence, rc.services, {
    tolerance: g.number_tolerance,
    maxUnsupportedShare: g.max_unsupported_share,
    windowTimes: state.plan ? [hhmm(state.plan.window.from), hhmm(state.plan.window.to)] : [],
  });
  const synthesis = state.draft.prompts.find((p) => p.id === 'synthesize');
  rc.deps.metrics?.grounding.inc({ outcome: report.passed ? 'passed' : 'failed' });
  rc.deps.facts?.record({
    kind: 'grounding',
    trackingId: rc.trackingId,
    workspace: rc.workspace,
    name: 'synthesize',
    status: report.passed ? 'ok' : 'error',
    durationMs: 0,
    attrs: { model: state.draft.model, prompt_version: synthesis ? String(synthesis.version) : '' },
    nums: {
      sentences: report.sentences,
      supported: report.supported,
      unsupported: report.removed,
      unsupported_numbers: report.unsupported_numbers.length,
      citations: report.citations,
    },
  });
  rc.emit({
    event: 'agent.step',
    data: {
      agent: 'orchestrator',
      step: 'verify',
      status: report.passed ? 'done' : 'failed',
      detail: `${report.supported} of ${report.sentences} sentences supported by the evidence${report.removed ? `, ${report.removed} removed` : ''}`,
    },
  });
  if (!report.passed) {
    return {
      grounding: report,
      draft: null,
      fallback: `the model's draft failed the grounding check (${report.removed} of ${report.sentences} sentences unsupported${report.citations ? '' : ', no citations'})`,
    };
  }
  void turnIds;
  return { grounding: report, draft: { ...state.draft, text } };
}
