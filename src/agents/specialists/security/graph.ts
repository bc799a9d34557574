import { buildSpecialist, type Assignment, type PlaybookStep } from '../specialist.ts';
import { call } from '../../../tools/registry.ts';
import type { Hypothesis } from '../../../core/hypothesis.ts';
import { toolWindow } from '../../../core/window.ts';

const HOUR = 3600_000;
/** Log content that deserves a look: injection attempts, traversal, scanners, privilege changes. */
const SUSPICIOUS_CONTENT =
  "union\\s+select|'\\s*or\\s+'?1'?\\s*=\\s*'?1|\\.\\./\\.\\./|<script|/etc/passwd|\\bsqlmap\\b|\\bnikto\\b|permission denied|access denied|privilege|clusterrolebinding|rolebinding";

/**
 * Security playbook: failed authentications by source with bursts, log lines
 * with suspicious content, and changes (rollouts, restarts) in the window.
 * Says so when nothing suspicious turns up.
 */
export function securityPlan(a: Assignment): PlaybookStep[] {
  // Attacks unfold over hours: look at least at the last hour.
  const window = a.window.to - a.window.from < HOUR ? { from: a.window.to - HOUR, to: a.window.to } : a.window;
  // A widened window may reach into the baseline: then the baseline is the same length, just before it.
  const baseline =
    a.baseline && a.baseline.to > window.from ? { from: window.from - (a.baseline.to - a.baseline.from), to: window.from } : a.baseline;
  return [
    call('auth_failures', toolWindow(window, baseline)),
    call('log_search', { ...toolWindow(window), pattern: SUSPICIOUS_CONTENT, severity: 'WARN', limit: 10 }),
  ];
}

export const securityGraph = buildSpecialist({
  name: 'security',
  plan: securityPlan,
  async assess(state) {
    const bursts = state.evidence.filter((e) => e.kind === 'auth_burst');
    const bySvc = new Map<string, typeof bursts>();
    for (const b of bursts)
      (bySvc.get(b.service ?? '(unknown)') ?? bySvc.set(b.service ?? '(unknown)', []).get(b.service ?? '(unknown)')!).push(b);
    const out: Hypothesis[] = [];
    for (const [service, items] of bySvc) {
      const failures = items.reduce((n, e) => n + (e.numbers.failures ?? 0), 0);
      const sources = items.map((e) => e.attributes.source);
      out.push({
        service,
        kind: 'brute_force',
        score: Math.min(1, 0.5 + failures / 2000),
        evidence_ids: [...items.map((e) => e.id), ...state.evidence.filter((e) => e.kind === 'auth_failures_total').map((e) => e.id)],
        summary: `${service}: a password-guessing burst, ${failures} failed logins from ${sources.join(', ')}`,
        agent: 'security',
      });
    }
    return out.sort((a, b) => b.score - a.score);
  },
});
