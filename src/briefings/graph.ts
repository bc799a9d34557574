import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import type { Evidence } from '../core/evidence.ts';
import { renderEvidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import { Problem } from '../core/problem.ts';
import { parseDuration } from '../core/duration.ts';
import { hhmm, iso, toolWindow, type TimeWindow } from '../core/window.ts';
import { scoreSeries } from '../analysis/anomaly.ts';
import { redactEvidence } from '../policies/redaction.ts';
import { refOf, render, type PromptRef } from '../prompts/registry.ts';
import { runTool, type TelemetryTool } from '../tools/definition.ts';
import { call, TOOLS, type ToolCall } from '../tools/registry.ts';
import { dependencyGraph, type DependencyGraph } from '../tools/telemetry/dependencies.ts';
import { runContext, RunContextSchema, toolContext, type AgentConfig, type RunContext } from '../agents/context.ts';
import { rankRootCauses } from '../agents/specialists/sre/root-cause.ts';
import { consultSteps } from '../agents/specialists/specialist.ts';
import { checkGrounding, type GroundingReport } from '../agents/grounding.ts';
import { streamDraft } from '../agents/llm.ts';
import { compare, detect, type Detected } from './detect.ts';
import { synthesize, type EventDraft } from './events.ts';
import { keyFigures } from './figures.ts';
import { narrateBriefing } from './narrate.ts';
import {
  SEVERITY_RANK,
  type Briefing,
  type Chart,
  type Citation,
  type Finding,
  type Incident,
  type KeyMetric,
  type Recommendation,
} from './types.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Incidents looked up in runbooks and past incidents, and charted, at most. */
const MAX_CONSULTED = 4;
const MAX_CHARTS = 4;
/** A detector score from which a chart point is marked anomalous (the `aiops anomalies` alarm level). */
const DETECTOR_ALARM = 0.5;

/** What a briefing run starts from. */
export interface BriefingInput {
  name: string;
  period: TimeWindow;
  /** The previous briefing of the same schedule, for "since last time". */
  previous?: Pick<Briefing, 'id' | 'incidents' | 'findings'>;
}

/** A labelled tool call: the label says what the briefing uses its evidence for. */
interface Labelled {
  label: 'vs_previous' | 'vs_day' | 'saturation' | 'detect' | 'consult' | 'chart';
  step: ToolCall;
  /** For consult and chart calls: the incident they are for. */
  incident?: string;
}

interface Run {
  label: Labelled['label'];
  incident?: string;
  tool: string;
  evidence: Evidence[];
  error?: string;
  elapsed_ms?: number;
}

const State = Annotation.Root({
  input: Annotation<BriefingInput>(),
  runs: Annotation<Run[]>({ reducer: (a, b) => [...a, ...b], default: () => [] }),
  keyMetrics: Annotation<KeyMetric[]>({ reducer: (_, b) => b, default: () => [] }),
  findings: Annotation<Finding[]>({ reducer: (_, b) => b, default: () => [] }),
  incidents: Annotation<Incident[]>({ reducer: (_, b) => b, default: () => [] }),
  hypotheses: Annotation<Hypothesis[]>({ reducer: (_, b) => b, default: () => [] }),
  charts: Annotation<Chart[]>({ reducer: (_, b) => b, default: () => [] }),
  citations: Annotation<Citation[]>({ reducer: (_, b) => b, default: () => [] }),
  recommendations: Annotation<Recommendation[]>({ reducer: (_, b) => b, default: () => [] }),
  quiet: Annotation<boolean>({ reducer: (_, b) => b, default: () => false }),
  summary: Annotation<string>({ reducer: (_, b) => b, default: () => '' }),
  path: Annotation<'model' | 'narrator'>({ reducer: (_, b) => b, default: () => 'narrator' }),
  grounding: Annotation<GroundingReport | null>({ reducer: (_, b) => b, default: () => null }),
  prompts: Annotation<PromptRef[]>({ reducer: (_, b) => b, default: () => [] }),
});
export type BriefingState = typeof State.State;

async function runStep(l: Labelled, rc: RunContext): Promise<Run> {
  const started = performance.now();
  try {
    const tool: TelemetryTool = TOOLS[l.step.tool];
    const result = await runTool(tool, toolContext(rc), l.step.args);
    return {
      label: l.label,
      incident: l.incident,
      tool: l.step.tool,
      evidence: redactEvidence(result.evidence, rc.redactor),
      elapsed_ms: Math.round(performance.now() - started),
    };
  } catch (err) {
    if (rc.signal?.aborted) throw err;
    const detail =
      err instanceof Problem
        ? `${err.detail}${err.errors?.length ? `: ${err.errors.map((e) => `${e.field} ${e.message}`).join('; ')}` : ''}`
        : (err as Error).message;
    rc.deps.logger.warn({ tracking_id: rc.trackingId, tool: l.step.tool, err: detail }, 'briefing tool call failed');
    rc.deps.metrics?.toolFailures.inc({ tool: l.step.tool, reason: err instanceof Problem ? err.type : 'error' });
    return {
      label: l.label,
      incident: l.incident,
      tool: l.step.tool,
      evidence: [],
      error: `${l.step.tool}: ${detail}`,
      elapsed_ms: Math.round(performance.now() - started),
    };
  }
}

/** The CPU usage and limit metric names the policy lists (resource_efficiency reads the same). */
const cpuNames = (rc: RunContext) => ({
  cpuUsage: rc.deps.policies.tools.resource_metrics.cpu_usage,
  cpuLimit: rc.deps.policies.tools.resource_metrics.cpu_limit,
});

/**
 * Tool calls of a step run at most this many at once: each ClickHouse query
 * uses several threads, and a dozen at once on a small machine only make each
 * slower (and nearer its time limit) without finishing the step sooner.
 */
const CONCURRENT_CALLS = 4;

/** Maps `items` through `fn` with at most CONCURRENT_CALLS in flight, keeping their order. */
async function pooled<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_CALLS, items.length) }, worker));
  return out;
}

