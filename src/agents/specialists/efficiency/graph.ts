import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { call } from '../../../tools/registry.ts';
import type { Hypothesis } from '../../../core/hypothesis.ts';
import { toolWindow } from '../../../core/window.ts';

const HOUR = 3600_000;

/**
 * Efficiency playbook: usage against requests and limits per workload (over
 * at least six hours, so a quiet half hour does not look like waste), and
 * traffic and latency trends against the six hours before.
 */
export function efficiencyPlan(a: Assignment): PlaybookStep[] {
  const span = Math.max(6 * HOUR, a.window.to - a.window.from);
  const window = { from: a.window.to - span, to: a.window.to };
  return [
    call('resource_efficiency', { ...toolWindow(window), ...(a.focus[0] ? { service: a.focus[0] } : {}) }),
    call('service_overview', toolWindow(window, { from: window.from - span, to: window.from })),
  ];
}

export const efficiencyGraph = buildSpecialist({
  name: 'efficiency',
  plan: efficiencyPlan,
  async assess(state) {
    const out: Hypothesis[] = [];
    for (const e of state.evidence) {
      if ((e.kind !== 'overprovisioned' && e.kind !== 'underprovisioned') || !e.service) continue;
      const waste = (e.numbers.waste_cores ?? 0) + (e.numbers.waste_gib ?? 0) / 4;
      out.push({
        service: e.service,
        kind: e.kind,
        score: e.kind === 'underprovisioned' ? 0.7 : Math.min(1, 0.3 + waste / 8),
        evidence_ids: [e.id],
        summary: e.summary,
        agent: 'efficiency',
      });
    }
    return out.sort((a, b) => b.score - a.score);
  },
});
