import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { call, type ToolArgs } from '../../../tools/registry.ts';
import type { Measure } from '../../understand/index.ts';
import { toolContext } from '../../context.ts';
import { dependencyGraph } from '../../../tools/telemetry/dependencies.ts';
import { rankRootCauses } from './root-cause.ts';
import { baselineLength, toolWindow } from '../../../core/window.ts';
import type { Evidence } from '../../../core/evidence.ts';
import { parseDuration } from '../../../core/duration.ts';

const HOUR = 3600_000;

/**
 * SRE playbook (after the lead, what changed): RED per service against the
 * baseline, every metric's deviation, where time goes and errors start in
 * traces, new log templates; plus error lines of the service the question names.
 * When the incident start is known (an alert, "it started at 05:18"): what
 * changed at that moment, the first five minutes against the hour before.
 */
export function srePlan(a: Assignment): PlaybookStep[] {
  const w = toolWindow(a.window, a.baseline);
  const steps: PlaybookStep[] = [
    call('service_overview', { ...w }),
    call('metric_deviation', { ...w }),
    call('trace_hotspots', toolWindow(a.window)),
    call('log_patterns', { ...w, severity: 'WARN' }),
  ];
  const start = a.incidentStart;
  if (start !== undefined && start < a.window.to) {
    // The first five minutes of the incident (five one-minute scrapes) against the hour before it.
    const onset = { from: start, to: Math.min(start + 5 * 60_000, a.window.to) };
    steps.push(call('change_onset', { ...toolWindow(onset, { from: start - HOUR, to: start }) }));
  }
  for (const service of a.focus.slice(0, 2)) {
    steps.push(call('log_search', { ...toolWindow(a.window), service, severity: 'ERROR', limit: 5 }));
  }
  return steps;
}

/** What changed first, over a longer lookback than the window (within what a tool may read). */
export function sreLead(a: Assignment, maxWindowMs: number): PlaybookStep[] {
  const from = Math.max(a.window.to - maxWindowMs, Math.min(a.window.from, a.baseline?.from ?? a.window.from) - 3 * HOUR);
  return [call('recent_changes', toolWindow({ from, to: a.window.to }))];
}

const CHANGES = new Set(['deploy', 'rollout']);

/**
 * When nothing says when the incident started, a change found in the
 * baseline marks it: the baseline then ends before the latest such change,
 * so "before" does not already hold the incident ("fails 37.9% against a
 * baseline of 4.4%" when the error ratio before the deploy was 0%).
 */
export function baselineBeforeChange(a: Assignment, lead: Evidence[]): Assignment {
  if (a.incidentStart !== undefined) return a;
  const base = a.baseline ?? { from: a.window.from - baselineLength(a.window), to: a.window.from };
  const changes = lead
    .filter((e) => CHANGES.has(e.kind))
    .map((e) => e.numbers.at_ms ?? e.numbers.first_ms ?? 0)
    .filter((at) => at > base.from && at <= base.to);
  if (!changes.length) return a;
  const at = Math.max(...changes);
  return { ...a, baseline: { from: at - (base.to - base.from), to: at } };
}

/** The ranking tool's measure for what the question ranks by. */
const RANK_BY: Record<Measure, ToolArgs<'ranking'>['by'] | undefined> = {
  latency: 'latency',
  errors: 'errors',
  error_rate: 'error_ratio',
  log_volume: 'log_volume',
  cpu: 'cpu',
  memory: 'memory',
  traffic: 'traffic',
  restarts: undefined,
};

/** A ranking question as calls: noisiest log patterns, or services/operations by a measure. */
function rankingSteps(a: Assignment): PlaybookStep[] {
  const r = a.facts.ranking;
  const w = toolWindow(a.window);
  const top = Math.min(20, Math.max(1, r?.limit ?? 5));
  const service = a.focus.length === 1 ? { service: a.focus[0]! } : {};
  if (r?.of === 'log_pattern') return [call('log_patterns', { ...w, ...service, top })];
  const of = r?.of === 'endpoint' || r?.of === 'operation' ? 'operation' : 'service';
  const by =
    (r?.by ?? a.facts.measure?.kind) !== undefined ? RANK_BY[(r?.by ?? a.facts.measure?.kind)!] : of === 'operation' ? 'latency' : 'errors';
  if (!by) return [call('service_overview', { ...w, ...toolWindow(a.window, a.baseline) })];
  return [call('ranking', { ...w, by, of, order: r?.order ?? 'desc', top, ...service })];
}

