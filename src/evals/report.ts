import type { CaseResult } from './score.ts';
import { comparePaired, quantile, type PairedComparison } from './stats.ts';

/** A variant: which prompt versions and model answered. */
export interface Variant {
  name: string;
  /** Prompt id → version, overriding the policy's choice for these runs. */
  prompts: Record<string, number>;
  model?: string;
}

export interface VariantSummary {
  variant: string;
  suite: string;
  cases: number;
  passed: number;
  pass_rate: number;
  /** Among cases with a root cause to find: share with it first, and within the first three. */
  rca_at_1: number | null;
  rca_at_3: number | null;
  /** Unsupported claims per answer: the verifier's count, and the independent check's. */
  unsupported_per_answer: { verifier: number; independent: number };
  /** Fault-free cases answered "no fault"; fault cases answered "no fault". */
  abstention: { correct: number | null; false: number | null };
  latency_ms: { p50: number; p95: number };
  tokens: { prompt: number; completion: number; llm_calls: number };
  cost: number;
  /** Knowledge suite: the retrieval figures of the labelled set. */
  retrieval?: Record<string, number>;
}

export interface EvalReport {
  run_id: string;
  created_at: string;
  finished_at: string;
  commit: string;
  options: Record<string, unknown>;
  variants: Variant[];
  summaries: VariantSummary[];
  /** For two variants: the second compared with the first, per suite and over all cases. */
  comparison?: Record<string, PairedComparison>;
  results: CaseResult[];
  wall_ms: number;
}

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;
const rate = (n: number, d: number) => (d ? round(n / d) : null);

/** One row per variant and suite (and one over all suites). */
export function summarise(
  results: CaseResult[],
  variants: Variant[],
  extra: Map<string, Record<string, number>> = new Map(),
): VariantSummary[] {
  const out: VariantSummary[] = [];
  const suites = [...new Set(results.map((r) => r.suite))].sort();
  for (const v of variants) {
    for (const suite of [...suites, 'all']) {
      const rs = results.filter((r) => r.variant === v.name && (suite === 'all' || r.suite === suite));
      if (!rs.length) continue;
      const faults = rs.filter((r) => r.expects_fault === true);
      const clean = rs.filter((r) => r.expects_fault === false);
      const lat = rs.map((r) => r.latency_ms).sort((a, b) => a - b);
      out.push({
        variant: v.name,
        suite,
        cases: rs.length,
        passed: rs.filter((r) => r.pass).length,
        pass_rate: round(rs.filter((r) => r.pass).length / rs.length),
        rca_at_1: rate(faults.filter((r) => r.rca_rank === 1).length, faults.length),
        rca_at_3: rate(faults.filter((r) => r.rca_rank !== null && r.rca_rank <= 3).length, faults.length),
        unsupported_per_answer: {
          verifier: round(rs.reduce((s, r) => s + r.unsupported.verifier, 0) / rs.length),
          independent: round(rs.reduce((s, r) => s + r.unsupported.numbers.length + r.unsupported.services.length, 0) / rs.length),
        },
        abstention: {
          correct: rate(clean.filter((r) => r.abstained).length, clean.length),
          false: rate(faults.filter((r) => r.abstained).length, faults.length),
        },
        latency_ms: { p50: Math.round(quantile(lat, 0.5)), p95: Math.round(quantile(lat, 0.95)) },
        tokens: {
          prompt: rs.reduce((s, r) => s + r.usage.prompt_tokens, 0),
          completion: rs.reduce((s, r) => s + r.usage.completion_tokens, 0),
          llm_calls: rs.reduce((s, r) => s + r.usage.llm_calls, 0),
        },
        cost: round(
          rs.reduce((s, r) => s + r.cost, 0),
          6,
        ),
        ...(extra.has(`${v.name}/${suite}`) ? { retrieval: extra.get(`${v.name}/${suite}`) } : {}),
      });
    }
  }
  return out;
}

