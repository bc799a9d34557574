import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../src/clients/clickhouse.ts';
import { ToolRun } from '../src/tools/run.ts';
import { checkPolicyPatterns, regexProblem } from '../src/tools/regex.ts';
import { SUSPICIOUS_CONTENT } from '../src/agents/specialists/security/graph.ts';
import { ALL_TOOLS, asLangChainTools, TELEMETRY_TOOLS } from '../src/tools/registry.ts';
import { loadPolicies } from '../src/policies/load.ts';
import { SHOP } from '../src/demo/topology.ts';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { SCENARIO_END, seedScenario, tool } from './helpers/scenario.ts';

let svc: TestService;
const shopServices = SHOP.services.map((s) => s.name);

beforeAll(async () => {
  svc = await startTestService();
  await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'auth-bruteforce', 2);
});
afterAll(() => svc.close());

const store = () => svc.service.deps.store;
const window = { to: new Date(SCENARIO_END).toISOString(), last: '1h' };

describe('security and efficiency tools', () => {
  it('auth_failures finds the burst and its sources', async () => {
    const r = await tool(store(), 'auth_failures', window);
    const sources = r.evidence.filter((e) => e.kind === 'auth_burst').map((e) => e.attributes.source);
    expect(sources).toEqual(expect.arrayContaining(['203.0.113.45', '203.0.113.46']));
    expect(r.evidence.find((e) => e.kind === 'auth_failures_total')!.numbers.burst_sources).toBeGreaterThanOrEqual(2);
  });

  it('resource_efficiency finds nothing to fix in well-sized workloads', async () => {
    const r = await tool(store(), 'resource_efficiency', window);
    expect(r.evidence.filter((e) => e.kind === 'overprovisioned' || e.kind === 'underprovisioned')).toEqual([]);
    expect(r.notes[0]).toMatch(/sized within bounds/);
  });
});

describe('workspace isolation', () => {
  const attempts: Record<string, Record<string, unknown>[]> = {
    service_overview: [{}, { service: "payment' OR '1'='1" }, { service: 'payment) UNION ALL SELECT * FROM otel_traces --' }],
    log_search: [
      {},
      { text: "') OR 1=1 --" },
      { text: 'x FORMAT JSON' },
      { attributes: { "k8s.namespace.name'] = 'shop' OR ['a": 'shop' } },
      { service: 'frontend' },
    ],
    log_patterns: [{}, { service: '*/ SELECT 1 /*' }],
    metric_deviation: [{}, { metric: "%' OR 1=1 --" }],
    metric_series: [
      { service: 'currency', metric: 'k8s.pod.cpu.usage' },
      { service: "currency' OR 1=1 --", metric: 'k8s.pod.cpu.usage' },
    ],
    trace_hotspots: [{}, { service: 'payment' }],
    recent_changes: [{}],
    auth_failures: [{}],
    resource_efficiency: [{}],
    ranking: [{ by: 'latency', of: 'operation' }, { by: 'log_volume' }, { by: 'cpu' }, { by: 'errors', service: "payment' OR '1'='1" }],
    service_series: [{}, { service: 'payment' }, { service: "payment' OR 1=1 --" }],
    change_onset: [{}, { last: '10m', baseline_last: '2h' }],
  };

  it('with an analytics token, no tool returns anything of shop, whatever the arguments', async () => {
    let ran = 0;
    for (const t of TELEMETRY_TOOLS) {
      for (const args of attempts[t.name]!) {
        const r = await tool(store(), t.name, { ...window, ...args }, 'analytics');
        ran++;
        expect(r.workspace).toBe('analytics');
        const text = JSON.stringify(r.evidence);
        for (const s of shopServices.filter((s) => s !== 'frontend' && s !== 'cart'))
          expect(text, `${t.name} ${JSON.stringify(args)}`).not.toContain(`"service":"${s}"`);
        expect(text).not.toMatch(/203\.0\.113\.4|charge|checkout/i);
      }
    }
    expect(ran).toBe(Object.values(attempts).flat().length);
  });

  it('the same tools see shop data with a shop token (so the check above can fail)', async () => {
    const r = await tool(store(), 'service_overview', window, 'shop');
    expect(r.evidence.some((e) => e.service === 'checkout')).toBe(true);
  });

  it('injection strings are inert: treated as values, matching nothing', async () => {
    const r = await tool(store(), 'log_search', { ...window, text: "') UNION ALL SELECT Body FROM otel_logs --" }, 'shop');
    expect(r.evidence).toEqual([]);
    expect(r.notes).toEqual(['no log lines match']);
    const rows = await readRows<{ n: number }>(store(), { query: 'SELECT count() AS n FROM otel_logs' });
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
  });
});