/**
 * The calls a question needs, by its intent: a status or figures question
 * reads RED against the baseline and the series; a ranking ranks; a logs
 * question reads the lines; a changes question lists changes; a comparison
 * reads both periods. Only a root-cause question (and an alert) runs the
 * whole root-cause playbook.
 */
export function questionPlan(a: Assignment): PlaybookStep[] {
  const w = toolWindow(a.window);
  const vsBaseline = toolWindow(a.window, a.baseline);
  const focus = a.focus.slice(0, 3);
  switch (a.intent) {
    case 'status':
    case 'figures':
    case 'compare': {
      const steps: PlaybookStep[] = [
        call('service_overview', { ...vsBaseline, top: 20 }),
        ...(focus.length ? focus.map((service) => call('service_series', { ...w, service })) : [call('service_series', { ...w })]),
      ];
      // The status of a named service includes its saturation: resource metrics against the baseline.
      if (a.intent === 'status') for (const service of focus) steps.push(call('metric_deviation', { ...vsBaseline, service }));
      // Restarts are counted from Kubernetes events (out-of-memory kills, back-off restarts).
      if (a.facts.measure?.kind === 'restarts')
        steps.push(
          ...(focus.length ? focus.map((service) => call('recent_changes', { ...w, service })) : [call('recent_changes', { ...w })]),
        );
      return steps;
    }
    case 'ranking':
      return rankingSteps(a);
    case 'logs':
    case 'followup_logs': {
      // Error lines when the question says errors, warnings when it says so; a named service's logs are
      // all its lines (newest first), the whole workspace's only warnings and worse (else it is noise).
      const severity = /\berrors?\b|\bfail\w*|\bexceptions?\b/i.test(a.question)
        ? 'ERROR'
        : /\bwarn(?:ing)?s?\b/i.test(a.question)
          ? 'WARN'
          : focus.length || /\ball\b|\bevery\b|\binfo\b/i.test(a.question)
            ? undefined
            : 'WARN';
      const sev = severity ? { severity: severity as 'WARN' | 'ERROR' } : {};
      return focus.length
        ? focus.map((service) => call('log_search', { ...w, service, ...sev, limit: 20 }))
        : [call('log_search', { ...w, ...sev, limit: 20 }), call('log_patterns', { ...w, ...sev, top: 10 })];
    }
    case 'changes':
      return focus.length ? focus.map((service) => call('recent_changes', { ...w, service })) : [call('recent_changes', { ...w })];
    default:
      return srePlan(a);
  }
}

/** Whether this assignment is a root-cause investigation (the whole playbook, candidates, remedies). */
export const investigates = (a: Assignment) => a.intent === 'root_cause' || a.intent === 'unknown' || a.intent === 'followup_subject';

export const sreGraph = buildSpecialist({
  name: 'sre',
  lead: (a, rc) => (investigates(a) && !a.steps ? sreLead(a, parseDuration(rc.deps.policies.tools.max_window) ?? 7 * 86_400_000) : []),
  refine: baselineBeforeChange,
  plan: (a) => a.steps ?? (investigates(a) ? srePlan(a) : questionPlan(a)),
  async assess(state, rc) {
    if (!investigates(state.assignment)) return [];
    const graph = await dependencyGraph(toolContext(rc), state.assignment.window.to);
    return rankRootCauses(state.evidence, graph, state.assignment.window.from);
  },
  // The leading candidate's requests, errors and latency around the incident, for the answer's chart.
  chart: (h, a) => [
    call('service_series', {
      ...toolWindow(a.baseline ? { from: a.baseline.to - (a.window.to - a.window.from), to: a.window.to } : a.window),
      service: h.service,
    }),
  ],
});
