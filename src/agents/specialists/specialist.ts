import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import type { Evidence } from '../../core/evidence.ts';
import { runTool, type TelemetryTool } from '../../tools/definition.ts';
import { call, TOOLS, type ToolCall } from '../../tools/registry.ts';
import { Problem } from '../../core/problem.ts';
import { toolContext, runContext, RunContextSchema, type RunContext, type AgentConfig } from '../context.ts';
import type { Hypothesis } from '../../core/hypothesis.ts';
import type { QuestionFacts } from '../question.ts';
import type { Intent } from '../understand/index.ts';
import type { AgentName } from '../../policies/schema.ts';
import { draftsFor, type ScoredDraft } from '../../actions/drafts.ts';
import type { TimeWindow } from '../../core/window.ts';
import { redactEvidence } from '../../policies/redaction.ts';
import { inSpan } from '../../observability/tracing.ts';
import type { ToolResult } from '../../tools/definition.ts';

/** What the orchestrator hands a specialist. */
export interface Assignment {
  question: string;
  facts: QuestionFacts;
  window: TimeWindow;
  baseline?: TimeWindow;
  /** When the incident started, when an alert or the question says so. */
  incidentStart?: number;
  /** Services the question is about (may be empty). */
  focus: string[];
  /** The alert the conversation is about, when it started from one. */
  alertname?: string;
  /** The kind of answer wanted (an alert: root_cause); decides the playbook. */
  intent: Intent;
  /** Calls a model planned for a question no intent covers, already checked. */
  steps?: ToolCall[];
}

/** A playbook step is a typed tool call: the tool must exist and the arguments fit its schema. */
export type PlaybookStep = ToolCall;

/** One tool call of a turn, kept for the synthesis prompt and the thread. */
export interface ToolRunSummary {
  agent: string;
  tool: string;
  args: Record<string, unknown>;
  evidence_ids: string[];
  notes: string[];
  rendered: string;
  elapsed_ms: number;
  /** Why the call failed, in words, naming the failing fields. */
  error?: string;
  /** The arguments a refusal named (empty for other failures). */
  error_fields?: string[];
}

