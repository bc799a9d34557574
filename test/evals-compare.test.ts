import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.ts';
import { buildService, listen } from '../src/runtime/service.ts';
import { loadOrCreateDevKeys, signDevToken } from '../src/auth/dev-keys.ts';
import type { EvalReport } from '../src/evals/report.ts';
import { capturingLogger, tempDir } from './helpers/service.ts';
import { citingDraft, ollamaServer, type OllamaRequest } from './helpers/ollama-server.ts';
import { policiesWith } from './helpers/fake-model.ts';

/*
 * Two versions of the synthesis prompt compared by the eval runner, with a model server that follows
 * the Ollama API and scripted replies: under v2 the model cites the evidence and copies its numbers;
 * under v3 (a copy of v2 told to write without evidence ids) it drops the citations and invents a
 * number. The runner must score v3 lower, and the paired statistics must say so.
 */

const SLOPPY_MARK = 'Write plainly, without evidence ids.';
const CASES = 6;

let server: Awaited<ReturnType<typeof ollamaServer>>;
let running: Awaited<ReturnType<typeof listen>>;
let token: string;
let evalsDir: string;

function sloppyDraft(user: string): string {
  const deploy = /payment version ([\d.]+) → ([\d.]+)/.exec(user);
  return `Likely cause: the payment rollout. Payment ${deploy?.[2] ?? 'the new version'} replaced ${deploy?.[1] ?? 'the old one'} and now fails 57% of charges. Impact: checkout fails with it. Next steps: roll payment back.`;
}

