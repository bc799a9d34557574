import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { seedScenario } from './helpers/scenario.ts';
import { policiesWith, ScriptedChatModel, type Script } from './helpers/fake-model.ts';
import { citingDraft } from './helpers/ollama-server.ts';

const script: Script = { route: { agents: ['sre'], reason: 'a failure question' }, draft: citingDraft };
const model = new ScriptedChatModel(script);
const spans = new InMemorySpanExporter();
let svc: TestService;
let alice: string;
const T0 = Date.now();

beforeAll(async () => {
  const policies = policiesWith({
    'llm.yaml':
      'model: scripted-model\ntimeout_ms: 5000\nretries: 0\nmax_prompt_tokens: 5000\nroute_with_llm: true\nprompts: { route: 1, synthesize: 1 }\ncache: { ttl: 45m }\n',
  });
  svc = await startTestService(
    { AIOPS_POLICIES_DIR: policies },
    { model, modelName: 'scripted-model', clock: () => T0, spanProcessors: [new SimpleSpanProcessor(spans)] },
  );
  await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
  alice = await svc.token({ sub: 'alice', roles: ['sre'] });
});
afterAll(() => svc?.close());

interface Answer {
  thread_id: string;
  path: string;
  usage: { llm_calls: number };
  grounding?: { passed: boolean };
  approvals: { approval_id: string }[];
}
interface Trace {
  tracking_id: string;
  request: { route: string; status: number; sub: string; thread_id?: string } | null;
  turn: { kind: string; path: string; intent: string; fallback: boolean } | null;
  nodes: { name: string; duration_ms: number }[];
  tools: {
    name: string;
    agent: string;
    status: string;
    args: Record<string, unknown>;
    queries: { query_id: string; result_rows: number; read_rows: number | null; duration_ms: number }[];
  }[];
  model_calls: {
    model: string;
    call: string;
    prompt: string;
    prompt_version: number | null;
    cache_hit: boolean;
    input_tokens: number;
    output_tokens: number;
    duration_ms: number;
  }[];
  grounding: { passed: boolean; sentences: number; unsupported: number }[];
  audit: { kind: string; status: string }[];
  query_figures: string;
}

const ask = async (message: string, trackingId: string, headers: Record<string, string> = {}, token = alice) => {
  const res = await svc.request('/v1/chat', {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/json', 'X-Request-Id': trackingId, ...headers },
    body: JSON.stringify({ message }),
  });
  expect(res.status).toBe(200);
  return json<Answer>(res);
};
const trace = (id: string, token = alice) => svc.request(`/v1/trace/${id}`, { token });