describe('tool arguments and limits', () => {
  it('rejects unknown fields, bad durations and impossible windows with the field named', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['service_overview', { workspace: 'shop' }, '(body)'],
      ['service_overview', { last: 'yesterday' }, 'last'],
      ['service_overview', { from: '2026-11-22T06:00:00Z', to: '2026-11-22T05:00:00Z' }, 'from'],
      ['log_search', { trace_id: 'nothex' }, 'trace_id'],
      ['log_search', { limit: 5000 }, 'limit'],
      ['metric_series', { service: 'currency' }, 'metric'],
      ['service_overview', { last: '30d' }, 'last'],
    ];
    for (const [name, args, field] of cases) {
      const err = await tool(store(), name, args).catch((e: unknown) => e as { status: number; errors: { field: string }[] });
      expect(err, `${name} ${JSON.stringify(args)}`).toMatchObject({ status: 400 });
      expect((err as { errors: { field: string }[] }).errors.map((e) => e.field)).toContain(field);
    }
  });

  it('refuses a pattern RE2 cannot compile with a 400 naming `pattern`, judged by ClickHouse itself', async () => {
    const token = await svc.token({ roles: ['sre'] });
    const post = (body: unknown) =>
      svc.request('/v1/tools/log_search', {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Unbalanced, look-ahead (JavaScript has it, RE2 does not), a repetition past RE2's limit.
    for (const pattern of ['(a', 'a(?=b)', 'x{1001}']) {
      const res = await post({ ...window, pattern });
      expect(res.status, pattern).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await json(res)).toMatchObject({
        type: 'urn:hks-aiops:problem:validation',
        errors: [{ field: 'pattern', message: expect.stringMatching(/^not a valid RE2 regular expression: /) }],
      });
    }
    // The same answer where no row reaches the pattern (ClickHouse alone would not compile it there).
    const empty = await post({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:30:00Z', pattern: '(a' });
    expect(empty.status).toBe(400);
    // RE2 syntax that JavaScript refuses is fine.
    expect((await post({ ...window, pattern: '(?P<verb>GET|POST) /' })).status).toBe(200);
  });

  it('maps a compile error of a tool query to the argument that carried the pattern', async () => {
    const run = new ToolRun(
      { store: store(), workspace: 'shop', tenantAttribute: 'k8s.namespace.name', trackingId: 't', policy: loadPolicies('policies').tools },
      'log_search',
      'ls',
      {},
      '30m',
      undefined,
      { pattern: 'charge (fail' },
    );
    const err = await run
      .query("SELECT count() AS n FROM otel_logs WHERE {workspace:String} != '' AND match(Body, {p:String})", { p: 'charge (fail' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      status: 400,
      type: 'validation',
      errors: [{ field: 'pattern', message: expect.stringMatching(/missing \)/) }],
    });
  });

  it('every pattern a playbook or the policy sends compiles in RE2, and a broken policy pattern stops the start', async () => {
    const policy = loadPolicies('policies').tools;
    expect(await regexProblem(store(), SUSPICIOUS_CONTENT)).toBeUndefined();
    expect(await regexProblem(store(), policy.auth_failures.body_pattern)).toBeUndefined();
    // The security playbook's step, as it runs.
    const r = await tool(store(), 'log_search', { ...window, pattern: SUSPICIOUS_CONTENT, severity: 'WARN', limit: 10 });
    expect(r.tool).toBe('log_search');
    await expect(
      checkPolicyPatterns(store(), { ...policy, auth_failures: { ...policy.auth_failures, body_pattern: 'login (failed' } }),
    ).rejects.toThrow(/tools\.yaml: auth_failures\.body_pattern: not a valid RE2 regular expression/);
  });

  it('a query past its time limit is a clear 504, not a hang', async () => {
    const policy = loadPolicies('policies').tools;
    const run = new ToolRun(
      {
        store: store(),
        workspace: 'shop',
        tenantAttribute: 'k8s.namespace.name',
        trackingId: 't',
        policy: { ...policy, defaults: { ...policy.defaults, max_execution_time_s: 1 } },
      },
      'slow_tool',
      'x',
      {},
      '30m',
    );
    const started = Date.now();
    const err = await run.query("SELECT count() FROM numbers(1000000000000) WHERE {workspace:String} != ''").catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(err).toMatchObject({ status: 504, detail: expect.stringMatching(/ran past its 1 s query limit/) });
  });

  it('refuses a query without the workspace filter', async () => {
    const run = new ToolRun(
      { store: store(), workspace: 'shop', tenantAttribute: 'k8s.namespace.name', trackingId: 't', policy: loadPolicies('policies').tools },
      't',
      'x',
      {},
      '30m',
    );
    await expect(run.query('SELECT 1')).rejects.toThrow(/without the workspace filter/);
  });

  it('keeps the rendering within its token budget however many findings there are', async () => {
    const r = await tool(store(), 'log_patterns', { ...window, top: 50 });
    expect(r.rendered.length / 3.6).toBeLessThan(1500);
  });
});

describe('the tools over HTTP and as LangChain tools', () => {
  it('lists the tools with their argument schemas and what the caller may run', async () => {
    const token = await svc.token({ roles: ['security'] });
    const list = await json<{ tools: { name: string; allowed: boolean; arguments: { properties: Record<string, unknown> } }[] }>(
      await svc.request('/v1/tools', { token }),
    );
    expect(list.tools.map((t) => t.name)).toEqual(ALL_TOOLS.map((t) => t.name));
    expect(list.tools).toHaveLength(14);
    expect(list.tools.find((t) => t.name === 'auth_failures')!.allowed).toBe(true);
    expect(list.tools.find((t) => t.name === 'search_runbooks')!.allowed).toBe(true);
    expect(list.tools.find((t) => t.name === 'similar_incidents')!.allowed).toBe(true);
    expect(list.tools.find((t) => t.name === 'metric_deviation')!.allowed).toBe(false);
    expect(Object.keys(list.tools.find((t) => t.name === 'log_search')!.arguments.properties)).toContain('trace_id');
    for (const t of list.tools) expect(Object.keys(t.arguments.properties)).not.toContain('workspace');
  });

  it('runs a tool for the token’s workspace, and answers 400, 403 and 404 clearly', async () => {
    const sre = await svc.token({ roles: ['sre'] });
    const post = (name: string, body: unknown, token = sre) =>
      svc.request(`/v1/tools/${name}`, {
        method: 'POST',
        token,
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post('service_overview', window);
    expect(ok.status).toBe(200);
    const result = await json<{ workspace: string; evidence: unknown[]; stats: { query_ids: string[] } }>(ok);
    expect(result.workspace).toBe('shop');
    expect(result.stats.query_ids[0]).toMatch(/:service_overview:1$/);
    expect((await post('service_overview', { last: 'soon' })).status).toBe(400);
    expect((await post('no_such_tool', {})).status).toBe(404);
    expect((await post('service_overview', {}, await svc.token({ roles: ['viewer'] }))).status).toBe(403);
    expect((await post('auth_failures', window, await svc.token({ roles: ['security'] }))).status).toBe(200);
  });

  it('gives LangChain tools bound to the caller’s scope, whose schema has no workspace', async () => {
    const tools = asLangChainTools(
      {
        store: store(),
        workspace: 'analytics',
        tenantAttribute: 'k8s.namespace.name',
        trackingId: 'lc',
        policy: loadPolicies('policies').tools,
        now: SCENARIO_END,
      },
      ['service_overview'],
    );
    const message = await tools[0]!.invoke({ type: 'tool_call', id: 'call-1', name: 'service_overview', args: { last: '1h' } });
    expect(message.content).toMatch(/^service_overview analytics /);
    expect(message.artifact.workspace).toBe('analytics');
    await expect(tools[0]!.invoke({ workspace: 'shop' })).rejects.toThrow(/workspace/);
  });
});
