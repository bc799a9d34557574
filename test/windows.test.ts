import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readQuestion } from '../src/agents/orchestrator/nodes/intake.ts';
import { investigationWindows, type WindowInput } from '../src/agents/orchestrator/windows.ts';
import { efficiencyPlan } from '../src/agents/specialists/efficiency/graph.ts';
import { securityPlan } from '../src/agents/specialists/security/graph.ts';
import { consultSteps, type Assignment, type PlaybookStep } from '../src/agents/specialists/specialist.ts';
import { baselineBeforeChange, sreLead, srePlan } from '../src/agents/specialists/sre/graph.ts';
import { alertQuestion } from '../src/alerts/context.ts';
import type { Store } from '../src/clients/clickhouse.ts';
import type { Evidence } from '../src/core/evidence.ts';
import { loadPolicies } from '../src/policies/load.ts';
import { prepareRun, type TelemetryTool } from '../src/tools/definition.ts';
import { TOOLS } from '../src/tools/registry.ts';

const NOW = Date.parse('2026-11-28T10:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const policies = loadPolicies(path.resolve('policies'));
const maxWindowMs = 7 * 24 * HOUR;
const alertPolicy = { beforeStartMs: 15 * MIN, minMs: 30 * MIN, maxMs: 6 * HOUR };
const base = { now: NOW, defaultMs: 30 * MIN, maxWindowMs } satisfies Partial<WindowInput>;
const services = ['payment', 'checkout', 'cart', 'frontend'];

/** Every step an investigation with these windows would run: the three playbooks, the SRE lead and the knowledge consult. */
function steps(a: Assignment): PlaybookStep[] {
  const hypothesis = { service: 'payment', kind: 'bad_deploy', score: 1, evidence_ids: ['so1'], summary: 'payment: errors', agent: 'sre' };
  return [
    ...sreLead(a, maxWindowMs),
    ...srePlan(a),
    ...securityPlan(a),
    ...efficiencyPlan(a),
    ...consultSteps(hypothesis, 'High error rate on checkout'),
  ];
}

/** The refusals a tool would give these steps before running (none expected). */
function refusals(a: Assignment): string[] {
  const ctx = {
    store: {} as Store,
    workspace: 'shop',
    tenantAttribute: 'k8s.namespace.name',
    trackingId: 't',
    policy: policies.tools,
    now: NOW,
  };
  const out: string[] = [];
  for (const step of steps(a)) {
    try {
      const tool: TelemetryTool = TOOLS[step.tool];
      prepareRun(tool, ctx, step.args);
    } catch (err) {
      out.push(`${step.tool}: ${(err as { detail?: string }).detail} ${JSON.stringify((err as { errors?: unknown }).errors)}`);
    }
  }
  return out;
}

function assignment(w: ReturnType<typeof investigationWindows>, question = 'why?'): Assignment {
  return {
    question,
    facts: {
      services: [],
      words: [],
      intent: 'root_cause',
      entities: [],
      defaultWindowMs: 1_800_000,
      subjectSource: 'none',
      timeNotes: [],
    },
    window: w.window,
    ...(w.baseline ? { baseline: w.baseline } : {}),
    ...(w.incidentStart !== undefined ? { incidentStart: w.incidentStart } : {}),
    focus: ['checkout'],
    alertname: 'High error rate on checkout',
    intent: 'root_cause',
  };
}

describe('investigation windows', () => {
  const alertStarts: [string, number][] = [
    ['ten minutes ago (the README example)', NOW - 10 * MIN],
    ['just now', NOW - 30_000],
    ['three hours ago', NOW - 3 * HOUR],
    ['two days ago, beyond the longest window', NOW - 2 * 24 * HOUR],
    ['in 1970', 0],
    ['in 2030', Date.parse('2030-01-01T00:00:00Z')],
  ];
  for (const [name, startsAt] of alertStarts) {
    it(`an alert that started ${name}: the baseline ends before the window and the incident, and no step is refused`, () => {
      const w = investigationWindows({ ...base, question: {}, alert: { startsAt, ...alertPolicy } });
      if (w.baseline) {
        expect(w.baseline.to).toBeLessThanOrEqual(w.window.from);
        if (w.incidentStart !== undefined) expect(w.baseline.to).toBeLessThanOrEqual(w.incidentStart);
      }
      expect(w.window.to).toBe(NOW);
      expect(refusals(assignment(w))).toEqual([]);
    });
  }

  it('notes an alert start in the future or older than the window, with its date', () => {
    const future = investigationWindows({ ...base, question: {}, alert: { startsAt: Date.parse('2030-01-01T00:00:00Z'), ...alertPolicy } });
    expect(future.notes.join(' ')).toContain('00:00 UTC on 2030-01-01, in the future');
    expect(future.incidentStart).toBeUndefined();
    const old = investigationWindows({ ...base, question: {}, alert: { startsAt: 0, ...alertPolicy } });
    expect(old.notes.join(' ')).toContain('firing since 00:00 UTC on 1970-01-01');
  });

  it('says the alert start with its date when it is not today', () => {
    const a = { alertname: 'NodeEvent', severity: 'warning', summary: '', description: '', labels: {}, firing: 1 };
    expect(alertQuestion({ ...a, starts_at: NOW - 10 * MIN }, NOW)).toContain('since 09:50 UTC,');
    expect(alertQuestion({ ...a, starts_at: 0 }, NOW)).toContain('since 00:00 UTC on 1970-01-01');
    expect(alertQuestion({ ...a, starts_at: Date.parse('2030-01-01T00:00:00Z') }, NOW)).toContain(
      'with a start time in the future (00:00 UTC on 2030-01-01)',
    );
  });

  const questions = [
    'why are payments failing?',
    'why is checkout slow in the last 2 hours?',
    'An incident started at 09:41 UTC. What is the root cause?',
    'what happened between 08:10 and 08:40?',
    'what went wrong yesterday?',
    'what failed in the last 7 days?',
    'the incident at 05:18 UTC on 2026-11-22',
  ];
  for (const q of questions) {
    it(`"${q}": no step is refused for its arguments`, () => {
      const facts = readQuestion(q, services, NOW);
      const w = investigationWindows({ ...base, question: facts });
      if (w.baseline) expect(w.baseline.to).toBeLessThanOrEqual(w.window.from);
      expect(refusals(assignment(w, q))).toEqual([]);
    });
  }

  it('"an incident started at T" looks from a few minutes before T to a quarter of an hour after, against a baseline before T', () => {
    const facts = readQuestion('An incident started at 09:11 UTC. What is the root cause?', services, NOW);
    const w = investigationWindows({ ...base, question: facts });
    const t = Date.parse('2026-11-28T09:11:00Z');
    expect(w.incidentStart).toBe(t);
    expect(w.window.from).toBeLessThan(t);
    expect(w.window.to).toBeLessThanOrEqual(t + 20 * MIN);
    expect(w.baseline!.to).toBeLessThanOrEqual(w.window.from);
  });

  it('a follow-up that names no time keeps the earlier windows', () => {
    const previous = { window: { from: NOW - HOUR, to: NOW - 30 * MIN }, baseline: { from: NOW - 3 * HOUR, to: NOW - HOUR } };
    const w = investigationWindows({ ...base, question: {}, previous });
    expect(w.window).toEqual(previous.window);
    expect(w.baseline).toEqual(previous.baseline);
  });
});

describe('a change the evidence found marks the start of the incident', () => {
  const w = { window: { from: NOW - 30 * MIN, to: NOW } };
  const deploy = (at: number): Evidence => ({
    id: 'rc1',
    tool: 'recent_changes',
    kind: 'deploy',
    summary: 'payment 2.4.1 → 2.5.0',
    service: 'payment',
    numbers: { at_ms: at },
    attributes: {},
    window: { from: '', to: '' },
    query_id: 'q',
  });

  it('ends the baseline before a deploy inside it, keeping its length', () => {
    const a = baselineBeforeChange(assignment({ ...w, notes: [] }), [deploy(NOW - 50 * MIN)]);
    expect(a.baseline).toEqual({ from: NOW - 50 * MIN - 2 * HOUR, to: NOW - 50 * MIN });
    expect(refusals(a)).toEqual([]);
  });

  it('leaves the baseline alone when the start is known or the change is older', () => {
    const known = assignment({ ...w, incidentStart: NOW - 20 * MIN, baseline: { from: NOW - 2 * HOUR, to: NOW - 30 * MIN }, notes: [] });
    expect(baselineBeforeChange(known, [deploy(NOW - 50 * MIN)]).baseline).toEqual(known.baseline);
    expect(baselineBeforeChange(assignment({ ...w, notes: [] }), [deploy(NOW - 5 * HOUR)]).baseline).toBeUndefined();
  });
});
