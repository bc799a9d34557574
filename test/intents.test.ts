import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sparkline } from '../src/cli/commands/chat.ts';
import { SCENARIO_END, seedScenario } from './helpers/scenario.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';

interface Answer {
  thread_id: string;
  answer: string;
  intent: string;
  agents: string[];
  hypotheses: { service: string; kind: string }[];
  approvals: { approval_id: string; action: string }[];
  window: { from: string; to: string };
  evidence: { id: string; tool: string; kind: string }[];
  charts: { title: string; unit: string; service?: string; points: [number, number][] }[];
  routing: { method: string; reason: string };
}

/**
 * The chat answers the question asked: each intent runs only the tools it
 * needs and answers in its own shape, and follow-ups refer to the thread.
 * The telemetry: a bad deploy of payment in the last hour.
 */
describe('answers by intent', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
  });
  afterAll(() => svc?.close());

  const ask = async (message: string, thread_id?: string) => {
    const res = await svc.request('/v1/chat', {
      method: 'POST',
      token: await svc.token({ roles: ['sre', 'security', 'efficiency'] }),
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message, ...(thread_id ? { thread_id } : {}) }),
    });
    expect(res.status).toBe(200);
    return json<Answer>(res);
  };
  const tools = (a: Answer) => [...new Set(a.evidence.map((e) => e.tool))].sort();

  it('ranks the slowest endpoints in a table, without a root-cause investigation or a proposal', async () => {
    const a = await ask('show me the slowest endpoints');
    expect(a.intent).toBe('ranking');
    expect(tools(a)).toEqual(['ranking']);
    expect(a.answer).toMatch(/Operations by latency:/);
    expect(a.answer).toMatch(/\| 1 \| \S+ \| .+ \| [\d.]+ ms \| \[rk\d+\] \|/);
    expect(a.hypotheses).toEqual([]);
    expect(a.approvals).toEqual([]);
    expect(a.answer).not.toMatch(/Likely cause/);
  });

  it('answers a status question with a verdict, its numbers, the window and a chart', async () => {
    const a = await ask('is payment healthy in the last 2 hours?');
    expect(a.intent).toBe('status');
    // RED against the baseline, the series, and the named service's saturation.
    expect(tools(a)).toEqual(expect.arrayContaining(['service_overview', 'service_series']));
    expect(a.answer).toMatch(/checked with service_overview, service_series, metric_deviation\.\)/);
    expect(a.answer).toMatch(
      /payment is (failing more requests|slower)[^.]*: \d+ requests .*error ratio [\d.]+% \(baseline [\d.]+%\).*\[so\d+\]/,
    );
    expect(Date.parse(a.window.to) - Date.parse(a.window.from)).toBeGreaterThanOrEqual(2 * 3600_000 - 60_000);
    expect(a.answer).toMatch(/\(Looked at shop, \d\d:\d\d–\d\d:\d\d UTC/);
    expect(a.charts.map((c) => c.title)).toEqual(expect.arrayContaining(['payment error ratio', 'payment p95 latency']));
    expect(a.charts[0]!.points.length).toBeGreaterThan(5);
    expect(a.approvals).toEqual([]);
  });

  it('says a healthy service is healthy', async () => {
    const a = await ask('is currency ok?');
    expect(a.intent).toBe('status');
    expect(a.answer).toMatch(/currency looks healthy: \d+ requests/);
  });

  it("shows a service's error lines", async () => {
    const a = await ask('show me the error logs of payment');
    expect(a.intent).toBe('logs');
    expect(tools(a)).toEqual(['log_search']);
    expect(a.answer).toMatch(/payment: \d+ log lines? match .*\[ls\d+\]:\n {4}\d\d:\d\d payment ERROR /);
  });

  it('lists what changed', async () => {
    const a = await ask('what changed in the last 3 hours?');
    expect(a.intent).toBe('changes');
    expect(tools(a)).toEqual(['recent_changes']);
    expect(a.answer).toMatch(/- payment version \S+ → \S+ first seen at \d\d:\d\d UTC.*\[rc\d+\]/);
  });

  it('follow-ups: what to do, the logs for that, and why, from the thread without a second proposal', async () => {
    const first = await ask('why are payments failing?');
    expect(first.intent).toBe('root_cause');
    expect(first.hypotheses[0]).toMatchObject({ service: 'payment', kind: 'bad_deploy' });
    // A root cause carries the leading candidate's series.
    expect(first.charts.length).toBeGreaterThan(0);
    expect(first.charts.every((c) => c.service === 'payment')).toBe(true);
    const todo = await ask('what should I do about it?', first.thread_id);
    expect(todo.intent).toBe('followup_action');
    // Nothing new ran: the evidence it cites is the first answer's.
    const firstIds = new Set(first.evidence.map((e) => e.id));
    expect(todo.evidence.length).toBeGreaterThan(0);
    expect(todo.evidence.every((e) => firstIds.has(e.id))).toBe(true);
    expect(todo.approvals).toEqual([]);
    expect(todo.answer).toMatch(/For the cause found in the earlier answer \(turn 1\): .*payment/);
    expect(todo.answer).toMatch(/What to do:\n- /);
    if (first.approvals.length) expect(todo.answer).toContain(first.approvals[0]!.approval_id);
    const logs = await ask('show me the logs for that', first.thread_id);
    expect(logs.intent).toBe('followup_logs');
    expect(tools(logs)).toEqual(['log_search']);
    expect(logs.answer).toMatch(/payment: \d+ log lines? match/);
    const why = await ask('why do you think so?', first.thread_id);
    expect(why.intent).toBe('followup_explain');
    expect(why.answer).toMatch(/named payment \(bad deploy\) because of this evidence:\n- /);
  });

  it('says which day it looked at when the question names an earlier date', async () => {
    const day = new Date(SCENARIO_END - 2 * 86_400_000).toISOString().slice(0, 10);
    const a = await ask(`how was payment between 10:00 and 10:30 on ${day}?`);
    expect(a.window.from).toBe(`${day}T10:00:00.000Z`);
    expect(a.answer).toContain(`10:00–10:30 UTC on ${day}`);
    expect(a.answer).toMatch(/No server spans of payment in the window/);
  });
});

describe('sparkline', () => {
  it('draws the lowest value as the lowest bar and the highest as the highest', () => {
    expect(
      sparkline([
        [0, 1],
        [1, 5],
        [2, 9],
      ]),
    ).toBe('▁▅█');
    expect(sparkline([])).toBe('');
  });
});