/** The calls of the gathering step for a period. */
export function gatherSteps(period: TimeWindow, cpu: { cpuUsage: string[]; cpuLimit: string[] }, maxWindowMs: number): Labelled[] {
  const len = period.to - period.from;
  const w = toolWindow(period);
  const vsPrevious = toolWindow(period, { from: period.from - len, to: period.from });
  const steps: Labelled[] = [
    // Saturation: each CPU usage and limit metric the policy names, per service, against the previous period.
    ...[...new Set([...cpu.cpuUsage, ...cpu.cpuLimit])].map(
      (metric): Labelled => ({ label: 'saturation', step: call('metric_deviation', { ...vsPrevious, metric, top: 50 }) }),
    ),
    {
      label: 'vs_previous',
      step: call('service_overview', { ...toolWindow(period, { from: period.from - len, to: period.from }), top: 50 }),
    },
    // Detection compares with a longer baseline (four times the period, at least an hour), as the chat does.
    { label: 'detect', step: call('service_overview', { ...w, top: 50 }) },
    { label: 'detect', step: call('metric_deviation', { ...w, top: 30 }) },
    { label: 'detect', step: call('trace_hotspots', w) },
    { label: 'detect', step: call('log_patterns', { ...w, severity: 'WARN', top: 20 }) },
    // Changes over a longer lookback: a rollout just before the period explains what happens in it.
    {
      label: 'detect',
      step: call(
        'recent_changes',
        toolWindow({ from: Math.max(period.to - maxWindowMs, period.from - Math.max(3 * HOUR, len)), to: period.to }),
      ),
    },
    { label: 'detect', step: call('auth_failures', w) },
    { label: 'detect', step: call('resource_efficiency', w) },
  ];
  if (len <= DAY) {
    steps.splice(1, 0, {
      label: 'vs_day',
      step: call('service_overview', { ...toolWindow(period, { from: period.from - DAY, to: period.to - DAY }), top: 50 }),
    });
  }
  return steps;
}

const evidenceOf = (runs: Run[], label: Run['label']) => runs.filter((r) => r.label === label).flatMap((r) => r.evidence);

