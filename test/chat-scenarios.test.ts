import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { SCENARIOS } from '../src/demo/scenarios.ts';

/** A natural question per scenario, as someone on call would ask it. */
const QUESTIONS: Record<string, string> = {
  'payment-bad-deploy': 'why are payments failing?',
  'currency-cpu-starvation': 'why is the shop so slow right now?',
  'cart-oom-crashloop': 'customers get errors when they open their cart, what is going on?',
  'auth-bruteforce': 'are we under attack? I see a lot of failed logins',
  'recommendation-overprovisioned': 'where are we wasting cluster resources?',
  none: 'is anything wrong with the shop?',
};

/** The runbook each scenario's answer should point to. */
const RUNBOOKS: Record<string, string | null> = {
  'payment-bad-deploy': 'runbooks/error-rise-after-deploy.md',
  'currency-cpu-starvation': 'runbooks/cpu-throttling-latency.md',
  'cart-oom-crashloop': 'runbooks/crash-loop-oom.md',
  'auth-bruteforce': 'runbooks/brute-force-logins.md',
  'recommendation-overprovisioned': 'runbooks/over-provisioned-workloads.md',
  none: null,
};

let svc: TestService;
let token: string;
beforeAll(async () => {
  svc = await startTestService();
  token = await svc.token({ roles: ['sre', 'security', 'efficiency'] });
});
afterAll(() => svc.close());

describe('root cause at rank 1 without a model, for every simulator scenario', () => {
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    it(`${name}: "${QUESTIONS[name]}"`, async () => {
      await seedScenario(svc.service.deps.store, svc.service.deps.ingest, name, 2);
      const res = await svc.request('/v1/chat', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message: QUESTIONS[name] }),
      });
      const a = await json<{
        hypotheses: { service: string; kind: string }[];
        answer: string;
        citations: { citation: string; action_citation?: string; evidence_id: string }[];
      }>(res);
      if (scenario.truth.rootService === null) {
        expect(a.hypotheses).toEqual([]);
        // "Is anything wrong?" is a status question: the verdict, not a root-cause narrative.
        expect(a.answer).toMatch(/^(No fault found|Nothing looks wrong in shop)/);
        expect(a.citations).toEqual([]);
      } else {
        expect(a.hypotheses[0]).toMatchObject({ service: scenario.truth.rootService, kind: scenario.truth.kind });
        // The answer points to the runbook for this failure, by path and anchor, citing its evidence id.
        const first = a.citations[0]!;
        expect(first.citation.split('#')[0]).toBe(RUNBOOKS[name]);
        expect(first.citation).toMatch(/#[a-z0-9-]+$/);
        expect(first.action_citation).toBe(`${RUNBOOKS[name]}#mitigate`);
        expect(a.answer).toContain(`${first.action_citation} [${first.evidence_id}]`);
      }
    });
  }
});