const SpecialistState = Annotation.Root({
  assignment: Annotation<Assignment>(),
  steps: Annotation<PlaybookStep[]>({ reducer: (_, b) => b, default: () => [] }),
  evidence: Annotation<Evidence[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  runs: Annotation<ToolRunSummary[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  hypotheses: Annotation<Hypothesis[]>({ reducer: (_, b) => b, default: () => [] }),
  drafts: Annotation<ScoredDraft[]>({ reducer: (_, b) => b, default: () => [] }),
});
type SpecialistStateType = typeof SpecialistState.State;

export interface SpecialistDefinition {
  name: AgentName;
  /** Calls to make first, whose evidence may refine the assignment (what changed, and when). */
  lead?(a: Assignment, rc: RunContext): PlaybookStep[];
  /** The assignment in the light of the lead evidence (e.g. a baseline that ends before a change). */
  refine?(a: Assignment, lead: Evidence[]): Assignment;
  /** The typed tool calls for this assignment: the playbook. */
  plan(a: Assignment, rc: RunContext): PlaybookStep[];
  /** Root-cause candidates from the evidence gathered. */
  assess(state: SpecialistStateType, rc: RunContext): Promise<Hypothesis[]>;
  /** Calls for the series behind the leading candidate (a chart), run with the runbook lookup. */
  chart?(h: Hypothesis, a: Assignment): PlaybookStep[];
}

/** Why a tool call failed, in words: a refusal names each failing argument. */
function failureOf(err: unknown): { detail: string; fields: string[]; reason: string } {
  if (err instanceof Problem) {
    const fields = (err.errors ?? []).map((e) => e.field);
    const detail = err.errors?.length ? `${err.detail}: ${err.errors.map((e) => `${e.field} ${e.message}`).join('; ')}` : err.detail;
    return { detail, fields, reason: err.type };
  }
  return { detail: (err as Error).message ?? String(err), fields: [], reason: 'error' };
}

type QueryStats = NonNullable<ToolResult['stats']['query_stats']>;

/** One tool call with a span (child of the node's) and a `tool` fact: arguments, query ids and figures, duration, outcome. */
async function runStep(agent: string, step: PlaybookStep, rc: RunContext): Promise<{ evidence: Evidence[]; run: ToolRunSummary }> {
  const started = performance.now();
  return inSpan(rc.deps.tracer, `tool ${step.tool}`, { 'aiops.tool': step.tool, 'aiops.agent': agent }, async (span) => {
    const { queries, ...out } = await runStepInner(agent, step, rc);
    const status = out.run.error ? 'error' : 'ok';
    span.setAttributes({ 'aiops.tool.queries': queries.length, 'aiops.tool.status': status });
    rc.deps.metrics?.toolCalls.inc({ tool: step.tool, status });
    rc.deps.facts?.record({
      kind: 'tool',
      trackingId: rc.trackingId,
      workspace: rc.workspace,
      name: step.tool,
      status,
      durationMs: performance.now() - started,
      attrs: {
        agent,
        // Arguments can carry words of the question: redacted like everything the thread keeps.
        args: rc.redactor.redact(JSON.stringify(out.run.args)).slice(0, 2000),
        queries: JSON.stringify(queries),
        ...(out.run.error ? { error: rc.redactor.redact(out.run.error).slice(0, 500) } : {}),
      },
      nums: { queries: queries.length, evidence: out.evidence.length },
    });
    return out;
  });
}

/** Runs one tool call for a specialist: events out, a failure noted (and counted) rather than thrown. */
async function runStepInner(
  agent: string,
  step: PlaybookStep,
  rc: RunContext,
): Promise<{ evidence: Evidence[]; run: ToolRunSummary; queries: QueryStats }> {
  const started = performance.now();
  const args = step.args as Record<string, unknown>;
  rc.emit({ event: 'agent.step', data: { agent, step: 'tool', tool: step.tool, status: 'started' } });
  try {
    const tool: TelemetryTool = TOOLS[step.tool];
    const result = await runTool(tool, toolContext(rc), args);
    const elapsed = Math.round(performance.now() - started);
    // What the thread keeps and the answer returns is redacted; ClickHouse keeps the raw lines.
    const evidence = redactEvidence(result.evidence, rc.redactor);
    rc.emit({ event: 'evidence', data: { agent, tool: step.tool, items: evidence } });
    rc.emit({ event: 'agent.step', data: { agent, step: 'tool', tool: step.tool, status: 'done', elapsed_ms: elapsed } });
    return {
      evidence,
      queries: result.stats.query_stats ?? [],
      run: {
        agent,
        tool: step.tool,
        args,
        evidence_ids: evidence.map((e) => e.id),
        notes: result.notes,
        rendered: rc.redactor.redact(result.rendered),
        elapsed_ms: elapsed,
      },
    };
  } catch (err) {
    if (rc.signal?.aborted) throw err;
    const failure = failureOf(err);
    rc.deps.logger.warn(
      { tracking_id: rc.trackingId, agent, tool: step.tool, fields: failure.fields, err: failure.detail },
      'tool call failed',
    );
    rc.deps.metrics?.toolFailures.inc({ tool: step.tool, reason: failure.reason });
    rc.emit({ event: 'agent.step', data: { agent, step: 'tool', tool: step.tool, status: 'failed', detail: failure.detail } });
    return {
      evidence: [],
      queries: [],
      run: {
        agent,
        tool: step.tool,
        args,
        evidence_ids: [],
        notes: [],
        rendered: '',
        elapsed_ms: Math.round(performance.now() - started),
        error: failure.detail,
        ...(failure.fields.length ? { error_fields: failure.fields } : {}),
      },
    };
  }
}

/** What a fault of each kind is called when looking it up in runbooks and past incidents. */
const KIND_QUERY: Record<string, string> = {
  bad_deploy: 'error rate rose right after a deploy; the new version fails requests; roll back',
  oom_crashloop: 'containers OOMKilled, out of memory kills, crash loop back-off restarts',
  cpu_throttling: 'latency from CPU throttling; the CPU limit is too low',
  unavailable: 'callers get connection refused; pods not ready or restarting',
  memory_pressure: 'memory grows toward the limit; memory leak',
  cpu_saturation: 'CPU saturated on the node; noisy neighbour; autoscaler at maximum',
  errors: '5xx errors from the service or its upstream dependency',
  latency: 'latency rises; slow requests',
  brute_force: 'brute-force failed logins; password guessing',
  overprovisioned: 'over-provisioned workloads; requests far above usage; rightsizing',
  underprovisioned: 'requests below actual usage; throttled or killed; capacity',
};

/** The lookup for the specialist's leading candidate: runbook sections and the team's past incidents. */
export function consultSteps(h: Hypothesis, alertname?: string): PlaybookStep[] {
  const query = `${KIND_QUERY[h.kind] ?? h.kind.replace(/_/g, ' ')}. ${h.summary}`.slice(0, 500);
  return [call('search_runbooks', { query, k: 2, ...(alertname ? { alertname } : {}) }), call('similar_incidents', { query, k: 2 })];
}

/**
 * A specialist as its own graph: plan the playbook, run its tool calls in
 * parallel (a failed call is noted, the others still count), assess, then
 * consult runbooks and past incidents about the leading candidate.
 */
export function buildSpecialist(def: SpecialistDefinition) {
  return new StateGraph(SpecialistState, RunContextSchema)
    .addNode('lead', async (state, config: AgentConfig) => {
      const rc = runContext(config);
      const steps = def.lead?.(state.assignment, rc) ?? [];
      if (!steps.length) return {};
      const results = await Promise.all(steps.map((step) => runStep(def.name, step, rc)));
      const evidence = results.flatMap((r) => r.evidence);
      return {
        evidence,
        runs: results.map((r) => r.run),
        ...(def.refine ? { assignment: def.refine(state.assignment, evidence) } : {}),
      };
    })
    .addNode('plan', (state, config: AgentConfig) => ({ steps: def.plan(state.assignment, runContext(config)) }))
    .addNode('gather', async (state, config: AgentConfig) => {
      const rc = runContext(config);
      const results = await Promise.all(state.steps.map((step) => runStep(def.name, step, rc)));
      return { evidence: results.flatMap((r) => r.evidence), runs: results.map((r) => r.run) };
    })
    .addNode('assess', async (state, config: AgentConfig) => {
      const rc = runContext(config);
      const hypotheses = await def.assess(state, rc);
      rc.emit({
        event: 'agent.step',
        data: {
          agent: def.name,
          step: 'assess',
          status: 'done',
          detail: hypotheses.length ? `${hypotheses.length} candidate(s), first ${hypotheses[0]!.service}` : 'no fault found',
        },
      });
      return { hypotheses };
    })
    .addNode('consult', async (state, config: AgentConfig) => {
      const rc = runContext(config);
      const top = state.hypotheses.find((h) => !h.explained_by);
      if (!top) return {};
      const steps = [
        ...(def.chart?.(top, state.assignment) ?? []),
        ...(rc.deps.knowledge ? consultSteps(top, state.assignment.alertname) : []),
      ];
      const results = await Promise.all(steps.map((step) => runStep(def.name, step, rc)));
      return { evidence: results.flatMap((r) => r.evidence), runs: results.map((r) => r.run) };
    })
    .addEdge(START, 'lead')
    .addEdge('lead', 'plan')
    .addEdge('plan', 'gather')
    .addEdge('gather', 'assess')
    .addNode('propose', (state) => {
      // The remedy for the leading candidate, if the evidence names one; the orchestrator checks it against the catalogue.
      const top = state.hypotheses.find((h) => !h.explained_by);
      return { drafts: top ? draftsFor(top, state.evidence) : [] };
    })
    .addEdge('assess', 'consult')
    .addEdge('consult', 'propose')
    .addEdge('propose', END)
    .compile();
}