/** A case passes for a variant when every repeat of it passed. */
function outcomes(results: CaseResult[], variant: string, suite?: string): Map<string, boolean> {
  const m = new Map<string, boolean>();
  for (const r of results) {
    if (r.variant !== variant || (suite && r.suite !== suite)) continue;
    m.set(r.case, (m.get(r.case) ?? true) && r.pass);
  }
  return m;
}

/** The second variant's results compared with the first's, per suite and over all, on the cases both ran. */
export function compareResults(a: CaseResult[], variantA: string, b: CaseResult[], variantB: string): Record<string, PairedComparison> {
  const out: Record<string, PairedComparison> = {};
  const suites = [...new Set([...a, ...b].map((r) => r.suite))].sort();
  for (const s of suites) out[s] = comparePaired(outcomes(a, variantA, s), outcomes(b, variantB, s));
  out.all = comparePaired(outcomes(a, variantA), outcomes(b, variantB));
  return out;
}

const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);

/** The report as markdown: a row per variant and suite, the comparison, then each failing case with what it missed. */
export function toMarkdown(r: EvalReport): string {
  const lines = [
    `# Eval run ${r.run_id}`,
    '',
    `Commit \`${r.commit || 'unknown'}\`, ${r.created_at} → ${r.finished_at} (${(r.wall_ms / 1000).toFixed(1)} s).`,
    '',
    '| variant | suite | cases | pass rate | RCA@1 | RCA@3 | unsupported/answer (verifier, independent) | no-fault right | false no-fault | latency p50 / p95 | LLM calls | tokens (prompt / completion) | cost |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of r.summaries) {
    lines.push(
      `| ${s.variant} | ${s.suite} | ${s.cases} | ${pct(s.pass_rate)} (${s.passed}) | ${pct(s.rca_at_1)} | ${pct(s.rca_at_3)} | ${s.unsupported_per_answer.verifier}, ${s.unsupported_per_answer.independent} | ${pct(s.abstention.correct)} | ${pct(s.abstention.false)} | ${s.latency_ms.p50} / ${s.latency_ms.p95} ms | ${s.tokens.llm_calls} | ${s.tokens.prompt} / ${s.tokens.completion} | ${s.cost} |`,
    );
  }
  const retrieval = r.summaries.filter((s) => s.retrieval);
  if (retrieval.length) {
    lines.push('', '## Retrieval (knowledge suite)', '');
    for (const s of retrieval)
      lines.push(
        `- ${s.variant}: ${Object.entries(s.retrieval!)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
  }
  if (r.comparison) lines.push('', ...comparisonMarkdown(r.comparison, r.variants[0]!.name, r.variants[1]!.name));
  const failing = r.results.filter((x) => !x.pass);
  lines.push('', `## Cases that failed (${failing.length} of ${r.results.length})`, '');
  for (const f of failing)
    lines.push(`- \`${f.case}\` [${f.variant}${f.repeat ? ` #${f.repeat + 1}` : ''}] (${f.tags.join(', ')}): ${f.missed.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

export function comparisonMarkdown(c: Record<string, PairedComparison>, a: string, b: string): string[] {
  const lines = [
    `## ${b} compared with ${a}`,
    '',
    '| suite | cases | won | lost | pass rate A → B | difference (95% bootstrap) | McNemar exact p |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [suite, x] of Object.entries(c)) {
    lines.push(
      `| ${suite} | ${x.cases} | ${x.won} | ${x.lost} | ${pct(x.pass_rate_a)} → ${pct(x.pass_rate_b)} | ${(x.difference.diff * 100).toFixed(1)} pts [${(x.difference.low * 100).toFixed(1)}, ${(x.difference.high * 100).toFixed(1)}] | ${x.mcnemar_p.toPrecision(3)} |`,
    );
  }
  const changed = c.all?.changed ?? [];
  if (changed.length) {
    lines.push('', 'Changed cases:', '');
    for (const ch of changed) lines.push(`- \`${ch.case}\`: ${ch.a ? 'pass' : 'fail'} → ${ch.b ? 'pass' : 'fail'}`);
  }
  return lines;
}
