import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { toolContext } from '../../context.ts';
import { dependencyGraph } from './dependencies.ts';
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
    { tool: 'service_overview', args: { ...w } },
    { tool: 'metric_deviation', args: { ...w } },
    { tool: 'trace_hotspots', args: toolWindow(a.window) },
    { tool: 'log_patterns', args: { ...w, severity: 'WARN' } },
    {
      tool: 'recent_changes',
      args: {
        from: new Date(Math.min(a.window.from, a.baseline?.from ?? a.window.from) - 3 * HOUR).toISOString(),
        to: new Date(a.window.to).toISOString(),
      },
    },
  ];
  for (const service of a.focus.slice(0, 2)) {
    steps.push({ tool: 'log_search', args: { ...toolWindow(a.window), service, severity: 'ERROR', limit: 5 } });
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
