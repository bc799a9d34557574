import type { Evidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import { windowText, type TimeWindow } from '../core/window.ts';
import type { ToolRunSummary } from './specialists/specialist.ts';
import type { Intent } from './understand/index.ts';
import { gapsLine, lookedAtLine, skippedLine, timesLine } from './narrator.ts';
import { looksLikeInstructions } from '../policies/redaction.ts';

/**
 * Answers shaped by what was asked, written from the evidence alone: a
 * ranking is a table, a status a verdict with its numbers, a logs question
 * the lines, a changes question the list, a follow-up about what to do the
 * earlier answer's steps. Every figure carries its evidence id; every answer
 * says which window it looked at and what it checked, and says so plainly
 * when the telemetry has nothing to answer with.
 */

/** What an earlier answer of the thread said, for follow-ups that refer to it. */
export interface EarlierAnswer {
  turn: number;
  text: string;
  hypotheses: Hypothesis[];
  evidence_ids: string[];
  window: { from: string; to: string };
  citations: { evidence_id: string; title: string; section: string; citation: string; action_citation?: string }[];
  approvals: { approval_id: string; summary: string; status: string }[];
}

export interface ShapedInput {
  intent: Intent;
  question: string;
  workspace: string;
  now: number;
  window: TimeWindow;
  baseline?: TimeWindow;
  /** Services the question is about. */
  focus: string[];
  evidence: Evidence[];
  /** Evidence of earlier turns (for follow-ups about the grounds of an answer). */
  earlierEvidence: Evidence[];
  runs: ToolRunSummary[];
  agents: string[];
  skipped: { agent: string; reason: string }[];
  notes: string[];
  /** How the reference period of a comparison was chosen. */
  compareHow?: string;
  earlier?: EarlierAnswer;
  redact: (text: string) => string;
}

/** The intents answered here; the others are the narrator's (root cause, security, efficiency). */
export const SHAPED: ReadonlySet<Intent> = new Set<Intent>([
  'status',
  'ranking',
  'logs',
  'followup_logs',
  'changes',
  'figures',
  'compare',
  'followup_action',
  'followup_explain',
]);

const cite = (...ids: (string | undefined)[]) => [...new Set(ids.filter(Boolean))].map((i) => `[${i}]`).join('');
const pct = (v: number | undefined) => `${((v ?? 0) * 100).toFixed(1)}%`;
const ms = (v: number | undefined) => (v === undefined ? '?' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const num = (v: number | undefined) =>
  v === undefined ? '?' : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const isRed = (e: Evidence) => e.kind === 'service_change' || e.kind === 'service_red';

/**
 * What a service's RED item says, as a verdict and its figures. Errors and
 * latency decide health; a change of traffic alone is reported beside it
 * (fewer requests is often the time of day, or the callers, not the service).
 */
function verdict(e: Evidence): { bad: boolean; text: string; traffic?: string } {
  const n = e.numbers;
  const signals = (e.attributes.signals ?? '').split(',').filter(Boolean);
  const slow = signals.includes('latency_up');
  // Failing: more than its baseline, or at least 5% of its requests (and 3 or more) whatever the
  // baseline says; a baseline that already holds the problem does not make it healthy.
  const failing =
    signals.includes('errors_up') || signals.includes('errors_high') || ((n.error_ratio ?? 0) >= 0.05 && (n.errors ?? 0) >= 3);
  const traffic = signals.find((s) => s.startsWith('traffic'));
  const figures = `${num(n.requests)} requests (${num(n.rate_per_min)}/min, baseline ${num(n.baseline_rate_per_min)}/min), error ratio ${pct(n.error_ratio)} (baseline ${pct(n.baseline_error_ratio)}), p95 ${ms(n.p95_ms)} (baseline ${ms(n.baseline_p95_ms)})`;
  const failsMore = signals.includes('errors_up');
  const problems = [
    slow ? 'slower than its baseline' : '',
    failing ? (failsMore ? 'failing more requests than its baseline' : `failing ${pct(n.error_ratio)} of its requests`) : '',
  ]
    .filter(Boolean)
    .join(', and ');
  const trafficText = traffic
    ? `${e.service} ${traffic.replace(/_/g, ' ')}: ${num(n.rate_per_min)} requests/min against ${num(n.baseline_rate_per_min)}/min ${cite(e.id)}`
    : undefined;
  return problems
    ? { bad: true, text: `${e.service} is ${problems}: ${figures} ${cite(e.id)}.`, ...(trafficText ? { traffic: trafficText } : {}) }
    : { bad: false, text: `${e.service} looks healthy: ${figures} ${cite(e.id)}.`, ...(trafficText ? { traffic: trafficText } : {}) };
}

/** A service's metrics that depart strongly from the baseline (5 robust deviations or more), strongest first. */
function strongMetrics(evidence: Evidence[], service: string): Evidence[] {
  return evidence
    .filter((e) => e.kind === 'metric_deviation' && e.service === service && Math.abs(e.numbers.score ?? 0) >= 5)
    .sort((a, b) => Math.abs(b.numbers.score ?? 0) - Math.abs(a.numbers.score ?? 0))
    .slice(0, 3);
}

const RESTART_KINDS: Record<string, string> = {
  oom_kill: 'out-of-memory kills',
  crash_loop: 'back-off restarts (crash loop)',
  restart: 'restarts',
  probe_failure: 'failed probes',
};

/** Restarts as Kubernetes events counted them, per service. */
function restartLines(evidence: Evidence[], focus: string[]): string[] {
  const events = evidence.filter(
    (e) => e.tool === 'recent_changes' && RESTART_KINDS[e.kind] && (!focus.length || focus.includes(e.service!)),
  );
  const services = [...new Set(events.map((e) => e.service!))];
  return services.map(
    (s) =>
      `Restarts of ${s} in Kubernetes events: ${events
        .filter((e) => e.service === s)
        .map((e) => `${num(e.numbers.events)} ${RESTART_KINDS[e.kind]} ${cite(e.id)}`)
        .join(', ')}.`,
  );
}

function seriesLines(evidence: Evidence[]): string[] {
  return evidence.filter((e) => e.kind === 'service_series').map((e) => `${e.summary} ${cite(e.id)}.`);
}

function statusAnswer(input: ShapedInput): string[] {
  const red = input.evidence.filter(isRed);
  const lines: string[] = [];
  if (input.focus.length) {
    for (const service of input.focus) {
      const e = red.find((x) => x.service === service);
      const v = e ? verdict(e) : undefined;
      lines.push(v ? v.text : `No server spans of ${service} in the window, so its errors and latency cannot be judged from traces.`);
      if (v?.traffic) lines.push(`Traffic: ${v.traffic}.`);
      const metrics = strongMetrics(input.evidence, service);
      if (metrics.length)
        lines.push(
          `${v && !v.bad ? 'Its requests look normal, but its metrics depart from the baseline' : 'Its metrics against the baseline'}: ${metrics
            .map(
              (m) =>
                `${m.attributes.signal} is ${num(m.numbers.median)}${m.attributes.unit ? ` ${m.attributes.unit}` : ''} against ${num(m.numbers.baseline_median)} ${cite(m.id)}`,
            )
            .join('; ')}.`,
        );
    }
  } else if (red.length) {
    const verdicts = red.map(verdict);
    const bad = verdicts.filter((v) => v.bad);
    lines.push(
      bad.length
        ? // No counts here: every number an answer states is one the evidence holds.
          'Slow or failing:'
        : `Nothing looks wrong in ${input.workspace}: errors and latency of every service with traffic match their baseline ${cite(red[0]!.id)}.`,
    );
    lines.push(...bad.map((v) => `- ${v.text}`));
    const traffic = verdicts.flatMap((v) => (v.traffic ? [v.traffic] : []));
    if (traffic.length) lines.push(`Traffic changed: ${traffic.slice(0, 5).join('; ')}.`);
  } else lines.push(`No server spans in ${input.workspace} in the window: the traces cannot say how the services are doing.`);
  const series = seriesLines(input.evidence);
  if (series.length) lines.push(`Over the window: ${series.join(' ')}`);
  if (lines.some((l) => / is (slower|failing)|^Slow or failing:/.test(l)))
    lines.push('Ask "why" about a service to investigate the cause.');
  return lines;
}

function figuresAnswer(input: ShapedInput): string[] {
  const red = input.evidence.filter(isRed);
  const wanted = input.focus.length ? red.filter((e) => input.focus.includes(e.service!)) : red;
  const lines = wanted.map(
    (e) =>
      `${e.service}: ${num(e.numbers.requests)} requests (${num(e.numbers.rate_per_min)}/min), p50 ${ms(e.numbers.p50_ms)}, p95 ${ms(e.numbers.p95_ms)}, p99 ${ms(e.numbers.p99_ms)}, error ratio ${pct(e.numbers.error_ratio)} ${cite(e.id)}.`,
  );
  for (const service of input.focus.filter((s) => !red.some((e) => e.service === s)))
    lines.push(`No server spans of ${service} in the window: no request, latency or error figures for it.`);
  if (!lines.length) lines.push(`No server spans in ${input.workspace} in the window: no request, latency or error figures.`);
  if (input.runs.some((r) => r.tool === 'recent_changes')) {
    const restarts = restartLines(input.evidence, input.focus);
    lines.unshift(
      ...(restarts.length
        ? restarts
        : [`No restarts${input.focus.length ? ` of ${input.focus.join(', ')}` : ''} in the Kubernetes events of the window.`]),
    );
  }
  lines.push(...seriesLines(input.evidence));
  return lines;
}

function compareAnswer(input: ShapedInput): string[] {
  const red = input.evidence.filter(isRed);
  const wanted = input.focus.length ? red.filter((e) => input.focus.includes(e.service!)) : red;
  const ref = input.baseline ? windowText(input.baseline, input.now) : 'the period before';
  const lines = [`Compared with ${ref}${input.compareHow ? ` (${input.compareHow})` : ''}:`];
  for (const e of wanted.slice(0, 10)) {
    const n = e.numbers;
    lines.push(
      `- ${e.service}: ${num(n.rate_per_min)} requests/min against ${num(n.baseline_rate_per_min)}, error ratio ${pct(n.error_ratio)} against ${pct(n.baseline_error_ratio)}, p95 ${ms(n.p95_ms)} against ${ms(n.baseline_p95_ms)} ${cite(e.id)}.`,
    );
  }
  if (!wanted.length) lines.push(`- no server spans${input.focus.length ? ` of ${input.focus.join(', ')}` : ''} in the window to compare.`);
  return lines;
}

function rankingAnswer(input: ShapedInput): string[] {
  const ranked = input.evidence.filter((e) => e.kind === 'ranked').sort((a, b) => (a.numbers.rank ?? 0) - (b.numbers.rank ?? 0));
  const templates = input.evidence.filter((e) => e.kind === 'log_template');
  if (ranked.length) {
    const by = ranked[0]!.attributes.by ?? 'value';
    const ops = ranked.some((e) => e.attributes.operation);
    const unit = ranked[0]!.attributes.unit ?? '';
    const rows = ranked.map(
      (e) =>
        `| ${e.numbers.rank} | ${e.service}${ops ? ` | ${e.attributes.operation ?? ''}` : ''} | ${num(e.numbers.value)}${unit ? ` ${unit}` : ''} | ${cite(e.id)} |`,
    );
    return [
      `${ops ? 'Operations' : 'Services'} by ${by.replace('_', ' ')}:`,
      [
        `| # | service${ops ? ' | operation' : ''} | ${by.replace('_', ' ')} | evidence |`,
        `|---|---${ops ? '|---' : ''}|---|---|`,
        ...rows,
      ].join('\n'),
    ];
  }
  if (templates.length) {
    const rows = templates
      .filter((e) => !looksLikeInstructions(e.attributes.template ?? ''))
      .map(
        (e) =>
          `| ${e.service ?? ''} | ${e.attributes.severity ?? ''} | ${num(e.numbers.count)} | ${input.redact(e.attributes.template ?? '').replace(/\|/g, '\\|')} | ${cite(e.id)} |`,
      );
    return [
      'Log patterns by volume:',
      ['| service | severity | lines | pattern | evidence |', '|---|---|---|---|---|', ...rows].join('\n'),
    ];
  }
  const overview = input.evidence.filter(isRed);
  if (overview.length)
    return [`The ranking asked for is not available from the telemetry; the services' figures instead:`, ...figuresAnswer(input)];
  return ['Nothing to rank: no data of that kind in the window.'];
}

function logsAnswer(input: ShapedInput): string[] {
  const sets = input.evidence.filter((e) => e.kind === 'log_lines');
  const templates = input.evidence.filter((e) => e.kind === 'log_template');
  const lines: string[] = [];
  for (const e of sets) {
    const who = e.service ?? 'all services';
    if (!e.numbers.matched) {
      lines.push(`No matching log lines of ${who} in the window ${cite(e.id)}.`);
      continue;
    }
    lines.push(`${who}: ${e.summary} ${cite(e.id)}:`);
    const shown = (e.examples ?? []).filter((l) => !looksLikeInstructions(l));
    lines.push(shown.map((l) => `    ${input.redact(l)}`).join('\n'));
    const withheld = (e.examples ?? []).length - shown.length;
    if (withheld)
      lines.push(
        `${plural(withheld, 'line')} addressed to an AI assistant ${withheld === 1 ? 'is' : 'are'} not repeated here: text in logs is data, and such lines are a sign of attempted prompt injection worth looking into ${cite(e.id)}.`,
      );
  }
  const safeTemplates = templates.filter((e) => !looksLikeInstructions(e.summary));
  if (safeTemplates.length)
    lines.push(
      `Most frequent patterns: ${safeTemplates
        .slice(0, 5)
        .map((e) => `${input.redact(e.summary)} ${cite(e.id)}`)
        .join('; ')}.`,
    );
  for (const r of input.runs.filter((x) => x.tool === 'log_search' && !x.error && x.evidence_ids.length === 0)) {
    const sev = typeof r.args.severity === 'string' ? `${r.args.severity} or worse ` : '';
    lines.push(`No ${sev}log lines of ${typeof r.args.service === 'string' ? r.args.service : 'any service'} in the window.`);
  }
  if (!lines.length) lines.push('No log lines could be read for this question.');
  return lines;
}

function changesAnswer(input: ShapedInput): string[] {
  const changes = input.evidence.filter((e) => e.tool === 'recent_changes');
  if (!changes.length)
    return [
      `No deploys, version changes, restarts or other Kubernetes events${input.focus.length ? ` of ${input.focus.join(', ')}` : ''} were recorded in the window.`,
    ];
  return [
    `${plural(changes.length, 'change')}, newest first:`,
    ...changes.slice(0, 15).map((e) => `- ${input.redact(e.summary)} ${cite(e.id)}`),
  ];
}

/** The "Next steps" list of an earlier answer, if it had one. */
function nextSteps(text: string): string[] {
  const m = /Next steps:\n((?:- .*\n?)+)/.exec(text);
  return m ? m[1]!.trim().split('\n') : [];
}

function actionAnswer(input: ShapedInput): string[] {
  const e = input.earlier;
  if (!e) return ['There is no earlier answer in this thread to act on. Ask what is wrong first, for example "why is checkout failing?".'];
  const top = e.hypotheses.find((h) => !h.explained_by);
  const lines = [
    top
      ? `For the cause found in the earlier answer (turn ${e.turn}): ${top.summary} ${cite(...top.evidence_ids.slice(0, 3))}.`
      : `The earlier answer (turn ${e.turn}) found no fault, so there is nothing to fix from it.`,
  ];
  const steps = nextSteps(e.text);
  if (steps.length) lines.push(`What to do:\n${steps.join('\n')}`);
  for (const c of e.citations)
    lines.push(`Runbook "${c.title}", section "${c.section}": ${c.action_citation ?? c.citation} ${cite(c.evidence_id)}.`);
  const pending = e.approvals.filter((a) => a.status === 'pending');
  if (pending.length)
    lines.push(
      `Already proposed and waiting for approval: ${pending.map((a) => `${a.summary} (approval ${a.approval_id})`).join('; ')}. Approve or reject it in the approvals list; nothing runs without that.`,
    );
  if (top && !steps.length && !e.citations.length && !pending.length)
    lines.push("The evidence names no specific remedy; look at the cause's evidence above.");
  return lines;
}

function explainAnswer(input: ShapedInput): string[] {
  const e = input.earlier;
  if (!e) return ['There is no earlier answer in this thread to explain.'];
  const byId = new Map(input.earlierEvidence.map((x) => [x.id, x]));
  const top = e.hypotheses.find((h) => !h.explained_by);
  const ids = top ? top.evidence_ids : e.evidence_ids.slice(0, 5);
  const lines = [
    top
      ? `The earlier answer (turn ${e.turn}) named ${top.service} (${top.kind.replace(/_/g, ' ')}) because of this evidence:`
      : `The earlier answer (turn ${e.turn}) rests on this evidence:`,
  ];
  for (const id of ids.slice(0, 8)) {
    const x = byId.get(id);
    if (x) lines.push(`- ${input.redact(x.summary)} ${cite(id)}`);
  }
  const others = e.hypotheses.filter((h) => h !== top && !h.explained_by).slice(0, 2);
  if (others.length)
    lines.push(`Weaker candidates it considered: ${others.map((h) => `${h.summary} ${cite(...h.evidence_ids.slice(0, 2))}`).join('; ')}.`);
  const victims = e.hypotheses.filter((h) => top && h.explained_by === top.service);
  if (victims.length)
    lines.push(
      `${victims.map((h) => h.service).join(', ')} ${victims.length > 1 ? 'were' : 'was'} set aside as downstream of ${top!.service}.`,
    );
  return lines;
}

/** The window an answer looked at, with its baseline when it compared against one. */
function lookedAt(input: ShapedInput): string {
  if (input.intent === 'followup_action' || input.intent === 'followup_explain') {
    const w = input.earlier?.window;
    return w
      ? `(About the earlier answer, which looked at ${windowText({ from: Date.parse(w.from), to: Date.parse(w.to) }, input.now)}.)`
      : '';
  }
  return lookedAtLine(input.workspace, input.window, input.intent === 'compare' ? undefined : input.baseline, input.now, input.runs);
}

/** The answer for a shaped intent, or undefined for intents the narrator answers. */
export function shapedAnswer(input: ShapedInput): string | undefined {
  if (!SHAPED.has(input.intent)) return undefined;
  const body =
    input.intent === 'status'
      ? statusAnswer(input)
      : input.intent === 'figures'
        ? figuresAnswer(input)
        : input.intent === 'compare'
          ? compareAnswer(input)
          : input.intent === 'ranking'
            ? rankingAnswer(input)
            : input.intent === 'changes'
              ? changesAnswer(input)
              : input.intent === 'followup_action'
                ? actionAnswer(input)
                : input.intent === 'followup_explain'
                  ? explainAnswer(input)
                  : logsAnswer(input);
  const skipped = skippedLine(input.skipped, input.agents.length);
  const parts = [
    ...(skipped && !input.agents.length && input.intent !== 'followup_action' && input.intent !== 'followup_explain'
      ? [skipped]
      : [body.join('\n')]),
    ...(skipped && input.agents.length ? [skipped] : []),
    gapsLine(input.runs),
    input.notes.length ? timesLine(input.notes) : '',
    lookedAt(input),
    '(Written from the evidence by the deterministic narrator; no language model was used.)',
  ];
  return parts.filter(Boolean).join('\n\n');
}
