import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { narrate } from '../src/agents/narrator.ts';
import type { Evidence } from '../src/core/evidence.ts';
import { seedScenario } from './helpers/scenario.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';

const NOW = Date.parse('2026-11-28T10:00:00Z');
const item = (over: Partial<Evidence> & Pick<Evidence, 'id' | 'kind'>): Evidence => ({
  tool: 'metric_deviation',
  summary: '',
  numbers: {},
  attributes: {},
  window: { from: '', to: '' },
  query_id: 'q',
  ...over,
});

describe('every kind of candidate reads as a sentence', () => {
  it('a memory-pressure candidate without an error or latency figure names its leading metric', () => {
    const evidence = [
      item({
        id: 'md1',
        kind: 'metric_deviation',
        service: 'checkout',
        numbers: { score: 12, median: 512, baseline_median: 128 },
        attributes: { signal: 'memory_working_set', unit: 'MiB', direction: 'up' },
      }),
      item({
        id: 'so1',
        tool: 'service_overview',
        kind: 'service_red',
        service: 'checkout',
        numbers: { requests: 100, errors: 0, error_ratio: 0, baseline_error_ratio: 0 },
        attributes: { signals: '' },
      }),
    ];
    const text = narrate({
      workspace: 'shop',
      window: { from: NOW - 1800_000, to: NOW },
      agents: ['sre'],
      hypotheses: [
        {
          service: 'checkout',
          kind: 'memory_pressure',
          score: 0.8,
          evidence_ids: ['md1'],
          summary: 'checkout: memory pressure',
          agent: 'sre',
        },
      ],
      evidence,
      runs: [],
    });
    expect(text).toContain(
      'Likely cause: checkout (memory pressure): its memory_working_set is 512 MiB against 128 MiB in the baseline [md1].',
    );
    expect(text).not.toMatch(/: it\s+\[/);
  });

  it('a candidate with nothing but evidence ids still ends its sentence', () => {
    const text = narrate({
      workspace: 'shop',
      window: { from: NOW - 1800_000, to: NOW },
      agents: ['sre'],
      hypotheses: [{ service: 'cart', kind: 'anomaly', score: 0.5, evidence_ids: ['lp1'], summary: 'cart', agent: 'sre' }],
      evidence: [],
      runs: [],
    });
    expect(text).toContain('Likely cause: cart (anomaly): see the evidence [lp1].');
  });
});

describe('specialists skipped for lack of a role', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
    await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 1);
  });
  afterAll(() => svc?.close());

  const ask = async (roles: string[], message: string) =>
    json<{ answer: string; agents: string[]; routing: { skipped: { agent: string }[] } }>(
      await svc.request('/v1/chat', {
        method: 'POST',
        token: await svc.token({ roles }),
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ message }),
      }),
    );

  it('says that no specialist could answer, and which role would', async () => {
    const a = await ask(['viewer'], 'why are payments failing?');
    expect(a.agents).toEqual([]);
    expect(a.answer).toMatch(
      /No specialist could look into this with your roles: the question needs the SRE specialist \(it needs the role sre\)/,
    );
  });

  it('names the specialist it left out when others answered', async () => {
    const a = await ask(['security'], 'why are payments failing, and are we under attack with failed logins?');
    expect(a.agents).toEqual(['security']);
    expect(a.routing.skipped.map((s) => s.agent)).toContain('sre');
    expect(a.answer).toMatch(/Not consulted: the SRE specialist \(it needs the role sre\)/);
  });
});