beforeAll(async () => {
  server = await ollamaServer((req: OllamaRequest) => {
    if (req.format) return { content: JSON.stringify({ agents: ['sre'], reason: 'errors in a service' }) };
    const system = req.messages.find((m) => m.role === 'system')!.content;
    const user = req.messages.find((m) => m.role === 'user')!.content;
    return { content: system.includes(SLOPPY_MARK) ? sloppyDraft(user) : citingDraft(user) };
  });
  // Prompts: the project's, plus synthesize v3 (v2 with its citation rule replaced).
  const prompts = tempDir('aiops-prompts-');
  for (const f of fs.readdirSync('prompts')) fs.copyFileSync(path.join('prompts', f), path.join(prompts, f));
  const v2 = fs.readFileSync('prompts/synthesize.v2.md', 'utf8');
  const v3 = v2
    .replace('version: 2', 'version: 3')
    .replace(/description: .*/, 'description: A variant for the eval test that tells the model to leave out evidence ids.')
    .replace(/1\. State only what the evidence shows\..*/, `1. State only what the evidence shows. ${SLOPPY_MARK}`);
  expect(v3).toContain(SLOPPY_MARK);
  fs.writeFileSync(path.join(prompts, 'synthesize.v3.md'), v3);
  // Cases: why-questions over the payment deploy, each with its own seed and end.
  evalsDir = tempDir('aiops-evals-');
  for (let i = 0; i < CASES; i++) {
    const dir = path.join(evalsDir, 'rca', `payment-${i}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'case.yaml'),
      `description: why payments fail (seed ${200 + i})
tags: [intent:rca]
input: { message: "why are payments failing?" }
telemetry: { scenario: payment-bad-deploy, seed: ${200 + i}, length: 75m, end: -${1 + i}m, scale: 0.1 }
expect:
  root_cause: { service: payment }
  facts:
    - text: "2.5.0"
  path: llm
`,
    );
  }
  const dataDir = tempDir();
  const config = loadConfig({
    AIOPS_DEMO: 'off',
    LOG_LEVEL: 'warn',
    PORT: '0',
    AIOPS_DATA_DIR: dataDir,
    AIOPS_POLICIES_DIR: policiesWith({
      'llm.yaml': 'model: qwen2.5:3b\ntimeout_ms: 10000\nretries: 0\nprompts: { route: 1, synthesize: 2 }\n',
    }),
    AIOPS_PROMPTS_DIR: prompts,
    AIOPS_EVALS_DIR: evalsDir,
    OLLAMA_URL: server.url,
  });
  const { logger } = capturingLogger();
  running = await listen(await buildService(config, logger, { defaultMetrics: false }), config, logger);
  await running.ready;
  token = await signDevToken(await loadOrCreateDevKeys(dataDir), {
    sub: 'ci',
    workspaces: ['eval-runner'],
    roles: ['eval'],
    ttlSeconds: 900,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
});

afterAll(async () => {
  await running?.stop();
  await server?.close();
});

const api = async <T>(method: string, p: string, body?: unknown): Promise<{ status: number; body: T }> => {
  const res = await fetch(new URL(p, running.url), {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
};

async function finished(runId: string): Promise<EvalReport> {
  for (;;) {
    const { body } = await api<{ status: string; report: EvalReport | null; error?: string }>('GET', `/v1/evals/runs/${runId}`);
    if (body.status === 'failed') throw new Error(body.error);
    if (body.status === 'done') return body.report!;
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('eval runs compare prompt versions', () => {
  it('scores the version that drops citations and invents a number lower, and the paired statistics say so', async () => {
    const started = await api<{ run_id: string; status: string }>('POST', '/v1/evals/runs', {
      variants: [
        { name: 'synthesize@v2', prompts: { synthesize: 2 } },
        { name: 'synthesize@v3', prompts: { synthesize: 3 } },
      ],
    });
    expect(started.status).toBe(202);
    expect(started.body.status).toBe('running');
    const report = await finished(started.body.run_id);
    const byVariant = (v: string) => report.results.filter((r) => r.variant === v);
    const v2 = byVariant('synthesize@v2');
    const v3 = byVariant('synthesize@v3');
    expect(v2).toHaveLength(CASES);
    expect(v3).toHaveLength(CASES);
    // Each answer records the version that wrote it.
    for (const r of v2) expect(r.prompts.find((p) => p.id === 'synthesize')?.version, r.missed.join('; ')).toBe(2);
    expect(v2.every((r) => r.pass)).toBe(true);
    expect(v3.every((r) => !r.pass)).toBe(true);
    // v3's answers lose their citations or fall back when the verifier drops the invented number.
    for (const r of v3) expect(r.missed.join('\n')).toMatch(/cites evidence|path llm|unsupported/);
    const summary = (v: string) => report.summaries.find((s) => s.variant === v && s.suite === 'all')!;
    expect(summary('synthesize@v2').pass_rate).toBe(1);
    expect(summary('synthesize@v3').pass_rate).toBe(0);
    expect(summary('synthesize@v2').tokens.llm_calls).toBeGreaterThan(0);
    const c = report.comparison!.all!;
    expect(c).toMatchObject({ cases: CASES, won: 0, lost: CASES, pass_rate_a: 1, pass_rate_b: 0 });
    expect(c.mcnemar_p).toBeCloseTo(2 / 2 ** CASES, 10);
    expect(c.difference.diff).toBe(-1);
    expect(c.difference.high).toBeLessThan(0);
    expect(c.changed.map((x) => x.case).sort()).toEqual(v2.map((r) => r.case).sort());

    // The stored run reads back, and compares with another stored run through the API.
    const second = await api<{ run_id: string }>('POST', '/v1/evals/runs', {
      variants: [{ name: 'synthesize@v3', prompts: { synthesize: 3 } }],
    });
    await finished(second.body.run_id);
    const listed = await api<{ runs: { run_id: string; status: string }[] }>('GET', '/v1/evals/runs');
    expect(listed.body.runs.map((r) => r.run_id)).toEqual(expect.arrayContaining([started.body.run_id, second.body.run_id]));
    const compared = await api<{ comparison: Record<string, { won: number; lost: number }> }>(
      'GET',
      `/v1/evals/runs/${started.body.run_id}/compare/${second.body.run_id}`,
    );
    expect(compared.status).toBe(200);
    expect(compared.body.comparison.all).toMatchObject({ won: 0, lost: CASES });
    const missing = await api<{ status: number; detail: string }>('GET', `/v1/evals/runs/run-nope/compare/${second.body.run_id}`);
    expect(missing.status).toBe(404);
  }, 300_000); // six cases in two variants, each seeded and answered through the service: minutes on a busy machine

  it('refuses a bad run request with the failing field, and prompt choice without the eval role', async () => {
    const bad = await api<{ errors: { field: string }[] }>('POST', '/v1/evals/runs', { repeat: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e) => e.field)).toContain('repeat');
    const none = await api<{ errors: { field: string }[] }>('POST', '/v1/evals/runs', { filter: { suite: 'nothing-here' } });
    expect(none.status).toBe(400);
    expect(none.body.errors[0]!.field).toBe('filter');
    const chatToken = await signDevToken(await loadOrCreateDevKeys(running.service.deps.config.dataDir), {
      sub: 'bob',
      workspaces: ['shop'],
      roles: ['sre'],
      ttlSeconds: 600,
      issuer: running.service.deps.config.AUTH_ISSUER,
      audience: running.service.deps.config.AUTH_AUDIENCE,
    });
    const res = await fetch(new URL('/v1/chat', running.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${chatToken}`, 'Content-Type': 'application/json', 'X-Eval-Prompts': 'synthesize=3' },
      body: JSON.stringify({ message: 'why are payments failing?' }),
    });
    expect(res.status).toBe(403);
    const missingVersion = await fetch(new URL('/v1/evals/runs', running.url), {
      headers: { Authorization: `Bearer ${token}`, 'X-Eval-Prompts': 'synthesize=9' },
    });
    expect(missingVersion.status).toBe(400);
    expect(((await missingVersion.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('X-Eval-Prompts');
  });
});
