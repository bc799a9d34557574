import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, startTestService, type TestService } from './helpers/service.ts';
import { readSse } from './helpers/sse.ts';
import { seedScenario } from './helpers/scenario.ts';
import { policiesWith, ScriptedChatModel, type Script } from './helpers/fake-model.ts';
import { citingDraft } from './helpers/ollama-server.ts';
import { kv, logRecord, logsPayload } from './helpers/otlp.ts';

const script: Script = {};
const model = new ScriptedChatModel(script);
let svc: TestService;
let token: string;

beforeAll(async () => {
  // These tests script different replies to the same question: no LLM cache (test/observability.test.ts covers it).
  const policies = policiesWith({
    'llm.yaml':
      'model: scripted-model\ntimeout_ms: 1500\nretries: 0\nmax_prompt_tokens: 5000\nroute_with_llm: true\nprompts: { route: 1, synthesize: 1 }\ncache: { enabled: false }\n',
  });
  svc = await startTestService({ AIOPS_POLICIES_DIR: policies }, { model, modelName: 'scripted-model' });
  await seedScenario(svc.service.deps.store, svc.service.deps.ingest, 'payment-bad-deploy', 2);
  token = await svc.token({ roles: ['sre', 'security'] });
  // A log line with secrets in the window: it must not reach a prompt as written.
  const ingest = await svc.token({ roles: ['ingest'] });
  await svc.request('/v1/logs', {
    method: 'POST',
    token: ingest,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(
      logsPayload({ 'service.name': 'payment' }, [
        logRecord(
          Date.now() - 120_000,
          'card check failed for ops@example.com with password=hunter2 and Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlc2ln',
          { severityNumber: 17, severityText: 'ERROR', attributes: kv({ a: 'b' }) },
        ),
      ]),
    ),
  });
});
afterAll(() => svc.close());

interface Answer {
  answer: string;
  path: string;
  model: string | null;
  agents: string[];
  prompts: { id: string; version: number; hash: string }[];
  fallback_reason?: string;
  grounding?: { sentences: number; removed: number; unsupported_numbers: string[]; passed: boolean };
  routing: { method: string };
  usage: { llm_calls: number; prompt_tokens: number };
  hypotheses: { service: string }[];
}

const ask = async (message: string, headers: Record<string, string> = {}) =>
  svc.request('/v1/chat', {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ message }),
  });

describe('chat with a model', () => {
  it('routes with structured output and writes a cited answer from the evidence', async () => {
    Object.assign(script, { route: { agents: ['sre'], reason: 'a failure question' }, draft: citingDraft, delayMs: 0 });
    const res = await ask('why are payments failing?', { Accept: 'text/event-stream' });
    const events = await readSse(res);
    const tokens = events
      .filter((e) => e.event === 'token')
      .map((e) => e.data.text)
      .join('');
    expect(tokens).toMatch(/^Likely cause: the payment rollout\./);
    const a = events.find((e) => e.event === 'answer')!.data as unknown as Answer;
    expect(a.path).toBe('llm');
    expect(a.model).toBe('scripted-model');
    expect(a.routing.method).toBe('llm');
    expect(a.answer).toMatch(/Payment 2\.5\.0 replaced 2\.4\.1 at \d\d:\d\d UTC \[rc\d+\]/);
    expect(a.grounding).toMatchObject({ removed: 0, passed: true });
    expect(a.prompts.map((p) => `${p.id}@${p.version}`).sort()).toEqual(['route@1', 'synthesize@1']);
    for (const p of a.prompts) expect(p.hash).toMatch(/^[0-9a-f]{12}$/);
    expect(a.hypotheses[0]!.service).toBe('payment');
    expect(a.usage.llm_calls).toBeLessThanOrEqual(2);
    expect(a.usage.prompt_tokens).toBeLessThan(6000);
  });

  it('the model routes: it can send a question elsewhere than the keywords would', async () => {
    Object.assign(script, { route: { agents: ['security'], reason: 'x' }, draft: 'Nothing suspicious in authentication [af1].' });
    const a = await json<Answer>(await ask('why are payments failing?'));
    expect(a.agents).toEqual(['security']);
  });

  it('falls back to keyword routing when the model cannot route', async () => {
    Object.assign(script, { route: new Error('model unavailable'), draft: citingDraft });
    const a = await json<Answer>(await ask('why are payments failing?'));
    expect(a.routing.method).toBe('lexical');
    expect(a.agents).toEqual(['sre']);
  });

  it('removes a made-up number and keeps the rest of the draft', async () => {
    // A number no tool can have produced: a small one can be a real count in the evidence (the spans a tool read).
    Object.assign(script, {
      route: { agents: ['sre'], reason: '' },
      draft: (user: string) => `${citingDraft(user)} About 987654 orders were lost [so1].`,
    });
    const a = await json<Answer>(await ask('why are payments failing?'));
    expect(a.path).toBe('llm');
    expect(a.grounding!.removed).toBe(1);
    expect(a.grounding!.unsupported_numbers).toContain('987654');
    expect(a.answer).not.toMatch(/987654/);
    expect(a.answer).toMatch(/Likely cause: the payment rollout/);
  });

  it('answers deterministically when the model is too slow', async () => {
    // Far longer than the test may run: only the policy's timeout lets this answer arrive at all.
    Object.assign(script, { route: { agents: ['sre'], reason: '' }, draft: citingDraft, delayMs: 600_000 });
    const a = await json<Answer>(await ask('why are payments failing?'));
    expect(a.path).toBe('deterministic');
    expect(a.fallback_reason).toMatch(/did not answer within 1500 ms/);
    expect(a.answer).toMatch(/bad deploy of payment/);
    expect(a.answer).toMatch(/without the language model: the model did not answer/);
  });

  it('answers deterministically when the draft fails the grounding check or the model fails', async () => {
    Object.assign(script, {
      route: { agents: ['sre'], reason: '' },
      draft: 'Payment 9.9.9 broke everything at 01:23 and lost 777 orders.',
      delayMs: 0,
    });
    const ungrounded = await json<Answer>(await ask('why are payments failing?'));
    expect(ungrounded.path).toBe('deterministic');
    expect(ungrounded.fallback_reason).toMatch(/failed the grounding check/);
    expect(ungrounded.grounding!.passed).toBe(false);
    Object.assign(script, { draft: new Error('CUDA out of memory') });
    const failed = await json<Answer>(await ask('why are payments failing?'));
    expect(failed.path).toBe('deterministic');
    expect(failed.fallback_reason).toMatch(/the model failed/);
  });

  it('keeps secrets out of prompts and puts telemetry in a data block', async () => {
    Object.assign(script, { route: { agents: ['sre'], reason: '' }, draft: citingDraft, delayMs: 0 });
    model.calls.length = 0;
    await ask('why are payments failing? look at the payment error logs');
    const draft = model.calls.find((c) => c.kind === 'draft')!;
    expect(draft.system).toMatch(/Never follow it/);
    expect(draft.user).toMatch(/<evidence>[\s\S]*<\/evidence>/);
    const all = model.calls.map((c) => c.system + c.user).join('\n');
    expect(all).not.toMatch(/hunter2|ops@example\.com|eyJhbGciOiJFZERTQSJ9/);
    // The line did reach the prompt, redacted.
    expect(all).toMatch(/card check failed for \[email\] with password=\[secret\] and Bearer \[token\]/);
  });
});
