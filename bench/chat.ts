/**
 * A chat turn end to end through POST /v1/chat (SSE): time to the first event
 * and to the final answer at 1M and 10M log records, without a model; then
 * model calls and prompt tokens per turn with a counting stand-in model.
 *
 *   npm run bench:chat -- [--sizes 1000000,10000000] [--runs 5] [--quick]
 */
import { benchService, options, percentile, report, round } from './lib.ts';
import { BenchData } from './data.ts';
import { ScriptedChatModel } from '../test/helpers/fake-model.ts';
import { citingDraft } from '../test/helpers/ollama-server.ts';

const opts = options({ sizes: { type: 'string', default: '1000000,10000000' }, runs: { type: 'string', default: '5' } });
const sizes = opts.quick ? [60_000] : opts.sizes.split(',').map(Number);
const runs = opts.quick ? 2 : Number(opts.runs);
/** A root-cause question, then questions of other intents (they run fewer tools). */
const QUESTIONS = [
  'why are payments failing?',
  'is checkout slow?',
  'what changed in the shop in the last hour?',
  'show me the slowest endpoints',
  'show me the error logs of payment',
];

const model = new ScriptedChatModel({ route: { agents: ['sre'], reason: 'failures' }, draft: citingDraft });
const { service, token } = await benchService();
const data = new BenchData(service.deps.store, service.deps.ingest);
await data.seed('payment-bad-deploy', opts.quick ? 1 : 6, Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
const sre = await token(['sre']);

async function turn(app: typeof service.app, message: string) {
  const started = performance.now();
  const res = await app.request('/v1/chat', {
    method: 'POST',
    headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json', Accept: 'text/event-stream' },
    body: JSON.stringify({ message }),
  });
  let first = 0;
  let text = '';
  for await (const chunk of res.body!) {
    if (!first) first = performance.now() - started;
    text += new TextDecoder().decode(chunk);
  }
  const answer = JSON.parse(/event: answer\ndata: (.*)\n/.exec(text)![1]!) as {
    path: string;
    intent: string;
    hypotheses: { service: string }[];
    usage: { llm_calls: number; prompt_tokens: number };
  };
  return { first, total: performance.now() - started, answer };
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const p95 = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    95,
  );
const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  await data.grow(size);
  const firsts: number[] = [];
  const totals: number[] = [];
  const byQuestion = new Map<string, { intent: string; ms: number[] }>();
  await turn(service.app, QUESTIONS[0]!);
  for (let i = 0; i < runs; i++) {
    for (const q of QUESTIONS) {
      const t = await turn(service.app, q);
      firsts.push(t.first);
      totals.push(t.total);
      const entry = byQuestion.get(q) ?? { intent: t.answer.intent, ms: [] };
      entry.ms.push(t.total);
      byQuestion.set(q, entry);
      if (q === QUESTIONS[0] && t.answer.hypotheses[0]?.service !== 'payment') throw new Error('the benchmark data lost its fault');
    }
  }
  results.push({
    target_log_records: size,
    ...(await data.volume()),
    first_event_ms: { p50: round(median(firsts)), p95: round(p95(firsts)) },
    answer_ms: { p50: round(median(totals)), p95: round(p95(totals)) },
    // Each question's own answer time: a status, ranking or logs turn runs a few tools, a root cause the playbook.
    by_question: [...byQuestion].map(([question, e]) => ({
      question,
      intent: e.intent,
      p50: round(median(e.ms)),
      p95: round(p95(e.ms)),
    })),
  });
}

// Model calls and prompt tokens per turn, with a stand-in model that counts.
const { createApp } = await import('../src/api/app.ts');
const { ChatService } = await import('../src/conversations/chat.ts');
const { buildChatGraph } = await import('../src/agents/orchestrator/graph.ts');
const { MemorySaver } = await import('@langchain/langgraph');
const { SqliteThreadIndex } = await import('../src/storage/threads.ts');
const { default: Database } = await import('better-sqlite3');
const { PromptRegistry } = await import('../src/prompts/registry.ts');
const deps = service.deps;
const withModel = new ChatService(
  {
    store: deps.store,
    policies: deps.policies,
    prompts: new PromptRegistry(deps.config.AIOPS_PROMPTS_DIR, deps.policies.llm.prompts),
    model,
    modelName: 'counting-model',
    tenantAttribute: deps.config.TENANT_ATTRIBUTE,
    logger: deps.logger,
    knowledge: deps.knowledge,
  },
  buildChatGraph(new MemorySaver()),
  new SqliteThreadIndex(new Database(':memory:')),
);
const llmApp = createApp({ ...deps, chat: withModel });
const usage: { calls: number; prompt: number; path: string }[] = [];
for (const q of QUESTIONS) {
  const t = await turn(llmApp, q);
  usage.push({ calls: t.answer.usage.llm_calls, prompt: t.answer.usage.prompt_tokens, path: t.answer.path });
}
await service.close();
report('chat', {
  quick: opts.quick,
  runs,
  questions: QUESTIONS,
  sizes: results,
  model_turns: {
    llm_calls_max: Math.max(...usage.map((u) => u.calls)),
    prompt_tokens_max: Math.max(...usage.map((u) => u.prompt)),
    prompt_tokens_mean: round(usage.reduce((a, u) => a + u.prompt, 0) / usage.length),
    paths: usage.map((u) => u.path),
  },
});
