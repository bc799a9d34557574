import { runContext, type AgentConfig } from '../../context.ts';
import { byScore } from '../../../core/hypothesis.ts';
import { gapsLine, knowledgeRefs, lookedAtLine, narrate, skippedLine, subjectAbsent, timesLine } from '../../narrator.ts';
import { actionLines, refusedActions } from './propose.ts';
import type { AnswerMeta, ChatStateType, ChatUpdate, Chart } from '../state.ts';
import { shapedAnswer, SHAPED, type EarlierAnswer } from '../../answers.ts';
import type { Evidence } from '../../../core/evidence.ts';
import type { Hypothesis } from '../../../core/hypothesis.ts';

const MEASURE_TITLE: Record<string, string> = { requests: 'requests per minute', error_ratio: 'error ratio', p95: 'p95 latency' };

/**
 * The series an answer carries for a UI to plot: for a root cause, those of
 * the leading candidate; for a question about figures, those it read.
 */
function chartsOf(evidence: Evidence[], top: Hypothesis | undefined, workspace: string): Chart[] {
  const series = evidence.filter((e) => e.series && e.series.points.length > 1 && (!top || e.service === top.service));
  return series.slice(0, 6).map((e) => ({
    title: `${e.service ?? workspace} ${MEASURE_TITLE[e.attributes.measure ?? ''] ?? e.attributes.measure ?? e.attributes.signal ?? e.kind}`,
    unit: e.series!.unit,
    ...(e.service ? { service: e.service } : {}),
    evidence_id: e.id,
    points: e.series!.points,
  }));
}

/** The evidence ids a text cites, as [id]. */
const citedIds = (text: string) => new Set([...text.matchAll(/\[([a-z]{2,3}\d+)\]/g)].map((m) => m[1]!));

/**
 * The earlier answer a follow-up refers to: the latest that found a cause,
 * else the latest that was not itself a follow-up (asking "why?" after
 * "show me the logs for that" is about the investigation, not the log list).
 */
function earlierAnswer(state: ChatStateType): EarlierAnswer | undefined {
  const answers = state.messages.filter((x) => x.role === 'assistant' && x.turn < state.turn && x.meta).reverse();
  const m =
    answers.find((x) => x.meta!.hypotheses.some((h) => !h.explained_by)) ??
    answers.find((x) => !x.meta!.intent?.startsWith('followup_')) ??
    answers[0];
  if (!m?.meta) return undefined;
  return {
    turn: m.turn,
    text: m.content,
    hypotheses: m.meta.hypotheses,
    evidence_ids: m.meta.evidence_ids,
    window: m.meta.window,
    citations: m.meta.citations,
    approvals: m.meta.approvals,
  };
}

