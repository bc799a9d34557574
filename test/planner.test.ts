import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { citingDraft, ollamaServer, type OllamaRequest } from './helpers/ollama-server.ts';
import { policiesWith } from './helpers/fake-model.ts';

/**
 * A question no intent covers, with a model: one structured call plans a few
 * tool calls, each checked against the catalogue before it runs; one more
 * round when nothing of the plan could run. Against a server that follows
 * Ollama's /api/chat, with scripted plans.
 */
let server: Awaited<ReturnType<typeof ollamaServer>>;
let svc: TestService;
let plans: unknown[] = [];
let intents: unknown[] = [];

const isPlan = (req: OllamaRequest) => JSON.stringify(req.format ?? '').includes('"calls"');
const isIntent = (req: OllamaRequest) => JSON.stringify(req.format ?? '').includes('"intent"');

beforeAll(async () => {
  server = await ollamaServer((req: OllamaRequest) => {
    if (isPlan(req)) return { content: JSON.stringify(plans.shift() ?? { calls: [] }) };
    if (isIntent(req)) return { content: JSON.stringify(intents.shift() ?? { intent: 'unknown', reason: 'no idea' }) };
    if (req.format) return { content: JSON.stringify({ agents: ['sre'], reason: 'operations question' }) };
    return { content: citingDraft(req.messages.find((m) => m.role === 'user')!.content) };
  });
  const policies = policiesWith({
    // Replies to the same question change from test to test: no LLM cache (test/observability.test.ts covers it).
    'llm.yaml': 'model: qwen2.5:3b\ntimeout_ms: 5000\nretries: 0\nprompts: { route: 1, synthesize: 1 }\ncache: { enabled: false }\n',
  });
  svc = await startTestService({ OLLAMA_URL: server.url, AIOPS_POLICIES_DIR: policies });
  await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
});
afterAll(async () => {
  await svc.close();
  await server.close();
});

interface Answer {
  intent: string;
  answer: string;
  path: string;
  evidence: { tool: string }[];
  routing: { method: string; reason: string };
}

async function ask(message: string): Promise<Answer> {
  const res = await svc.request('/v1/chat', {
    method: 'POST',
    token: await svc.token({ roles: ['sre'] }),
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  expect(res.status).toBe(200);
  return json<Answer>(res);
}
const tools = (a: Answer) => [...new Set(a.evidence.map((e) => e.tool))].sort();
/** After the plan, the leading candidate's series and the runbook lookup may follow; nothing else. */
const AFTER_PLAN = new Set(['service_series', 'search_runbooks', 'similar_incidents']);
const planned = (a: Answer) => tools(a).filter((t) => !AFTER_PLAN.has(t));
const planRequests = () => server.requests.filter(isPlan);

describe('the intent, read by the model when the words leave it unclear', () => {
  it('answers as the model reads it, without planning', async () => {
    server.requests.length = 0;
    intents = [{ intent: 'status', reason: 'asks how things are' }];
    const a = await ask('anything interesting?');
    expect(server.requests.filter(isIntent)).toHaveLength(1);
    expect(planRequests()).toHaveLength(0);
    expect(a.intent).toBe('status');
    expect(tools(a)).toEqual(['service_overview', 'service_series']);
  });

  it('does not ask the model when the words are clear', async () => {
    server.requests.length = 0;
    const a = await ask('show me the slowest endpoints');
    expect(server.requests.filter(isIntent)).toHaveLength(0);
    expect(a.intent).toBe('ranking');
  });
});

describe('the model-planned path', () => {
  it('runs the calls a plan names, and only those', async () => {
    server.requests.length = 0;
    plans = [
      {
        calls: [
          { tool: 'service_overview', args: {} },
          { tool: 'log_search', args: { service: 'payment', severity: 'ERROR', limit: 5 } },
        ],
        reason: 'look at the services and the errors',
      },
    ];
    const a = await ask('which pods talk to the database?');
    expect(a.intent).toBe('unknown');
    expect(a.routing).toMatchObject({ method: 'llm', reason: 'planned by the model: service_overview, log_search' });
    expect(planned(a)).toEqual(['log_search', 'service_overview']);
    expect(planRequests()).toHaveLength(1);
    // The catalogue reaches the model with each tool's argument schema.
    const prompt = planRequests()[0]!
      .messages.map((m) => m.content)
      .join('\n');
    expect(prompt).toMatch(/- ranking: .*Arguments: \{/);
    expect(a.path).toBe('llm');
  });

  it('rejects an unknown tool and a bad argument, asks once more, and runs what then fits', async () => {
    server.requests.length = 0;
    plans = [
      {
        calls: [
          { tool: 'drop_database', args: { name: 'shop' } },
          { tool: 'log_search', args: { limit: 'many' } },
        ],
      },
      { calls: [{ tool: 'service_overview', args: {} }] },
    ];
    const a = await ask('which pods talk to the database?');
    expect(planRequests()).toHaveLength(2);
    // The second round is told why the first was refused.
    const second = planRequests()[1]!
      .messages.map((m) => m.content)
      .join('\n');
    expect(second).toMatch(/drop_database: no such telemetry tool/);
    expect(second).toMatch(/log_search: limit /);
    expect(planned(a)).toEqual(['service_overview']);
    expect(a.answer).toMatch(/planned calls left out \(round 1\): drop_database: no such telemetry tool; log_search: limit/);
  });

  it('keeps a valid call of a partly bad plan without a second round', async () => {
    server.requests.length = 0;
    plans = [
      {
        calls: [
          { tool: 'service_overview', args: { top: 500 } },
          { tool: 'service_series', args: { service: 'payment' } },
        ],
      },
    ];
    const a = await ask('anything interesting?');
    expect(planRequests()).toHaveLength(1);
    expect(tools(a)).toEqual(['service_series']);
    expect(a.answer).toMatch(/service_overview: top /);
  });

  it('falls back to a general look for problems when no round yields a usable call', async () => {
    server.requests.length = 0;
    plans = [{ calls: [{ tool: 'shell', args: { cmd: 'rm -rf /' } }] }, { calls: [{ tool: 'shell', args: {} }] }];
    const a = await ask('which pods talk to the database?');
    expect(planRequests()).toHaveLength(2);
    expect(a.routing.reason).not.toMatch(/planned by the model/);
    expect(tools(a)).toContain('service_overview');
    expect(a.answer).toMatch(/no usable plan came of it, so this is a general look for problems/);
  });
});
