import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { call } from '../../../tools/registry.ts';
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

export const sreGraph = buildSpecialist({
  name: 'sre',
  lead: (a, rc) => sreLead(a, parseDuration(rc.deps.policies.tools.max_window) ?? 7 * 86_400_000),
  refine: baselineBeforeChange,
  plan: srePlan,
  async assess(state, rc) {
    const graph = await dependencyGraph(toolContext(rc), state.assignment.window.to);
    return rankRootCauses(state.evidence, graph, state.assignment.window.from);
  },
});
