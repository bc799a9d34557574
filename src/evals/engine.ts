import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Evidence } from '../core/evidence.ts';
import { readEvents, ServiceClient } from '../clients/service.ts';
import { covered, evaluateRetrieval, loadCases as loadRetrievalCases, matchCase, type RetrievalCase } from '../knowledge/eval.ts';
import { type CaseFilter, type LoadedCase, loadCases, windowEnd } from './case.ts';
import { compareResults, type EvalReport, summarise, type Variant } from './report.ts';
import { type AnswerLike, type CaseResult, failedCase, type Observed, type Price, scoreCase } from './score.ts';

/*
 * The eval runner: every case against the running service over HTTP, in a workspace of its own
 * (minted per case, variant and repeat, so no case sees another's telemetry or incidents), scored
 * deterministically. Prompt versions and the model of a variant travel as headers the service honours
 * for the eval role only.
 */

/** The parts of a briefing (GET /v1/briefings/{id}) an eval scores. */
interface BriefingLike {
  id: string;
  summary: string;
  incidents: { severity: string; status: string; origin: string; kind: string; summary: string; evidence_ids: string[] }[];
  recommendations: { text: string }[];
  evidence: Evidence[];
  path: string;
  model: string | null;
  prompts: { id: string; version: number; hash: string }[];
}

export interface RunOptions {
  runId: string;
  /** Where the service listens. */
  baseUrl: string;
  /** A token for one workspace with these roles (dev mode: signed with the data folder's key). */
  mint: (workspace: string, roles: string[]) => Promise<string>;
  /** The evals folder. */
  root: string;
  filter?: CaseFilter;
  variants: Variant[];
  repeat?: number;
  price: Price;
  /** The knowledge policy's match threshold: what an answer would cite (knowledge suite). */
  matchThreshold?: number;
  /** Service names a check of unsupported names looks for in answers. */
  knownServices: string[];
  commit?: string;
  /** Cases run at once (each seeds its own workspace first). */
  concurrency?: number;
  /** Longest wait for one case's answer. */
  caseTimeoutMs?: number;
  onProgress?: (p: Progress) => void;
  /** Called with each result as it is scored (the service stores them as rows). */
  onResult?: (r: CaseResult) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface Progress {
  done: number;
  total: number;
  passed: number;
  current?: string;
}

interface KnowledgeCase {
  id: string;
  suite: 'knowledge';
  tags: string[];
  spec: RetrievalCase;
}

const RETRIEVAL_FILE = path.join('knowledge', 'runbook-queries.yaml');

/** The knowledge suite: the labelled runbook queries, one case each (knowledge/q01…). */
export function knowledgeCases(root: string, filter: CaseFilter = {}): KnowledgeCase[] {
  const file = path.join(root, RETRIEVAL_FILE);
  if ((filter.suite && filter.suite !== 'knowledge') || !fs.existsSync(file)) return [];
  return loadRetrievalCases(file)
    .map((spec, i) => ({
      id: `knowledge/q${String(i + 1).padStart(2, '0')}`,
      suite: 'knowledge' as const,
      tags: ['retrieval', covered(spec) ? 'covered' : 'uncovered', spec.alertname ? 'alert' : 'question'],
      spec,
    }))
    .filter(
      (c) =>
        (!filter.caseId || c.id === filter.caseId || c.id.endsWith(`/${filter.caseId}`)) && (!filter.tag || c.tags.includes(filter.tag)),
    );
}

/** A workspace name for one case, variant and repeat of a run. */
export function caseWorkspace(runId: string, caseId: string, variant: number, repeat: number): string {
  const h = createHash('sha256').update(`${runId}/${caseId}/${variant}/${repeat}`).digest('hex').slice(0, 10);
  return `eval-${h}`;
}

/** Variant headers: prompt versions and model, honoured for the eval role. */
export function variantHeaders(v: Variant): Record<string, string> {
  const h: Record<string, string> = {};
  const prompts = Object.entries(v.prompts);
  if (prompts.length) h['X-Eval-Prompts'] = prompts.map(([id, ver]) => `${id}=${ver}`).join(',');
  if (v.model) h['X-Eval-Model'] = v.model;
  return h;
}

/** Moves every timeUnixNano of an OTLP body so its latest record lands at `end` (ms). */
export function shiftOtlp(body: Record<string, unknown>, end: number): Record<string, unknown> {
  let latest = 0n;
  const visit = (x: unknown, fn: (o: Record<string, unknown>, k: string) => void) => {
    if (Array.isArray(x)) for (const y of x) visit(y, fn);
    else if (x && typeof x === 'object') {
      for (const [k, v] of Object.entries(x)) {
        if (
          (k === 'timeUnixNano' || k === 'startTimeUnixNano' || k === 'endTimeUnixNano' || k === 'observedTimeUnixNano') &&
          v !== undefined
        )
          fn(x as Record<string, unknown>, k);
        else visit(v, fn);
      }
    }
  };
  const copy = structuredClone(body);
  visit(copy, (o, k) => {
    const t = BigInt(String(o[k]));
    if (t > latest) latest = t;
  });
  const shift = BigInt(end) * 1_000_000n - latest;
  visit(copy, (o, k) => {
    if (String(o[k]) !== '0') o[k] = String(BigInt(String(o[k])) + shift);
  });
  return copy;
}

class CaseRunner {
  constructor(
    private readonly opts: RunOptions,
    private readonly c: LoadedCase,
    private readonly variant: Variant,
    private readonly workspace: string,
  ) {}

