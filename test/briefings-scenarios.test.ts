import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIO_END, seedScenario } from './helpers/scenario.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { policiesWith, ScriptedChatModel } from './helpers/fake-model.ts';
import type { Briefing } from '../src/briefings/types.ts';

/**
 * Each fault scenario of the simulator, seeded in turn: the briefing of the half hour the fault runs
 * in lists it as an incident with the scenario's root service as origin. The service has a (scripted)
 * model, so the summary goes through the model path and the grounding check.
 */
let draftMode: 'grounded' | 'invented' = 'grounded';
const model = new ScriptedChatModel({
  draft: (user) => {
    // The first evidence line of the prompt, restated with its id: every number in it is in the evidence.
    const line = /^\[([a-z]{2}\d+)\] (.+)$/m.exec(user);
    if (!line) return 'Nothing to report.';
    if (draftMode === 'invented')
      return `Errors rose by 97.3% after the rollout at 03:17 UTC [${line[1]}]. Somebody restarted 41 pods [${line[1]}].`;
    return `${line[2]!.replace(/\[[^\]]*\]/g, '').trim()} [${line[1]}].`;
  },
});

let svc: TestService;
let sre: string;
beforeAll(async () => {
  // The scripted model drafts the same prompt two ways (grounded, then invented); the LLM cache would answer
  // the second from the first, so it is off here.
  const llm = fs.readFileSync('policies/llm.yaml', 'utf8').replace(/^cache:\n {2}enabled: true$/m, 'cache:\n  enabled: false');
  expect(llm).toContain('cache:\n  enabled: false');
  svc = await startTestService(
    { AIOPS_POLICIES_DIR: policiesWith({ 'briefings.yaml': 'scheduler: false\n', 'llm.yaml': llm }) },
    { model, modelName: 'scripted-model' },
  );
  sre = await svc.token({ roles: ['sre'] });
}, 600_000);
afterAll(() => svc?.close());

async function briefing(name: string): Promise<Briefing> {
  const res = await svc.request('/v1/briefings', {
    method: 'POST',
    token: sre,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, period: '30m', end: new Date(SCENARIO_END).toISOString() }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return json<Briefing>(res);
}

describe('briefings of injected faults', () => {
  for (const [scenario, origin] of [
    ['currency-cpu-starvation', 'currency'],
    ['cart-oom-crashloop', 'cart'],
    ['auth-bruteforce', 'frontend'],
  ] as const) {
    it(`list ${scenario} as an incident with origin ${origin}`, async () => {
      await seedScenario(svc.service.deps.store, svc.service.deps.ingest, scenario, 2);
      const b = await briefing(scenario);
      const open = b.incidents.filter((i) => i.status !== 'resolved');
      expect(open.length, JSON.stringify(open.map((i) => i.summary))).toBeGreaterThanOrEqual(1);
      expect(open[0]!.origin, JSON.stringify(open.map((i) => i.summary))).toBe(origin);
      expect(b.quiet).toBe(false);
      // The summary came from the model and passed the grounding check.
      expect(b.path).toBe('model');
      expect(b.model).toBe('scripted-model');
      expect(b.grounding).toMatchObject({ passed: true });
      expect(b.prompts).toEqual([expect.objectContaining({ id: 'briefing', version: 1 })]);
    });
  }

  // Runs on the auth-bruteforce data the test before left: a period with an incident, so the model is asked.
  it('falls back to the narrator when the draft states what the evidence does not', async () => {
    draftMode = 'invented';
    try {
      const b = await briefing('invented-draft');
      expect(b.path).toBe('narrator');
      expect(b.model).toBeNull();
      expect(b.grounding).toMatchObject({ passed: false });
      expect(b.summary).not.toMatch(/97\.3%|41 pods/);
      expect(b.summary).toMatch(/incident/);
    } finally {
      draftMode = 'grounded';
    }
  });

  it('reports provisioning far from use as a finding with a recommendation, not as an incident', async () => {
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'recommendation-overprovisioned', 2);
    const b = await briefing('overprovisioned');
    expect(b.findings).toContainEqual(expect.objectContaining({ kind: 'provisioning', service: 'recommendation', status: 'new' }));
    expect(b.recommendations.map((r) => r.text)).toContainEqual(expect.stringMatching(/^Right-size recommendation/));
    expect(b.incidents.filter((i) => i.origin === 'recommendation')).toEqual([]);
  });
});