/** The answer: the verified draft, or the narrator's; recorded on the thread with how it was made. */
export function respond(state: ChatStateType, config: AgentConfig): ChatUpdate {
  const rc = runContext(config);
  const plan = state.plan!;
  const hypotheses = [...state.hypotheses].sort(byScore);
  const turnIds = new Set(state.turnEvidence);
  const evidence = state.evidence.filter((e) => turnIds.has(e.id));
  const llm = state.draft !== null;
  const order = [...plan.agents].sort((a, b) => (a === hypotheses[0]?.agent ? -1 : b === hypotheses[0]?.agent ? 1 : 0));
  const refs = knowledgeRefs(evidence, state.runs, order);
  // The runbook is always named, whether or not the model did.
  const unnamed = llm ? refs.runbooks.filter((r) => !state.draft!.text.includes(r.attributes.path!)) : [];
  const runbookLine = unnamed.length
    ? `\n\nRunbook: ${unnamed.map((r) => `"${r.attributes.title}", section "${r.attributes.action_section ?? r.attributes.section}": ${r.attributes.action_citation ?? r.attributes.citation} [${r.id}]`).join('; ')}.`
    : '';
  // What waits for approval is always said the same way, whoever wrote the rest.
  const actions = actionLines(state.proposals, state.dropped);
  const actionText = actions.length ? `\n\n${actions.join('\n')}` : '';
  // What could not be gathered is said whoever writes the answer.
  const gaps = llm
    ? [
        skippedLine(plan.skipped, plan.agents.length),
        gapsLine(state.runs),
        plan.notes.length || plan.planNotes?.length ? timesLine([...plan.notes, ...(plan.planNotes ?? [])]) : '',
        lookedAtLine(rc.workspace, plan.window, plan.baseline, rc.now, state.runs),
      ]
        .filter(Boolean)
        .join('\n\n')
    : '';
  const absent = subjectAbsent(plan.subject);
  const shaped =
    !llm && !absent && SHAPED.has(plan.intent)
      ? shapedAnswer({
          intent: plan.intent,
          question: state.question,
          workspace: rc.workspace,
          now: rc.now,
          window: plan.window,
          ...(plan.baseline ? { baseline: plan.baseline } : {}),
          focus: plan.focus,
          evidence,
          earlierEvidence: state.evidence,
          runs: state.runs,
          agents: plan.agents,
          skipped: plan.skipped,
          notes: plan.notes,
          ...(state.facts?.compareHow ? { compareHow: state.facts.compareHow } : {}),
          ...(earlierAnswer(state) ? { earlier: earlierAnswer(state)! } : {}),
          redact: (t) => rc.redactor.redact(t),
        })
      : undefined;
  // A follow-up answered from the earlier turn cites that turn's evidence: it is part of this answer's evidence.
  const cited = shaped && (plan.intent === 'followup_action' || plan.intent === 'followup_explain') ? citedIds(shaped) : new Set<string>();
  const earlierCited = state.evidence.filter((e) => cited.has(e.id) && !turnIds.has(e.id));
  const body = llm
    ? `${state.draft!.text}${runbookLine}${gaps ? `\n\n${gaps}` : ''}\n\n(Written by ${state.draft!.model} from the evidence; checked against it.)`
    : (shaped ??
      narrate({
        workspace: rc.workspace,
        window: plan.window,
        ...(plan.baseline ? { baseline: plan.baseline } : {}),
        now: rc.now,
        agents: plan.agents,
        hypotheses,
        evidence,
        runs: state.runs,
        fallbackReason: rc.deps.model ? (state.fallback ?? undefined) : undefined,
        notes: plan.notes,
        skipped: plan.skipped,
        ...(plan.subject ? { subject: plan.subject } : {}),
        ...(plan.planNotes?.length ? { notes: [...plan.notes, ...plan.planNotes] } : {}),
        redact: (t) => rc.redactor.redact(t),
      }));
  // The action lines go before the closing note on how the answer was written.
  const footer = /\n\n\(Written[^\n]*\)$/.exec(body);
  const text = !actionText ? body : footer ? `${body.slice(0, footer.index)}${actionText}${footer[0]}` : `${body}${actionText}`;
  const ranked = hypotheses.filter((h) => !h.explained_by).concat(hypotheses.filter((h) => h.explained_by));
  const meta: AnswerMeta = {
    turn: state.turn,
    intent: plan.intent,
    // Candidates are about the subject asked; when it is absent from the telemetry they are other problems.
    hypotheses: absent ? [] : ranked,
    ...(absent ? { other_problems: ranked } : {}),
    ...(plan.subject ? { subject: plan.subject } : {}),
    evidence_ids: [...evidence, ...earlierCited].map((e) => e.id),
    agents: plan.agents,
    path: llm ? 'llm' : 'deterministic',
    ...(llm ? {} : { fallback_reason: rc.deps.model ? (state.fallback ?? 'no draft') : 'no language model is configured' }),
    prompts: llm ? state.draft!.prompts : [],
    model: llm ? state.draft!.model : null,
    ...(state.grounding ? { grounding: state.grounding } : {}),
    window: { from: new Date(plan.window.from).toISOString(), to: new Date(plan.window.to).toISOString() },
    routing: { method: plan.method, reason: plan.reason, skipped: plan.skipped },
    tracking_id: rc.trackingId,
    usage: { llm_calls: rc.usage.llmCalls, prompt_tokens: rc.usage.promptTokens, completion_tokens: rc.usage.completionTokens },
    approvals: state.proposals.map((p) => ({
      approval_id: p.approval_id,
      action: p.action,
      params: p.params,
      summary: p.summary,
      reason: p.reason,
      risk: p.risk,
      approvers: p.approvers,
      evidence_ids: p.evidence_ids,
      status: 'pending',
    })),
    refused_actions: refusedActions(state.dropped),
    citations: refs.runbooks.map((e) => ({
      evidence_id: e.id,
      title: e.attributes.title!,
      section: e.attributes.section!,
      citation: e.attributes.citation!,
      ...(e.attributes.action_citation ? { action_citation: e.attributes.action_citation } : {}),
    })),
    similar_incidents: refs.incidents.map((e) => ({
      evidence_id: e.id,
      incident_id: e.attributes.incident_id!,
      thread_id: e.attributes.thread_id!,
      root_service: e.attributes.root_service!,
      root_kind: e.attributes.root_kind!,
      at: new Date(e.numbers.at_ms!).toISOString(),
    })),
    charts: absent
      ? []
      : chartsOf(
          evidence,
          ranked.find((h) => !h.explained_by),
          rc.workspace,
        ),
  };
  rc.emit({ event: 'agent.step', data: { agent: 'orchestrator', step: 'respond', status: 'done', detail: meta.path } });
  return {
    answer: { text, meta },
    messages: [{ role: 'assistant', content: text, at: new Date().toISOString(), turn: state.turn, meta }],
  };
}