  private client(roles: string[]) {
    return new ServiceClient(this.opts.baseUrl, () => this.opts.mint(this.workspace, roles));
  }

  /** Loads the case's telemetry into its workspace: the simulator's scenario, then any OTLP fixture. */
  async seed(now: number): Promise<void> {
    const t = this.c.telemetry;
    const end = windowEnd(this.c, now);
    if (t.scenario) {
      await this.client(['eval']).json('POST', '/v1/evals/telemetry', {
        scenario: t.scenario,
        seed: t.seed,
        length: t.length,
        end: new Date(end).toISOString(),
        ...(t.scale ? { scale: t.scale } : {}),
      });
    }
    if (t.otlp) {
      const body = JSON.parse(fs.readFileSync(path.join(this.c.dir, t.otlp), 'utf8')) as Record<string, unknown>;
      const shifted = shiftOtlp(body, end);
      const ingest = this.client(['ingest']);
      for (const [key, route] of [
        ['resourceLogs', '/v1/logs'],
        ['resourceSpans', '/v1/traces'],
        ['resourceMetrics', '/v1/metrics'],
      ] as const) {
        if (shifted[key]) await ingest.json('POST', route, { [key]: shifted[key] });
      }
    }
  }

  /** Asks the case's question (after its earlier turns) and collects what the turn showed. */
  async ask(): Promise<Observed> {
    const roles = [...new Set([...this.c.roles, 'eval'])];
    const chat = this.client(roles);
    const headers = { ...variantHeaders(this.variant), 'X-Workspace': this.workspace };
    const input = this.c.input;
    if (input.alert) return this.alert(headers);
    if (input.briefing) return this.briefing(headers, input.briefing.period);
    const asked = [...(input.conversation ?? []), input.message!];
    let threadId: string | undefined;
    let last: Observed | undefined;
    for (const message of asked) {
      const started = performance.now();
      const res = await chat.request(
        'POST',
        threadId ? `/v1/threads/${threadId}/messages` : '/v1/chat',
        threadId ? { message } : { message },
        { ...headers, Accept: 'text/event-stream' },
      );
      if (!res.ok || !res.body) throw new Error(`chat answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      const evidence: Evidence[] = [];
      const tools: string[] = [];
      let answer: AnswerLike | undefined;
      for await (const e of readEvents(res.body)) {
        if (e.event === 'agent.step' && typeof e.data.tool === 'string' && !tools.includes(e.data.tool)) tools.push(e.data.tool);
        if (e.event === 'evidence') evidence.push(...((e.data.items as Evidence[]) ?? []));
        if (e.event === 'answer') answer = e.data as unknown as AnswerLike;
        if (e.event === 'error') throw new Error(`the answer failed: ${String(e.data.detail)}`);
      }
      if (!answer) throw new Error('the stream ended without an answer');
      threadId = answer.thread_id;
      // What the answer rests on: its own evidence list (a follow-up cites the earlier turn's), else what streamed.
      last = { answer, evidence: answer.evidence ?? evidence, tools, asked, latencyMs: performance.now() - started };
    }
    return last!;
  }

  /**
   * Writes a briefing of the period that ends at the case's telemetry end;
   * its incidents are the candidates (by severity), its summary, incidents
   * and recommendations the text scored.
   */
  private async briefing(headers: Record<string, string>, period: string): Promise<Observed> {
    const started = performance.now();
    const b = await this.client([...new Set([...this.c.roles, 'sre', 'eval'])]).json<BriefingLike>(
      'POST',
      '/v1/briefings',
      { period, end: new Date(windowEnd(this.c, Date.now())).toISOString() },
      headers,
    );
    const rank = { critical: 0, major: 1, minor: 2, info: 3 } as Record<string, number>;
    const incidents = [...b.incidents].sort((x, y) => (rank[x.severity] ?? 4) - (rank[y.severity] ?? 4));
    const text = [
      b.summary,
      ...incidents.map((i) => `Incident (${i.severity}, ${i.status}), probable origin ${i.origin}: ${i.summary}`),
      ...b.recommendations.map((r) => r.text),
    ].join('\n\n');
    return {
      answer: {
        answer: text,
        thread_id: b.id,
        hypotheses: incidents.map((i, k) => ({
          service: i.origin,
          kind: i.kind,
          score: 1 - k / (incidents.length + 1),
          evidence_ids: i.evidence_ids,
          summary: i.summary,
          agent: 'briefing',
        })),
        evidence_ids: b.evidence.map((e) => e.id),
        agents: ['briefing'],
        path: b.path === 'model' ? 'llm' : 'deterministic',
        model: b.model,
        prompts: b.prompts,
        tracking_id: b.id,
        usage: { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0 },
        approvals: [],
        refused_actions: [],
        evidence: b.evidence,
      },
      evidence: b.evidence,
      tools: [],
      asked: [],
      latencyMs: performance.now() - started,
    };
  }

  /** Sends the case's alert and waits for the investigation's answer on its thread. */
  private async alert(headers: Record<string, string>): Promise<Observed> {
    const alert = this.c.input.alert!;
    const started = performance.now();
    const sent = await this.client(['alerts', 'eval']).json<{ thread_id: string | null; outcome: string }>(
      'POST',
      '/v1/alerts',
      { ...alert, id: `${this.workspace}-alert` },
      headers,
    );
    if (!sent.thread_id) throw new Error(`the alert was not investigated (${sent.outcome})`);
    const reader = this.client([...new Set([...this.c.roles, 'eval'])]);
    const deadline = Date.now() + (this.opts.caseTimeoutMs ?? 180_000);
    while (Date.now() < deadline) {
      const view = await reader.json<{
        messages: { role: string; meta?: Record<string, unknown>; content: string }[];
        evidence: Evidence[];
      }>('GET', `/v1/threads/${sent.thread_id}`, undefined, headers);
      const answer = view.messages.find((m) => m.role === 'assistant' && m.meta);
      if (answer) {
        const meta = answer.meta as unknown as AnswerLike;
        const tools = [...new Set(view.evidence.map((e) => e.tool))];
        return {
          answer: { ...meta, answer: answer.content, thread_id: sent.thread_id },
          evidence: view.evidence,
          tools,
          asked: [alert.title, alert.description ?? ''],
          latencyMs: performance.now() - started,
        };
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error('no answer on the alert thread in time');
  }
}

async function runKnowledgeCase(
  opts: RunOptions,
  k: KnowledgeCase,
  variant: Variant,
  repeat: number,
  workspace: string,
): Promise<CaseResult> {
  const client = new ServiceClient(opts.baseUrl, () => opts.mint(workspace, ['sre']));
  const q = k.spec.query ?? k.spec.alertname!;
  const started = performance.now();
  const search = async (n: number) => {
    const params = new URLSearchParams({ q, k: String(n), mode: 'lexical' });
    if (k.spec.alertname) params.set('alertname', k.spec.alertname);
    return (
      await client.json<{ hits: { path: string; match: string; match_score: number }[] }>(
        'GET',
        `/v1/runbooks/search?${params}`,
        undefined,
        {
          'X-Workspace': workspace,
        },
      )
    ).hits;
  };
  const ranked = await search(10);
  const graded = await search(3);
  const latency = performance.now() - started;
  const docs = [...new Set(ranked.map((h) => h.path.replace(/^.*\//, '')))];
  const m = matchCase(k.spec, graded);
  // What an answer would cite: the first document that is an exact match, or whose score reaches the policy's threshold.
  const cited = m.docs.find((d) => d.exact || d.score >= (opts.matchThreshold ?? 0.32))?.name ?? null;
  const checks = covered(k.spec)
    ? [
        {
          name: `a right runbook in the first three (${k.spec.expect.join(' or ')})`,
          pass: docs.slice(0, 3).some((d) => k.spec.expect.includes(d)),
          detail: `got ${docs.slice(0, 3).join(', ')}`,
        },
        { name: 'cites a right runbook', pass: cited !== null && k.spec.expect.includes(cited), detail: `cites ${cited ?? 'none'}` },
      ]
    : [{ name: 'cites no runbook (none covers it)', pass: cited === null, detail: `cites ${cited ?? 'none'}` }];
  const failed = checks.filter((c) => !c.pass);
  const rank = docs.findIndex((d) => k.spec.expect.includes(d)) + 1;
  return {
    case: k.id,
    suite: 'knowledge',
    variant: variant.name,
    repeat,
    tags: k.tags,
    workspace,
    pass: failed.length === 0,
    checks,
    missed: failed.map((c) => `${c.name}: ${c.detail}`),
    rca_rank: null,
    expects_fault: null,
    abstained: false,
    unsupported: { verifier: 0, numbers: [], services: [] },
    tools: ['runbook_search'],
    latency_ms: Math.round(latency),
    usage: { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0 },
    cost: 0,
    path: 'retrieval',
    model: null,
    prompts: [],
    tracking_id: '',
    thread_id: '',
    answer: `rank ${rank || '-'}; ${docs.slice(0, 3).join(', ')}`,
    retrieval: { docs, cited },
  };
}

/** The knowledge suite's figures, scored as test/knowledge.test.ts and bench:knowledge score them. */
async function retrievalFigures(results: CaseResult[], cases: KnowledgeCase[]): Promise<Record<string, number>> {
  const byId = new Map(results.map((r) => [r.case, r]));
  const ran = cases.filter((k) => byId.has(k.id));
  const report = await evaluateRetrieval(
    ran.map((k) => k.spec),
    async (spec) => byId.get(ran.find((k) => k.spec === spec)!.id)!.retrieval!.docs,
  );
  // What an answer would cite (the first exact or strong match), as matchReport counts it.
  const cov = ran.filter((k) => covered(k.spec));
  const unc = ran.filter((k) => !covered(k.spec));
  const citedOf = (k: KnowledgeCase) => byId.get(k.id)!.retrieval!.cited;
  const share = (n: number, d: number) => (d ? Math.round((n / d) * 1000) / 1000 : 0);
  const m = {
    cited_recall: share(cov.filter((k) => k.spec.expect.includes(citedOf(k) ?? '')).length, cov.length),
    wrong_citation_rate: share(cov.filter((k) => citedOf(k) !== null && !k.spec.expect.includes(citedOf(k)!)).length, cov.length),
    false_match_rate: share(unc.filter((k) => citedOf(k) !== null).length, unc.length),
  };
  return {
    recall_at_1: report.recall_at_1,
    recall_at_3: report.recall_at_3,
    mrr: report.mrr,
    cited_recall: m.cited_recall,
    wrong_citation_rate: m.wrong_citation_rate,
    false_match_rate: m.false_match_rate,
  };
}

/** Runs the selected cases for every variant and repeat; resolves with the report. */
export async function runEval(opts: RunOptions): Promise<EvalReport> {
  const started = Date.now();
  const cases = loadCases(opts.root, opts.filter);
  const knowledge = knowledgeCases(opts.root, opts.filter);
  const repeat = opts.repeat ?? 1;
  type Job = { run: () => Promise<CaseResult>; label: string };
  const jobs: Job[] = [];
  opts.variants.forEach((variant, vi) => {
    for (let rep = 0; rep < repeat; rep++) {
      for (const c of cases) {
        const workspace = caseWorkspace(opts.runId, c.id, vi, rep);
        const ctx = { variant: variant.name, repeat: rep, workspace };
        jobs.push({
          label: `${c.id} [${variant.name}]`,
          run: async () => {
            const runner = new CaseRunner(opts, c, variant, workspace);
            try {
              await runner.seed(Date.now());
              const observed = await withTimeout(runner.ask(), opts.caseTimeoutMs ?? 180_000, c.id);
              return scoreCase(c, observed, { ...ctx, knownServices: opts.knownServices, price: opts.price });
            } catch (err) {
              return failedCase(c, ctx, (err as Error).message);
            }
          },
        });
      }
      for (const k of knowledge) {
        const workspace = caseWorkspace(opts.runId, k.id, vi, rep);
        jobs.push({
          label: `${k.id} [${variant.name}]`,
          run: async () => {
            try {
              return await runKnowledgeCase(opts, k, variant, rep, workspace);
            } catch (err) {
              const stub = { id: k.id, suite: 'knowledge', tags: k.tags, expect: { root_cause: undefined } } as unknown as LoadedCase;
              return failedCase(stub, { variant: variant.name, repeat: rep, workspace }, (err as Error).message);
            }
          },
        });
      }
    }
  });
  const results: CaseResult[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  let passed = 0;
  const worker = async () => {
    while (next < jobs.length && !opts.signal?.aborted) {
      const i = next++;
      const job = jobs[i]!;
      opts.onProgress?.({ done, total: jobs.length, passed, current: job.label });
      const r = await job.run();
      results[i] = r;
      done++;
      if (r.pass) passed++;
      await opts.onResult?.(r);
      opts.onProgress?.({ done, total: jobs.length, passed });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 2) }, worker));
  if (opts.signal?.aborted) throw new Error('the run was cancelled');
  const extra = new Map<string, Record<string, number>>();
  if (knowledge.length) {
    for (const v of opts.variants)
      extra.set(
        `${v.name}/knowledge`,
        await retrievalFigures(
          results.filter((r) => r.suite === 'knowledge' && r.variant === v.name && r.repeat === 0),
          knowledge,
        ),
      );
  }
  const report: EvalReport = {
    run_id: opts.runId,
    created_at: new Date(started).toISOString(),
    finished_at: new Date().toISOString(),
    commit: opts.commit ?? '',
    options: { filter: opts.filter ?? {}, repeat, variants: opts.variants, price: opts.price },
    variants: opts.variants,
    summaries: summarise(results, opts.variants, extra),
    results,
    wall_ms: Date.now() - started,
  };
  if (opts.variants.length === 2) report.comparison = compareResults(results, opts.variants[0]!.name, results, opts.variants[1]!.name);
  return report;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
    }),
  ]);
}

/**
 * Variants from the command line: --prompt synthesize=1,2 and --model a,b make the cross of the two
 * (a single value applies to every variant). Each variant is named by what differs.
 */
export function parseVariants(prompt?: string, model?: string): Variant[] {
  const prompts: { id: string; versions: number[] }[] = [];
  for (const part of (prompt ?? '').split(';').filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]*)=(v?\d+(?:,v?\d+)*)$/.exec(part.trim());
    if (!m) throw new Error(`--prompt: expected id=version[,version], e.g. synthesize=1,2 (got "${part}")`);
    prompts.push({ id: m[1]!, versions: m[2]!.split(',').map((v) => Number(v.replace(/^v/, ''))) });
  }
  const models = (model ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let variants: Variant[] = [{ name: '', prompts: {} }];
  for (const p of prompts) {
    variants = variants.flatMap((v) =>
      p.versions.map((ver) => ({ ...v, name: `${v.name}${v.name ? ' ' : ''}${p.id}@v${ver}`, prompts: { ...v.prompts, [p.id]: ver } })),
    );
  }
  if (models.length) variants = variants.flatMap((v) => models.map((m) => ({ ...v, name: `${v.name}${v.name ? ' ' : ''}${m}`, model: m })));
  return variants.map((v) => ({ ...v, name: v.name || 'default' }));
}