/** Windows of consecutive points at or above the alarm level, as [from, to) in ms. */
export function anomalyWindows(points: [number, number][], scores: number[]): [number, number][] {
  const step = points.length > 1 ? (points[points.length - 1]![0] - points[0]![0]) / (points.length - 1) : 60_000;
  const out: [number, number][] = [];
  scores.forEach((s, i) => {
    if (s < DETECTOR_ALARM) return;
    const t = points[i]![0];
    const last = out[out.length - 1];
    if (last && t - last[1] <= step) last[1] = t + step;
    else out.push([t, t + step]);
  });
  return out;
}

/** Recommendations: the runbook that applies to each open incident (cited), else a check from its kind; then provisioning. */
function recommend(incidents: Incident[], findings: Finding[]): Recommendation[] {
  const out: Recommendation[] = [];
  for (const i of incidents.filter((x) => x.status !== 'resolved')) {
    const rb = i.runbooks[0];
    if (rb) {
      out.push({
        text: `For ${i.origin}: follow "${rb.title}" (${rb.citation}).`,
        evidence_ids: [rb.evidence_id, ...i.evidence_ids.slice(0, 2)],
        citation: rb.citation,
      });
      continue;
    }
    const what =
      i.kind === 'bad_deploy'
        ? `check the latest rollout of ${i.origin} and consider rolling it back`
        : i.kind === 'brute_force'
          ? `review the failed logins against ${i.origin} and block the sources if they are not expected`
          : `investigate ${i.origin} first: it is the probable origin`;
    out.push({ text: `${what[0]!.toUpperCase()}${what.slice(1)}.`, evidence_ids: i.evidence_ids.slice(0, 3), citation: null });
  }
  for (const f of findings.filter((x) => x.kind === 'provisioning' && x.status === 'new').slice(0, 3)) {
    out.push({ text: `Right-size ${f.service}: ${f.summary}`, evidence_ids: f.evidence_ids, citation: null });
  }
  return out;
}

/** The facts the model writes from: what the deterministic steps concluded, with their evidence ids. */
function factsText(s: BriefingState): string {
  const lines = [
    ...s.incidents.map(
      (i) =>
        `incident ${i.status} ${i.severity}: origin ${i.origin} (${i.kind}) from ${hhmm(i.start)} UTC; services ${i.services.join(', ')}; ${i.summary} [${i.evidence_ids.slice(0, 4).join('][')}]`,
    ),
    ...s.findings
      .filter((f) => f.status !== 'ongoing')
      .slice(0, 12)
      .map((f) => `finding ${f.status} ${f.severity}: ${f.summary} [${f.evidence_ids.join('][')}]`),
    ...s.recommendations.map((r) => `recommendation: ${r.text}`),
  ];
  return lines.length ? lines.join('\n') : 'no incident and no new finding';
}

/**
 * The briefing graph: gather (key figures, detection) → assess (findings,
 * root-cause ranking, incident events, since last time) → consult (runbooks
 * and past incidents per incident; the charted series and their anomaly
 * windows) → write (the model from the evidence, held by the grounding check;
 * the deterministic narrator otherwise).
 */