describe('a chat turn, traced by its tracking id and answered again from the LLM cache', () => {
  const question = 'why are payments failing?';
  let first: Answer;

  it('the trace shows the nodes, tools with their query ids, model calls with tokens, grounding and the proposal', async () => {
    const calls = model.calls.length;
    first = await ask(question, 'obs-turn-0001', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(first.path).toBe('llm');
    expect(model.calls.length).toBe(calls + 2); // route and draft
    const res = await trace('obs-turn-0001');
    expect(res.status).toBe(200);
    const t = await json<Trace>(res);
    expect(t.request).toMatchObject({ route: 'POST /v1/chat', status: 200, sub: 'alice', thread_id: first.thread_id });
    expect(t.turn).toMatchObject({ kind: 'chat', path: 'llm', intent: 'root_cause', fallback: false });
    expect(t.nodes.map((n) => n.name)).toEqual(['intake', 'route', 'sre', 'synthesize', 'verify', 'propose', 'respond']);
    expect(t.tools.length).toBeGreaterThan(2);
    expect(t.tools.every((x) => x.agent === 'sre' && x.status === 'ok')).toBe(true);
    const queries = t.tools.flatMap((x) => x.queries);
    expect(queries.length).toBeGreaterThan(2);
    for (const q of queries) expect(q.query_id).toMatch(/^obs-turn-0001:[a-z_]+:\d+$/);
    // chDB keeps no query log and sends no summary: said so, not made up.
    expect(t.query_figures).toMatch(/not available/);
    expect(queries.every((q) => q.read_rows === null && q.duration_ms >= 0)).toBe(true);
    const draft = t.model_calls.find((m) => m.call === 'draft')!;
    expect(draft).toMatchObject({ model: 'scripted-model', prompt: 'synthesize', prompt_version: 1, cache_hit: false });
    expect(draft.input_tokens).toBeGreaterThan(100);
    expect(draft.output_tokens).toBeGreaterThan(5);
    expect(t.model_calls.find((m) => m.call === 'route')).toMatchObject({ prompt: 'route', prompt_version: 1, cache_hit: false });
    expect(t.grounding).toEqual([expect.objectContaining({ passed: true, unsupported: 0 })]);
    expect(t.audit.map((r) => r.kind)).toContain('proposal');
  });

  it('the turn is one trace of spans continuing the caller’s traceparent: request → run → node → tool → model call', async () => {
    const all = spans.getFinishedSpans().filter((x) => x.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c');
    const byId = new Map(all.map((x) => [x.spanContext().spanId, x]));
    const named = (prefix: string) => all.filter((x) => x.name.startsWith(prefix));
    const parentOf = (x: (typeof all)[number]) => byId.get(x.parentSpanContext?.spanId ?? '');
    const request = named('POST /v1/chat')[0]!;
    expect(request.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    const run = named('invoke_agent chat')[0]!;
    expect(parentOf(run)).toBe(request);
    const sre = named('node sre')[0]!;
    expect(parentOf(sre)).toBe(run);
    const tool = named('tool ')[0]!;
    expect(parentOf(tool)).toBe(sre);
    const draft = all.find((x) => x.name === 'chat scripted-model' && x.attributes['aiops.call'] === 'draft')!;
    expect(parentOf(draft)!.name).toBe('node synthesize');
    expect(draft.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'scripted-model',
      'gen_ai.provider.name': 'ollama',
      'aiops.prompt.id': 'synthesize',
    });
    expect(draft.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(100);
    expect(draft.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(5);
  });

  it('the same question on the same evidence is answered from the cache, with no model call; after the TTL the model answers again', async () => {
    // The first turn became a past incident, so the second sees new evidence (a similar-incidents line) and asks the model.
    let calls = model.calls.length;
    await ask(question, 'obs-turn-0002');
    expect(model.calls.length).toBe(calls + 1); // the draft; routing reads the cache (same question, same prompt)
    calls = model.calls.length;
    const hits = await metric('aiops_llm_cache_requests_total{result="hit"}');
    const a = await ask(question, 'obs-turn-0003');
    expect(model.calls.length).toBe(calls);
    expect(a).toMatchObject({ path: 'llm', usage: { llm_calls: 0 }, grounding: { passed: true } });
    const t = await json<Trace>(await trace('obs-turn-0003'));
    expect(t.model_calls.map((m) => [m.call, m.cache_hit])).toEqual([
      ['route', true],
      ['draft', true],
    ]);
    // A cached draft is still checked against this turn's evidence.
    expect(t.grounding).toEqual([expect.objectContaining({ passed: true })]);
    expect(await metric('aiops_llm_cache_requests_total{result="hit"}')).toBe(hits + 2);
    expect(await metric('aiops_llm_cache_entries')).toBeGreaterThanOrEqual(3);

    const cache = svc.service.deps.llmCache!;
    const expiries = await metric('aiops_llm_cache_expiries_total');
    cache.now = () => Date.now() + 46 * 60_000;
    try {
      await ask(question, 'obs-turn-0004');
      expect(model.calls.length).toBe(calls + 2);
      expect(await metric('aiops_llm_cache_expiries_total')).toBe(expiries + 2);
      const after = await json<Trace>(await trace('obs-turn-0004'));
      expect(after.model_calls.every((m) => !m.cache_hit)).toBe(true);
    } finally {
      cache.now = Date.now;
    }
  });

  it('another workspace gets 404; another user without the role 403; an admin reads it', async () => {
    const elsewhere = await svc.token({ sub: 'alice', workspaces: ['other'], roles: ['sre'] });
    expect((await trace('obs-turn-0001', elsewhere)).status).toBe(404);
    expect((await trace('obs-no-such-request')).status).toBe(404);
    const bob = await svc.token({ sub: 'bob', roles: ['sre'] });
    expect((await trace('obs-turn-0001', bob)).status).toBe(403);
    const admin = await svc.token({ sub: 'root', roles: ['admin'] });
    expect((await trace('obs-turn-0001', admin)).status).toBe(200);
  });

  it('exports the new metrics under the GenAI names', async () => {
    const text = await (await svc.request('/metrics')).text();
    expect(text).toMatch(/gen_ai_client_token_usage_bucket\{[^}]*gen_ai_token_type="input"/);
    expect(text).toMatch(/gen_ai_client_operation_duration_seconds_count\{[^}]*gen_ai_request_model="scripted-model"/);
    expect(text).toMatch(/aiops_tool_calls_total\{tool="[a-z_]+",status="ok"\} \d+/);
    expect(text).toMatch(/aiops_grounding_checks_total\{outcome="passed"\} \d+/);
    expect(text).toMatch(/aiops_investigations_total\{kind="chat",path="llm"\} 4/);
  });

  it('stats count a scripted sequence of turns, an alert investigation and a decision', async () => {
    const from = new Date().toISOString();
    const admin = await svc.token({ sub: 'root', roles: ['admin', 'auditor'] });
    const bob = await svc.token({ sub: 'bob', roles: ['approver'] });
    const rejected = await svc.request(`/v1/threads/${first.thread_id}/approvals/${first.approvals[0]!.approval_id}`, {
      method: 'POST',
      token: bob,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ decision: 'reject', comment: 'not now' }),
    });
    expect(rejected.status).toBe(200);
    await ask(question, 'obs-stats-0001');
    await ask('is anyone brute-forcing logins?', 'obs-stats-0002', {}, await svc.token({ sub: 'alice', roles: ['sre', 'security'] }));
    const hook = await svc.token({ sub: 'alertmanager', roles: ['alerts'] });
    const posted = await svc.request('/v1/alerts/alertmanager', {
      method: 'POST',
      token: hook,
      headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'obs-stats-alert1' },
      body: JSON.stringify(paymentAlert()),
    });
    expect(posted.status).toBe(202);
    await svc.service.deps.alerts.settled();
    const traces = await Promise.all(
      ['obs-stats-0001', 'obs-stats-0002', 'obs-stats-alert1'].map(async (id) => json<Trace>(await trace(id, admin))),
    );
    const tools = traces.flatMap((t) => t.tools);
    const calls = traces.flatMap((t) => t.model_calls);
    const proposals = traces.flatMap((t) => t.audit).filter((r) => r.kind === 'proposal').length;

    const stats = (path: string, token = admin) => svc.request(`/v1/stats/${path}${path.includes('?') ? '&' : '?'}from=${from}`, { token });
    const summary = await json<{ counts: Record<string, number>; proposals: Record<string, number> }>(await stats('summary'));
    expect(summary.counts).toMatchObject({
      chat_turns: 2,
      alert_investigations: 1,
      briefings: 0,
      tool_calls: tools.length,
      tool_errors: tools.filter((x) => x.status !== 'ok').length,
      model_calls: calls.filter((m) => !m.cache_hit).length,
      model_cache_hits: calls.filter((m) => m.cache_hit).length,
      request_errors: 0,
      turn_errors: 0,
    });
    expect(summary.proposals).toMatchObject({ rejected: 1, approved: 0, proposed: proposals });

    const by = async (dim: string) =>
      Object.fromEntries(
        (await json<{ rows: { key: string; count: number }[] }>(await stats(`breakdown?by=${dim}`))).rows.map((r) => [r.key, r.count]),
      );
    expect(await by('workspace')).toEqual({ shop: 3 });
    expect(await by('severity')).toEqual({ '': 2, critical: 1 });
    const byTool = await by('tool');
    expect(Object.values(byTool).reduce((a, b) => a + b, 0)).toBe(tools.length);
    const bySpecialist = await by('specialist');
    expect(bySpecialist.security).toBe(tools.filter((x) => x.agent === 'security').length);

    const perf = await json<{
      routes: { name: string; count: number; p95_ms: number }[];
      tools: { name: string; count: number }[];
      models: { prompt: string; prompt_version: string; requests: number; cache_hits: number }[];
      answers: { model: string; prompt_version: string; turns: number; grounding_checks: number; grounding_pass_rate: number | null }[];
    }>(await stats('performance'));
    expect(perf.routes.find((r) => r.name === 'POST /v1/chat')).toMatchObject({ count: 2 });
    expect(perf.tools.reduce((a, r) => a + r.count, 0)).toBe(tools.length);
    const synth = perf.models.find((m) => m.prompt === 'synthesize' && m.prompt_version === '1')!;
    expect(synth.requests).toBe(calls.filter((m) => m.prompt === 'synthesize').length);
    expect(perf.answers).toEqual([expect.objectContaining({ model: 'scripted-model', prompt_version: '1', turns: 3 })]);

    // Stats need admin or auditor; another workspace's token sees none of these.
    expect((await stats('summary', alice)).status).toBe(403);
    const other = await svc.token({ sub: 'root', workspaces: ['other'], roles: ['admin'] });
    expect((await json<{ counts: Record<string, number> }>(await stats('summary', other))).counts.chat_turns).toBe(0);
    expect((await stats('breakdown?by=nonsense')).status).toBe(400);
  });
});

const metric = async (series: string): Promise<number> => {
  const text = await (await svc.request('/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
};

function paymentAlert() {
  return {
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate"}',
    status: 'firing',
    receiver: 'hks-aiops',
    groupLabels: { alertname: 'HighErrorRate' },
    commonLabels: { alertname: 'HighErrorRate', severity: 'critical', namespace: 'shop' },
    commonAnnotations: { summary: 'Error ratio above 5%' },
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'HighErrorRate', severity: 'critical', service: 'payment', namespace: 'shop' },
        annotations: { description: 'payment fails more than 5% of its requests' },
        startsAt: new Date(T0 - 20 * 60_000).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: 'a1b2c3d4e5f60718',
      },
    ],
  };
}
