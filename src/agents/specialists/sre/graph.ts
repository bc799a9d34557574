import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { call } from '../../../tools/registry.ts';
import { toolContext } from '../../context.ts';
import { dependencyGraph } from '../../../tools/telemetry/dependencies.ts';
import { rankRootCauses } from './root-cause.ts';
import { toolWindow } from '../../../core/window.ts';

const HOUR = 3600_000;

/**
 * SRE playbook: RED per service against the baseline, every metric's
 * deviation, where time goes and errors start in traces, new log templates,
 * and what changed over a longer lookback; plus error lines of the service
 * the question names.
 */
export function srePlan(a: Assignment): PlaybookStep[] {
  const w = toolWindow(a.window, a.baseline);
  const steps: PlaybookStep[] = [
    call('service_overview', { ...w }),
    call('metric_deviation', { ...w }),
    call('trace_hotspots', toolWindow(a.window)),
    call('log_patterns', { ...w, severity: 'WARN' }),
    call('recent_changes', toolWindow({ from: Math.min(a.window.from, a.baseline?.from ?? a.window.from) - 3 * HOUR, to: a.window.to })),
  ];
  for (const service of a.focus.slice(0, 2)) {
    steps.push(call('log_search', { ...toolWindow(a.window), service, severity: 'ERROR', limit: 5 }));
  }
  return steps;
}

export const sreGraph = buildSpecialist({
  name: 'sre',
  plan: srePlan,
  async assess(state, rc) {
    const graph = await dependencyGraph(toolContext(rc), state.assignment.window.to);
    return rankRootCauses(state.evidence, graph, state.assignment.window.from);
  },
});