export function buildBriefingGraph() {
  return new StateGraph(State, RunContextSchema)
    .addNode('gather', async (s, config: AgentConfig) => {
      const rc = runContext(config);
      const maxWindow = parseDuration(rc.deps.policies.tools.max_window) ?? 7 * DAY;
      return { runs: await pooled(gatherSteps(s.input.period, cpuNames(rc), maxWindow), (l) => runStep(l, rc)) };
    })
    .addNode('assess', async (s, config: AgentConfig) => {
      const rc = runContext(config);
      const { period, previous } = s.input;
      const keyMetrics = keyFigures(
        evidenceOf(s.runs, 'vs_previous'),
        evidenceOf(s.runs, 'vs_day'),
        evidenceOf(s.runs, 'saturation'),
        cpuNames(rc),
      );
      const detectEvidence = evidenceOf(s.runs, 'detect');
      const detected: Detected[] = detect(detectEvidence, period);
      // Without the dependency graph (a timeout at scale), every service stands alone: no explanation, no merging.
      let graphGap: string | undefined;
      const graph = await dependencyGraph(toolContext(rc), period.to).catch((err: unknown): DependencyGraph => {
        graphGap = `dependency graph: ${err instanceof Problem ? err.detail : (err as Error).message}`;
        rc.deps.logger.warn({ tracking_id: rc.trackingId, err: graphGap }, 'briefing without the dependency graph');
        return { calls: new Map(), edges: [] };
      });
      const hypotheses = rankRootCauses(detectEvidence, graph, period.from);
      const drafts: EventDraft[] = synthesize(rc.workspace, hypotheses, detected, detectEvidence, graph, period);
      const f = compare(detected, previous?.findings);
      const i = compare(drafts, previous?.incidents);
      const before = new Map((previous?.incidents ?? []).map((p) => [p.fingerprint, p]));
      const incidents: Incident[] = [
        ...i.items.map(({ score: _s, value: _v, ...d }) => {
          const p = before.get(d.fingerprint);
          // An ongoing incident keeps the start the earlier briefing saw.
          const start = p && Date.parse(p.start) < Date.parse(d.start) ? p.start : d.start;
          return { ...d, start, runbooks: [], similar_incidents: [] };
        }),
        ...i.resolved.map((r) => ({ ...r, end: Date.parse(r.end) < period.from ? r.end : iso(period.from) })),
      ];
      const findings: Finding[] = [...f.items, ...f.resolved];
      const active = incidents.filter((x) => x.status !== 'resolved');
      const quiet =
        active.length === 0 &&
        i.resolved.length === 0 &&
        !findings.some((x) => (x.status === 'new' || x.status === 'worse') && SEVERITY_RANK[x.severity] >= SEVERITY_RANK.major);
      return {
        keyMetrics,
        findings,
        incidents,
        hypotheses,
        quiet,
        ...(graphGap ? { runs: [{ label: 'detect' as const, tool: 'dependency_graph', evidence: [], error: graphGap }] } : {}),
      };
    })
    .addNode('consult', async (s, config: AgentConfig) => {
      const rc = runContext(config);
      const { period } = s.input;
      const active = s.incidents.filter((x) => x.status !== 'resolved').slice(0, MAX_CONSULTED);
      const steps: Labelled[] = [];
      if (rc.deps.knowledge) {
        for (const inc of active) {
          const h = s.hypotheses.find((x) => x.service === inc.origin) ?? {
            service: inc.origin,
            kind: inc.kind,
            summary: inc.summary,
            score: 1,
            evidence_ids: [],
            agent: 'sre',
          };
          for (const step of consultSteps(h)) steps.push({ label: 'consult', step, incident: inc.id });
        }
      }
      // The charted series: the workspace, then each open incident's origin, with context before the period.
      const maxWindow = parseDuration(rc.deps.policies.tools.max_window) ?? 7 * DAY;
      const chartFrom = Math.max(period.to - maxWindow, period.to - Math.max(6 * HOUR, 6 * (period.to - period.from)));
      const chartWindow = toolWindow({ from: chartFrom, to: period.to });
      steps.push({ label: 'chart', step: call('service_series', { ...chartWindow, points: 120 }) });
      for (const inc of active.slice(0, MAX_CHARTS - 1)) {
        steps.push({
          label: 'chart',
          step: call('service_series', { ...chartWindow, points: 120, service: inc.origin }),
          incident: inc.id,
        });
      }
      const runs = await pooled(steps, (l) => runStep(l, rc));
      const citations: Citation[] = [];
      const incidents = s.incidents.map((inc) => {
        const mine = runs.filter((r) => r.label === 'consult' && r.incident === inc.id).flatMap((r) => r.evidence);
        const runbooks: Citation[] = mine
          .filter((e) => e.kind === 'runbook' && (e.attributes.match === 'exact' || e.attributes.match === 'strong'))
          .map((e) => ({
            evidence_id: e.id,
            title: `${e.attributes.title ?? ''} › ${e.attributes.section ?? ''}`,
            path: e.attributes.path ?? '',
            anchor: e.attributes.anchor ?? '',
            citation: e.attributes.citation ?? '',
            match: e.attributes.match as 'exact' | 'strong',
          }));
        citations.push(...runbooks.filter((r) => !citations.some((c) => c.citation === r.citation)));
        const similar = mine.filter((e) => e.kind === 'past_incident').map((e) => e.id);
        return mine.length ? { ...inc, runbooks, similar_incidents: similar } : inc;
      });
      const charts: Chart[] = [];
      const incidentWindows = incidents
        .filter((x) => x.status !== 'resolved')
        .map((x) => ({ from: x.start, to: x.end, source: 'incident' as const, services: x.services }));
      for (const r of runs.filter((x) => x.label === 'chart')) {
        for (const e of r.evidence) {
          if (!e.series) continue;
          const pts = e.series.points;
          const scores = scoreSeries(
            pts.map((p) => p[0]),
            pts.map((p) => p[1]),
          );
          const service = e.service ?? null;
          charts.push({
            title: `${service ?? rc.workspace} ${e.attributes.measure === 'requests' ? 'requests per minute' : e.attributes.measure === 'error_ratio' ? 'error ratio' : 'p95 latency'}`,
            service,
            measure: e.attributes.measure ?? '',
            unit: e.series.unit,
            evidence_id: e.id,
            anomalies: [
              ...anomalyWindows(pts, scores).map(([from, to]) => ({ from: iso(from), to: iso(to), source: 'detector' as const })),
              ...incidentWindows
                .filter((w) => service === null || w.services.includes(service))
                .map(({ from, to, source }) => ({ from, to, source })),
            ],
          });
        }
      }
      return { runs, incidents, citations, charts: charts.slice(0, 3 * MAX_CHARTS) };
    })
    .addNode('write', async (s, config: AgentConfig) => {
      const rc = runContext(config);
      const recommendations = recommend(s.incidents, s.findings);
      const narrated = narrateBriefing({
        workspace: rc.workspace,
        period: s.input.period,
        quiet: s.quiet,
        incidents: s.incidents,
        findings: s.findings,
        keyMetrics: s.keyMetrics,
        recommendations,
      });
      const model = rc.deps.model;
      if (!model || s.quiet) return { recommendations, summary: narrated, path: 'narrator' as const };
      const prompt = rc.deps.prompts.get('briefing');
      const evidence = s.runs.flatMap((r) => r.evidence);
      const cited = new Set([
        ...s.incidents.flatMap((i) => i.evidence_ids),
        ...s.findings.flatMap((f) => f.evidence_ids),
        ...s.keyMetrics.slice(0, 6).flatMap((m) => m.evidence_ids),
      ]);
      const shown = evidence.filter((e) => cited.has(e.id));
      const { system, user } = render(prompt, {
        workspace: rc.workspace,
        period: `${iso(s.input.period.from)} to ${iso(s.input.period.to)}`,
        facts: rc.redactor.redact(factsText({ ...s, recommendations })),
        evidence: renderEvidence('evidence:', shown, rc.deps.policies.llm.max_prompt_tokens - 1200).text,
      });
      try {
        const draft = await streamDraft(rc, model, system, user, () => undefined, refOf(prompt), 'briefing');
        const g = rc.deps.policies.llm.grounding;
        const checked = checkGrounding(draft, evidence, rc.services, {
          tolerance: g.number_tolerance,
          maxUnsupportedShare: g.max_unsupported_share,
        });
        if (checked.report.passed && checked.text.trim())
          return { recommendations, summary: checked.text, path: 'model' as const, grounding: checked.report, prompts: [refOf(prompt)] };
        return { recommendations, summary: narrated, path: 'narrator' as const, grounding: checked.report, prompts: [refOf(prompt)] };
      } catch (err) {
        rc.deps.logger.warn({ tracking_id: rc.trackingId, err: (err as Error).message }, 'briefing draft failed; the narrator writes it');
        return { recommendations, summary: narrated, path: 'narrator' as const, prompts: [refOf(prompt)] };
      }
    })
    .addEdge(START, 'gather')
    .addEdge('gather', 'assess')
    .addEdge('assess', 'consult')
    .addEdge('consult', 'write')
    .addEdge('write', END)
    .compile();
}
