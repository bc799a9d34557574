import { Annotation } from '@langchain/langgraph';
import type { Evidence } from '../../core/evidence.ts';
import type { Hypothesis } from '../../core/hypothesis.ts';
import type { QuestionFacts } from '../question.ts';
import type { Subject } from '../subject.ts';
import type { ToolRunSummary } from '../specialists/specialist.ts';
import type { GroundingReport } from '../grounding.ts';
import type { PromptRef } from '../../prompts/registry.ts';
import type { AgentName } from '../../policies/schema.ts';
import type { ScoredDraft } from '../../actions/drafts.ts';
import type { TimeWindow } from '../../core/window.ts';
import type { DroppedProposal, TurnProposal } from '../../core/proposal.ts';
import type { AlertContext } from '../../core/alert.ts';
import type { Intent } from '../understand/index.ts';
import type { ToolCall } from '../../tools/registry.ts';

export type { QuestionFacts } from '../question.ts';

export interface Plan {
  /** The kind of answer this turn gives (an alert is always a root-cause investigation). */
  intent: Intent;
  agents: AgentName[];
  method: 'llm' | 'lexical' | 'default' | 'rules';
  reason: string;
  window: TimeWindow;
  baseline?: TimeWindow;
  focus: string[];
  skipped: { agent: AgentName; reason: string }[];
  /** When the incident started, when known; the baseline ends before it. */
  incidentStart?: number;
  /** What the answer should say about the times it looked at. */
  notes: string[];
  /** Hosts, pods, jobs… the question or alert is about, and those no telemetry names. */
  subject?: { named: Subject[]; missing: Subject[] };
  /** Tool calls a model planned for a question no intent covers (validated; run by the SRE specialist). */
  steps?: ToolCall[];
  /** What became of the model's plan: calls rejected and why. */
  planNotes?: string[];
}

/** A series an answer carries so that a UI can plot it. */
export interface Chart {
  title: string;
  unit: string;
  service?: string;
  evidence_id: string;
  points: [number, number][];
}

interface Draft {
  text: string;
  prompts: PromptRef[];
  model: string;
}

/** What an answer carries besides its text (also stored on the assistant message). */
export interface AnswerMeta {
  turn: number;
  /** What kind of answer was given. */
  intent: Intent;
  hypotheses: Hypothesis[];
  evidence_ids: string[];
  agents: AgentName[];
  path: 'llm' | 'deterministic';
  fallback_reason?: string;
  prompts: PromptRef[];
  model: string | null;
  grounding?: GroundingReport;
  window: { from: string; to: string };
  routing: { method: Plan['method']; reason: string; skipped: Plan['skipped'] };
  tracking_id: string;
  usage: { llm_calls: number; prompt_tokens: number; completion_tokens: number };
  /** Actions proposed in this answer, each waiting for a person to approve it. */
  approvals: {
    approval_id: string;
    action: string;
    params: Record<string, unknown>;
    summary: string;
    reason: string;
    risk: string;
    approvers: string[];
    evidence_ids: string[];
    status: string;
  }[];
  /** Actions the person asked for that were not proposed, and why. */
  refused_actions: string[];
  /** Runbook sections the answer points to. */
  citations: { evidence_id: string; title: string; section: string; citation: string; action_citation?: string }[];
  /** Past incidents of the workspace like this one. */
  similar_incidents: { evidence_id: string; incident_id: string; thread_id: string; root_service: string; root_kind: string; at: string }[];
  /** Hosts, pods, jobs… asked about, and those no telemetry names. */
  subject?: { named: Subject[]; missing: Subject[] };
  /** When nothing asked about is in the telemetry: the problems found meanwhile, which are not its cause. */
  other_problems?: Hypothesis[];
  /** Series behind the answer (latency, errors, traffic), for a UI to plot. */
  charts: Chart[];
}

export interface ThreadMessage {
  role: 'user' | 'assistant';
  content: string;
  /** Who asked (a user message's principal). */
  by?: string;
  at: string;
  turn: number;
  meta?: AnswerMeta;
}

/** What intake writes to a per-turn list to start the turn with it empty. */
export const NEW_TURN = 'new-turn';

/** A list that parallel specialists add to during one turn; NEW_TURN starts it afresh. */
const perTurn = <T>() =>
  Annotation<T[], T[] | typeof NEW_TURN>({
    reducer: (a, b) => (b === NEW_TURN ? [] : [...a, ...b]),
    default: () => [],
  });

/** Evidence of all turns, newest kept: follow-up questions see what earlier turns found. */
const MAX_EVIDENCE = 400;

export const ChatState = Annotation.Root({
  messages: Annotation<ThreadMessage[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  evidence: Annotation<Evidence[]>({
    reducer: (a, b) => {
      const seen = new Set(b.map((e) => e.id));
      return [...a.filter((e) => !seen.has(e.id)), ...b].slice(-MAX_EVIDENCE);
    },
    default: () => [],
  }),
  question: Annotation<string>(),
  /** The alert this turn investigates, when an alert started it (null for a person's question). */
  alert: Annotation<AlertContext | null>({ reducer: (_, b) => b ?? null, default: () => null }),
  turn: Annotation<number>({ reducer: (_, b) => b, default: () => 0 }),
  facts: Annotation<QuestionFacts | null>({ reducer: (_, b) => b, default: () => null }),
  plan: Annotation<Plan | null>({ reducer: (_, b) => b, default: () => null }),
  hypotheses: perTurn<Hypothesis>(),
  runs: perTurn<ToolRunSummary>(),
  turnEvidence: perTurn<string>(),
  proposalDrafts: perTurn<ScoredDraft>(),
  proposals: perTurn<TurnProposal>(),
  dropped: perTurn<DroppedProposal>(),
  draft: Annotation<Draft | null>({ reducer: (_, b) => b, default: () => null }),
  /** Why the deterministic narrator answers this turn although a model is configured. */
  fallback: Annotation<string | null>({ reducer: (_, b) => b, default: () => null }),
  grounding: Annotation<GroundingReport | null>({ reducer: (_, b) => b, default: () => null }),
  answer: Annotation<{ text: string; meta: AnswerMeta } | null>({ reducer: (_, b) => b, default: () => null }),
});

export type ChatStateType = typeof ChatState.State;
export type ChatUpdate = typeof ChatState.Update;
