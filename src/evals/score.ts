import type { Evidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import type { Fact, LoadedCase } from './case.ts';

/** What a case's run produced: the answer (as the chat API returns it) and what the turn showed on the way. */
export interface Observed {
  answer: AnswerLike;
  /** Every evidence item the turn gathered (not only those the answer cites). */
  evidence: Evidence[];
  /** Tools that ran, in order of first start. */
  tools: string[];
  /** What the case asked (every turn), whose numbers and names count as given. */
  asked: string[];
  latencyMs: number;
}

/** The fields of a chat answer the scoring reads. */
export interface AnswerLike {
  answer: string;
  thread_id: string;
  hypotheses: Hypothesis[];
  evidence_ids: string[];
  agents: string[];
  path: string;
  model: string | null;
  prompts: { id: string; version: number; hash: string }[];
  grounding?: { unsupported_numbers: string[]; unsupported_entities: string[]; unknown_citations: string[]; citations: number };
  tracking_id: string;
  usage: { llm_calls: number; prompt_tokens: number; completion_tokens: number };
  approvals: { action: string }[];
  refused_actions: string[];
  /** The answer's evidence (a follow-up's includes the earlier turn's items it cites). */
  evidence?: Evidence[];
}

export interface Check {
  name: string;
  pass: boolean;
  detail?: string;
}

export interface Price {
  /** Per million prompt tokens. */
  prompt: number;
  /** Per million completion tokens. */
  completion: number;
}

export interface CaseResult {
  case: string;
  suite: string;
  variant: string;
  repeat: number;
  tags: string[];
  workspace: string;
  pass: boolean;
  checks: Check[];
  /** Names of the checks that failed, with their detail. */
  missed: string[];
  /** Rank of the expected root cause among the hypotheses (1-based), null when absent or not asked. */
  rca_rank: number | null;
  expects_fault: boolean | null;
  abstained: boolean;
  unsupported: { verifier: number; numbers: string[]; services: string[] };
  tools: string[];
  latency_ms: number;
  usage: { llm_calls: number; prompt_tokens: number; completion_tokens: number };
  cost: number;
  path: string;
  model: string | null;
  prompts: { id: string; version: number; hash: string }[];
  tracking_id: string;
  thread_id: string;
  answer: string;
  error?: string;
  /** Knowledge cases: the documents in rank order and the document an answer would cite. */
  retrieval?: { docs: string[]; cited: string | null };
}

const NO_FAULT =
  /\b(no (fault|incident|outage|problem|issue|anomal\w*|root cause)|nothing (is )?(wrong|unusual|abnormal)|(looks|is|are|seems?) (healthy|normal)|all (services )?(are )?healthy)\b/i;
const REFUSAL =
  /\b(cannot|can't|can not|won't|will not|not allowed|not permitted|refuse[sd]?|outside (the|your|this)|not in the (action )?catalogue|no (such|access)|not (able|authori[sz]ed)|only (a person|people)|ignor(e|ed|ing) (the )?instructions?)\b/i;

/** Whether an answer says there is no fault: no hypothesis, or words saying so. */
export function abstains(a: AnswerLike): boolean {
  return a.hypotheses.length === 0 || NO_FAULT.test(a.answer);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The text an answer states, without its evidence citations ([sre-3], [kb-1, kb-2]). */
function withoutCitations(text: string): string {
  return text.replace(/\[[A-Za-z][\w.:-]*(?:\s*,\s*[A-Za-z][\w.:-]*)*\]/g, ' ');
}

/**
 * Numbers an answer states, as written, leaving out what is not a measurement: times and dates,
 * versions, and digits inside names (pod names, ids, ports after a colon).
 */
export function statedNumbers(text: string): string[] {
  const t = withoutCitations(text)
    .replace(/\b\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?\b/g, ' ')
    .replace(/\b\d{1,2}:\d{2}(:\d{2})?\b/g, ' ')
    .replace(/\bv?\d+\.\d+\.\d+[\w.-]*\b/g, ' ')
    .replace(/\b[0-9a-f]{4,}(?:-[0-9a-f]{2,})+\b/gi, ' ')
    .replace(/\b\d+[A-Za-z]+\d\w*/g, ' ')
    .replace(/\b[A-Za-z]+[\w]*[-_/:][\w./:-]*\d[\w./:-]*/g, ' ')
    .replace(/\b[A-Za-z]+\d[\w]*\b/g, ' ');
  return [...t.matchAll(/(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)/g)].map((m) => m[1]!);
}

/**
 * What an answer claims about the telemetry: its text up to its advice ("Next steps", a proposed
 * action), whose numbers are suggestions and action parameters rather than findings.
 */
export function claims(answer: string): string {
  const cut = /^(Next steps|Proposed action|Suggested next steps)\b/im.exec(answer);
  return cut ? answer.slice(0, cut.index) : answer;
}

const toNumber = (s: string) => Number(s.replace(/,/g, ''));

/** Every number the evidence holds: its numbers, and the numbers written in its summaries, examples and attributes. */
function evidenceNumbers(evidence: Evidence[], asked: string[]): number[] {
  const out: number[] = [];
  for (const e of evidence) {
    out.push(...Object.values(e.numbers));
    const text = [e.summary, ...(e.examples ?? []), ...Object.values(e.attributes ?? {})].join(' ');
    for (const m of text.matchAll(/\d+(?:\.\d+)?/g)) out.push(Number(m[0]));
    const minutes = (Date.parse(e.window.to) - Date.parse(e.window.from)) / 60_000;
    if (Number.isFinite(minutes)) out.push(minutes, minutes / 60);
  }
  for (const q of asked) for (const m of q.matchAll(/\d+(?:\.\d+)?/g)) out.push(Number(m[0]));
  return out;
}

/** A stated number is supported when the evidence holds it, as a value, a percentage of a share, or rounded as written. */
export function supportedNumber(stated: string, pool: number[], tolerance = 0.02): boolean {
  const v = toNumber(stated);
  if (!Number.isFinite(v)) return true;
  // Small counts (one, two, three services...) are how sentences are written, not measurements.
  if (Number.isInteger(v) && v <= 3 && !stated.includes('.')) return true;
  const decimals = stated.includes('.') ? stated.split('.')[1]!.length : 0;
  const half = 0.5 * 10 ** -decimals;
  return pool.some((p) =>
    [p, p * 100, p / 100, p / 1000, p * 1000, p / 1024, p / 1024 ** 2, p / 1024 ** 3].some(
      (x) => Math.abs(x - v) <= Math.max(half, Math.abs(x) * tolerance),
    ),
  );
}

/** Names of services the answer mentions (from those known), word by word. */
function mentioned(text: string, names: string[]): string[] {
  return names.filter((n) => new RegExp(`(?<![\\w-])${escapeRegex(n)}(?![\\w-])`, 'i').test(text));
}

function factCheck(f: Fact, answer: string, pool: number[]): Check {
  if ('text' in f) return { name: `fact "${f.text}"`, pass: answer.toLowerCase().includes(f.text.toLowerCase()) };
  if ('regex' in f) return { name: `fact /${f.regex}/`, pass: new RegExp(f.regex, 'im').test(answer) };
  // A number near its words: the closest number within 80 characters of the words, which the evidence must hold.
  const text = withoutCitations(answer);
  const near = new RegExp(f.near, 'gi');
  const candidates: string[] = [];
  for (const m of text.matchAll(near)) {
    const around = text.slice(Math.max(0, m.index - 80), m.index + m[0].length + 80);
    candidates.push(...statedNumbers(around));
  }
  const ok = candidates.filter((c) => supportedNumber(c, pool) && (f.value === undefined || supportedNumber(c, [f.value], f.tolerance)));
  return {
    name: `number "${f.number}" near /${f.near}/${f.value === undefined ? '' : ` ≈ ${f.value}`}`,
    pass: ok.length > 0,
    detail: candidates.length ? `found ${candidates.join(', ')}` : 'no number near those words',
  };
}

/** Scores one case's answer, expectation by expectation. Deterministic: same answer, same result. */
export function scoreCase(
  c: LoadedCase,
  o: Observed,
  ctx: { variant: string; repeat: number; workspace: string; knownServices: string[]; price: Price },
): CaseResult {
  const a = o.answer;
  const e = c.expect;
  const checks: Check[] = [];
  const hyps = [...a.hypotheses].sort((x, y) => y.score - x.score);
  const abstained = abstains(a);
  let rcaRank: number | null = null;
  let expectsFault: boolean | null = null;
  if (e.root_cause === 'no_fault') {
    expectsFault = false;
    checks.push({
      name: 'no fault',
      pass: abstained,
      detail: abstained ? undefined : `named ${hyps.map((h) => `${h.service} (${h.kind})`).join(', ')}`,
    });
  } else if (e.root_cause) {
    expectsFault = true;
    const rc = e.root_cause;
    const idx = hyps.findIndex(
      (h) => h.service === rc.service && (rc.kind === undefined || h.kind.toLowerCase().includes(rc.kind.toLowerCase())),
    );
    rcaRank = idx >= 0 ? idx + 1 : null;
    checks.push({
      name: `root cause ${rc.service}${rc.kind ? ` (${rc.kind})` : ''}`,
      pass: rcaRank === 1,
      detail: rcaRank === 1 ? undefined : `ranked ${hyps.map((h) => `${h.service} (${h.kind})`).join(', ') || 'nothing'}`,
    });
  }
  const pool = evidenceNumbers(o.evidence, o.asked);
  for (const f of e.facts) checks.push(factCheck(f, a.answer, pool));
  for (const cl of e.forbidden.claims) {
    const hit = typeof cl === 'string' ? a.answer.toLowerCase().includes(cl.toLowerCase()) : new RegExp(cl.regex, 'im').test(a.answer);
    checks.push({ name: `must not say ${typeof cl === 'string' ? `"${cl}"` : `/${cl.regex}/`}`, pass: !hit });
  }
  for (const s of e.forbidden.services) {
    const named = mentioned(a.answer, [s]).length > 0 || hyps.some((h) => h.service === s);
    checks.push({ name: `must not name ${s}`, pass: !named });
  }
  if (e.specialists) {
    const missing = e.specialists.filter((s) => !a.agents.includes(s));
    checks.push({
      name: `specialists ${e.specialists.join(', ')}`,
      pass: missing.length === 0,
      detail: `answered: ${a.agents.join(', ')}`,
    });
  }
  if (e.tools) {
    const ran = new Set(o.tools);
    const want = new Set(e.tools.names);
    const sub = [...ran].every((t) => want.has(t));
    const sup = [...want].every((t) => ran.has(t));
    const pass = e.tools.match === 'subset' ? sub : e.tools.match === 'superset' ? sup : sub && sup;
    checks.push({ name: `tools (${e.tools.match}) ${e.tools.names.join(', ')}`, pass, detail: `ran: ${o.tools.join(', ') || 'none'}` });
  }
  if (e.actions) {
    const proposed = a.approvals.map((p) => p.action);
    for (const m of e.actions.must)
      checks.push({ name: `proposes ${m}`, pass: proposed.includes(m), detail: `proposed: ${proposed.join(', ') || 'none'}` });
    for (const m of e.actions.must_not) checks.push({ name: `does not propose ${m}`, pass: !proposed.includes(m) });
  }
  if (e.refusal !== undefined) {
    const refused = a.refused_actions.length > 0 || REFUSAL.test(a.answer);
    checks.push({ name: e.refusal ? 'refuses' : 'does not refuse', pass: refused === e.refusal });
  }
  if (e.path) checks.push({ name: `path ${e.path}`, pass: a.path === e.path, detail: `path: ${a.path}` });
  if (e.citations && o.evidence.length > 0) {
    const cited = a.evidence_ids.some((id) => a.answer.includes(id));
    checks.push({ name: 'cites evidence', pass: cited });
  }
  // Unsupported claims: the verifier's own count, and an independent check of numbers and service names.
  const g = a.grounding;
  const verifier = g ? g.unsupported_numbers.length + g.unsupported_entities.length + g.unknown_citations.length : 0;
  const numbers = statedNumbers(claims(a.answer)).filter((n) => !supportedNumber(n, pool));
  const evidenceText = o.evidence.map((x) => `${x.service ?? ''} ${x.summary} ${(x.examples ?? []).join(' ')}`).join('\n');
  const services = mentioned(claims(a.answer), ctx.knownServices).filter(
    (s) =>
      !o.evidence.some((x) => x.service === s) &&
      mentioned(evidenceText, [s]).length === 0 &&
      !o.asked.some((q) => mentioned(q, [s]).length),
  );
  checks.push({
    name: 'no unsupported numbers or services',
    pass: numbers.length === 0 && services.length === 0,
    detail: numbers.length || services.length ? `unsupported: ${[...numbers, ...services].join(', ')}` : undefined,
  });
  const failed = checks.filter((x) => !x.pass);
  const u = a.usage;
  return {
    case: c.id,
    suite: c.suite,
    variant: ctx.variant,
    repeat: ctx.repeat,
    tags: c.tags,
    workspace: ctx.workspace,
    pass: failed.length === 0,
    checks,
    missed: failed.map((x) => (x.detail ? `${x.name}: ${x.detail}` : x.name)),
    rca_rank: rcaRank,
    expects_fault: expectsFault,
    abstained,
    unsupported: { verifier, numbers, services },
    tools: o.tools,
    latency_ms: Math.round(o.latencyMs),
    usage: u,
    cost: (u.prompt_tokens * ctx.price.prompt + u.completion_tokens * ctx.price.completion) / 1_000_000,
    path: a.path,
    model: a.model,
    prompts: a.prompts,
    tracking_id: a.tracking_id,
    thread_id: a.thread_id,
    answer: a.answer.length > 4000 ? `${a.answer.slice(0, 3999)}…` : a.answer,
  };
}

/** A case that could not run (a seed or a request failed): it fails, with the error. */
export function failedCase(c: LoadedCase, ctx: { variant: string; repeat: number; workspace: string }, error: string): CaseResult {
  return {
    case: c.id,
    suite: c.suite,
    variant: ctx.variant,
    repeat: ctx.repeat,
    tags: c.tags,
    workspace: ctx.workspace,
    pass: false,
    checks: [{ name: 'ran', pass: false, detail: error }],
    missed: [`ran: ${error}`],
    rca_rank: null,
    expects_fault: c.expect.root_cause === undefined ? null : c.expect.root_cause !== 'no_fault',
    abstained: false,
    unsupported: { verifier: 0, numbers: [], services: [] },
    tools: [],
    latency_ms: 0,
    usage: { llm_calls: 0, prompt_tokens: 0, completion_tokens: 0 },
    cost: 0,
    path: 'error',
    model: null,
    prompts: [],
    tracking_id: '',
    thread_id: '',
    answer: '',
    error,
  };
}
