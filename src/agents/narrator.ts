import type { Evidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import type { ToolRunSummary } from './specialists/specialist.ts';
import type { TimeWindow } from '../core/window.ts';
import { hhmm, windowText } from '../core/window.ts';
import { subjectText, type Subject } from './subject.ts';
import { SUBJECT_SEARCH } from '../tools/telemetry/subjects.ts';

interface NarratorInput {
  workspace: string;
  window: TimeWindow;
  /** The baseline the window was compared with, when one was set. */
  baseline?: TimeWindow;
  /** The time of the turn: a window on another day is said with its date. */
  now?: number;
  agents: string[];
  hypotheses: Hypothesis[];
  evidence: Evidence[];
  runs: ToolRunSummary[];
  /** Why the narrator answers instead of the model, when one was tried. */
  fallbackReason?: string;
  /** What the answer must say about the times it looked at (a start in the future, one older than the window). */
  notes?: string[];
  /** Specialists the question called for that the caller's roles did not allow. */
  skipped?: { agent: string; reason: string }[];
  /** Hosts, pods, jobs… asked about, and those no telemetry names. */
  subject?: { named: Subject[]; missing: Subject[] };
  /** Applied to anything quoted from telemetry (secrets, tokens, emails). */
  redact?: (text: string) => string;
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
/** A measured value as people read it: three significant digits, no float noise. */
const num = (v: number | undefined) =>
  v === undefined ? '?' : Math.abs(v) >= 100 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
const cite = (...ids: (string | undefined)[]) => [...new Set(ids.filter(Boolean))].map((i) => `[${i}]`).join('');

class Finder {
  constructor(private readonly ev: Evidence[]) {}
  all(kind: string, service?: string) {
    return this.ev.filter((e) => e.kind === kind && (service === undefined || e.service === service));
  }
  one(kind: string, service?: string) {
    return this.all(kind, service)[0];
  }
  /** The service-level RED item of a service, changed or not. */
  red(service: string) {
    return this.ev.find((e) => (e.kind === 'service_change' || e.kind === 'service_red') && e.service === service);
  }
}

function redPhrase(e: Evidence): string {
  const n = e.numbers;
  const parts: string[] = [];
  if ((n.error_ratio ?? 0) > 0 || (n.baseline_error_ratio ?? 0) > 0) {
    parts.push(
      `fails ${pct(n.error_ratio ?? 0)} of its requests (${n.errors} of ${n.requests}; baseline ${pct(n.baseline_error_ratio ?? 0)})`,
    );
  }
  if ((e.attributes.signals ?? '').includes('latency_up'))
    parts.push(`p95 latency ${Math.round(n.p95_ms ?? 0)} ms against ${Math.round(n.baseline_p95_ms ?? 0)} ms`);
  return parts.join(', ');
}

/**
 * What the leading candidate's evidence shows, as the end of a sentence:
 * its errors or latency when it has them, else its most deviant metric, else
 * the evidence ids behind it. Every kind of candidate gets a whole sentence.
 */
function leadingSignal(h: Hypothesis, red: Evidence | undefined, metrics: Evidence[]): string {
  const phrase = red ? redPhrase(red) : '';
  if (red && phrase) return `: it ${phrase} ${cite(red.id)}`;
  const m = [...metrics].sort((a, b) => Math.abs(b.numbers.score ?? 0) - Math.abs(a.numbers.score ?? 0))[0];
  if (m) {
    const unit = m.attributes.unit ? ` ${m.attributes.unit}` : '';
    return `: its ${m.attributes.signal ?? 'metric'} is ${num(m.numbers.median)}${unit} against ${num(m.numbers.baseline_median)}${unit} in the baseline ${cite(m.id)}`;
  }
  return h.evidence_ids.length ? `: see the evidence ${h.evidence_ids.map((id) => cite(id)).join('')}` : '';
}

function sreCause(h: Hypothesis, f: Finder, quote: (t: string) => string): string[] {
  const lines: string[] = [];
  const red = f.red(h.service);
  const deploy = f.one('deploy', h.service);
  const rollout = f.one('rollout', h.service);
  const origin = f.all('error_origin').find((e) => e.service === h.service);
  const metrics = f.all('metric_deviation', h.service).filter((e) => Math.abs(e.numbers.score ?? 0) >= 5);
  switch (h.kind) {
    case 'bad_deploy': {
      const change = deploy
        ? `Version ${deploy.attributes.to_version} (replacing ${deploy.attributes.from_version}) was rolled out at ${hhmm(deploy.numbers.at_ms!)} UTC ${cite(deploy.id)}`
        : rollout
          ? `A rollout started at ${hhmm(rollout.numbers.first_ms!)} UTC ${cite(rollout.id)}`
          : 'It changed recently';
      lines.push(
        `Likely cause: a bad deploy of ${h.service}. ${change}${red ? `, and since then ${h.service} ${redPhrase(red)} ${cite(red.id)}` : ''}.`,
      );
      break;
    }
    case 'cpu_throttling': {
      const throttle = metrics.find((e) => /throttl/i.test(e.attributes.signal ?? ''));
      const limit = metrics.find((e) => /cpu_limit|cpu\.limit/i.test(e.attributes.signal ?? ''));
      lines.push(
        `Likely cause: ${h.service} is starved of CPU and throttled${throttle ? `: ${throttle.attributes.signal} is ${num(throttle.numbers.median)} against ${num(throttle.numbers.baseline_median)} in the baseline ${cite(throttle.id)}` : ''}.`,
      );
      if (limit)
        lines.push(
          `Its CPU limit went from ${num(limit.numbers.baseline_median)} to ${num(limit.numbers.median)} ${cite(limit.id)}${rollout ? `, with a rollout at ${hhmm(rollout.numbers.first_ms!)} UTC ${cite(rollout.id)}` : ''}.`,
        );
      else if (rollout) lines.push(`It was rolled out at ${hhmm(rollout.numbers.first_ms!)} UTC ${cite(rollout.id)}.`);
      const latency = metrics.find((e) => /duration|latency/i.test(e.attributes.signal ?? '') && e.attributes.direction === 'up');
      if (latency)
        lines.push(
          `Its ${latency.attributes.signal} rose from ${num(latency.numbers.baseline_median)} to ${num(latency.numbers.median)}${latency.attributes.unit ? ` ${latency.attributes.unit}` : ''} ${cite(latency.id)}.`,
        );
      break;
    }
    case 'oom_crashloop': {
      const oom = f.one('oom_kill', h.service);
      const loop = f.one('crash_loop', h.service);
      const memory = metrics.find((e) => /memory|working_set/i.test(e.attributes.signal ?? ''));
      lines.push(
        `Likely cause: ${h.service} runs out of memory and restarts in a loop${oom ? `: ${oom.numbers.events} out-of-memory kills from ${hhmm(oom.numbers.first_ms!)} UTC ${cite(oom.id)}` : ''}${loop ? `, with back-off restarts ${cite(loop.id)}` : ''}.`,
      );
      if (memory)
        lines.push(
          `Its memory working set is ${memory.attributes.direction} to a median of ${Math.round(memory.numbers.median! / 1048576)} MiB against ${Math.round(memory.numbers.baseline_median! / 1048576)} MiB ${cite(memory.id)}.`,
        );
      break;
    }
    case 'unavailable':
      lines.push(`Likely cause: ${h.service} does not accept connections from its callers.`);
      break;
    default:
      lines.push(`Likely cause: ${h.service} (${h.kind.replace(/_/g, ' ')})${leadingSignal(h, red, metrics)}.`);
  }
  if (origin) {
    const unreachable = origin.attributes.unreachable === 'true';
    lines.push(
      unreachable
        ? `Calls to ${h.service} fail with "${quote(origin.attributes.message ?? '')}" in ${origin.numbers.traces} of ${origin.numbers.failed_traces} failed traces, along ${origin.attributes.paths} ${cite(origin.id)}.`
        : `Errors start in ${h.service} ${origin.attributes.operation} ("${quote(origin.attributes.message ?? '')}") in ${origin.numbers.traces} of ${origin.numbers.failed_traces} failed traces and travel ${origin.attributes.path} ${cite(origin.id)}.`,
    );
  }
  // The most frequent new or growing error; a one-off line (perhaps written to mislead) is not quoted.
  const log = f
    .all('log_template', h.service)
    .filter(
      (e) =>
        (e.attributes.status === 'new' || e.attributes.status === 'grew') &&
        /ERROR/i.test(e.attributes.severity ?? '') &&
        (e.numbers.count ?? 0) >= 3,
    )
    .sort((a, b) => (b.numbers.count ?? 0) - (a.numbers.count ?? 0))[0];
  if (log)
    lines.push(
      `${log.attributes.status === 'new' ? 'A new' : 'A growing'} error in the logs of ${h.service}: "${quote(log.attributes.template ?? '')}" ×${log.numbers.count} ${cite(log.id)}.`,
    );
  const matching = f.all('log_lines', h.service)[0];
  if (matching)
    lines.push(`${matching.numbers.matched} error lines of ${h.service} in the window, the latest in the evidence ${cite(matching.id)}.`);
  return lines;
}

function sreNextSteps(h: Hypothesis, f: Finder, workspace: string): string[] {
  const deploy = f.one('deploy', h.service);
  switch (h.kind) {
    case 'bad_deploy':
      return [
        deploy
          ? `Roll ${h.service} back to ${deploy.attributes.from_version} (kubectl -n ${workspace} rollout undo deployment/${h.service}) and watch its error ratio return to the baseline.`
          : `Roll back the last rollout of ${h.service} and watch its error ratio.`,
        `Then look at what the new version changed in the failing operation before rolling forward again.`,
      ];
    case 'cpu_throttling':
      return [
        `Raise ${h.service}'s CPU limit (or revert the change that lowered it) and confirm that throttling and latency fall back.`,
        `Check whether the rollout also changed a cache or worker setting that raised CPU use.`,
      ];
    case 'oom_crashloop':
      return [
        `Raise ${h.service}'s memory limit for now to stop the crash loop.`,
        `Then find what fills memory before each kill (for example a snapshot loaded at start, or a leak), using a heap profile from a live pod.`,
      ];
    case 'unavailable':
      return [`Check ${h.service}'s pods: readiness, restarts and endpoints; its callers see connections refused.`];
    default:
      return [
        `Read ${h.service}'s error lines and its slowest operations in the evidence above, and compare with the last change to ${h.service}.`,
      ];
  }
}

function sreSection(
  input: NarratorInput,
  f: Finder,
  hyps: Hypothesis[],
  quote: (t: string) => string,
): { lines: string[]; next: string[] } {
  const lines: string[] = [];
  const top = hyps.find((h) => !h.explained_by);
  const overview = f.all('service_change').concat(f.all('service_red'));
  const changes = [
    ...f.all('deploy'),
    ...f.all('rollout'),
    ...f.all('oom_kill'),
    ...f.all('crash_loop'),
    ...f.all('restart'),
    ...f.all('probe_failure'),
    ...f.all('image_pull_failure'),
  ];
  if (!top) {
    const md = f.one('metric_deviation');
    const services = new Set(overview.map((e) => e.service)).size;
    lines.push(`No fault found in ${input.workspace} in ${windowText(input.window, input.now ?? input.window.to)}.`);
    const checked = [
      overview.length ? `errors, latency and traffic of ${services} services match their baseline ${cite(overview[0]?.id)}` : '',
      md ? `no metric departs from its baseline by 5 robust deviations or more ${cite(md.id)}` : '',
      f.all('error_origin').length === 0 ? 'no trace shows a failing call' : '',
      f.all('log_template').some((e) => e.attributes.status === 'new' && /ERROR/.test(e.attributes.severity ?? ''))
        ? ''
        : 'no new error messages in the logs',
    ].filter(Boolean);
    if (checked.length) lines.push(`Checked: ${checked.join('; ')}.`);
    if (changes.length)
      lines.push(
        `Recent changes, none followed by a fault: ${changes
          .slice(0, 3)
          .map((e) => `${e.summary} ${cite(e.id)}`)
          .join('; ')}.`,
      );
    return { lines, next: [] };
  }
  lines.push(...sreCause(top, f, quote));
  // Impact: the other services that show errors or latency, symptoms of the cause.
  const affected = overview.filter((e) => e.service !== top.service && /errors_up|errors_high|latency_up/.test(e.attributes.signals ?? ''));
  if (affected.length) {
    lines.push(`Impact: ${affected.map((e) => `${e.service} ${redPhrase(e)} ${cite(e.id)}`).join('; ')}.`);
  }
  const steady = overview.filter(
    (e) => !/errors_up|errors_high|latency_up/.test(e.attributes.signals ?? '') && e.service !== top.service,
  ).length;
  if (steady) lines.push(`${steady} other service${steady > 1 ? 's look' : ' looks'} normal.`);
  const otherChanges = changes.filter((e) => e.service !== top.service).slice(0, 2);
  if (otherChanges.length)
    lines.push(`Other changes in the lookback: ${otherChanges.map((e) => `${e.summary} ${cite(e.id)}`).join('; ')}.`);
  const others = hyps.filter((h) => h !== top && !h.explained_by).slice(0, 2);
  if (others.length)
    lines.push(`Other candidates: ${others.map((h) => `${h.summary} ${cite(...h.evidence_ids.slice(0, 2))}`).join('; ')}.`);
  const victims = hyps.filter((h) => h.explained_by === top.service).map((h) => h.service);
  if (victims.length)
    lines.push(
      `${victims.join(' and ')} ${victims.length > 1 ? 'fail' : 'fails'} because ${victims.length > 1 ? 'they call' : 'it calls'} ${top.service}${top.path ? ` (path ${top.path.join(' → ')})` : ''}.`,
    );
  return { lines, next: sreNextSteps(top, f, input.workspace) };
}

function securitySection(f: Finder, hyps: Hypothesis[]): { lines: string[]; next: string[] } {
  const total = f.one('auth_failures_total') ?? f.one('no_auth_anomaly');
  const bursts = f.all('auth_burst');
  const suspicious = f.all('log_lines').find((e) => e.attributes && Object.values(e.attributes).some((v) => v.startsWith('pattern')));
  const lines: string[] = [];
  const top = hyps.find((h) => h.kind === 'brute_force');
  if (top && bursts.length) {
    lines.push(
      `A password-guessing attack on ${top.service}: ${bursts.map((b) => `${b.attributes.source} made ${b.numbers.failures} failed logins, up to ${b.numbers.peak_per_minute} a minute, against ${b.numbers.users} accounts ${cite(b.id)}`).join('; ')}.`,
    );
    if (total) lines.push(`${total.summary} ${cite(total.id)}.`);
  } else if (total) {
    lines.push(
      `Nothing suspicious in authentication: ${total.summary.replace(/; no source shows a burst, nothing suspicious$/, '')}, and no source shows a burst ${cite(total.id)}.`,
    );
  }
  if (suspicious) lines.push(`${suspicious.summary} ${cite(suspicious.id)}.`);
  else lines.push('No log line with suspicious content (injection, traversal, scanners, privilege changes).');
  const next = top
    ? [
        `Block or rate-limit ${bursts.map((b) => b.attributes.source).join(', ')} at the edge.`,
        `Check whether any targeted account logged in successfully from those addresses, and lock or force a password reset for those that did.`,
        `Turn on lockout or MFA for the targeted accounts if it is not on.`,
      ]
    : [];
  return { lines, next };
}

function efficiencySection(f: Finder, hyps: Hypothesis[]): { lines: string[]; next: string[] } {
  const lines: string[] = [];
  const next: string[] = [];
  const flagged = hyps.filter((h) => h.kind === 'overprovisioned' || h.kind === 'underprovisioned');
  for (const h of flagged.slice(0, 3)) {
    const e = f.all(h.kind, h.service)[0];
    if (!e) continue;
    lines.push(`${e.summary} ${cite(e.id)}.`);
    if (h.kind === 'overprovisioned') {
      const cpu = Math.max(0.05, Math.ceil((e.numbers.cpu_p95 ?? 0) * 1.5 * 20) / 20);
      const mem = Math.max(0.125, Math.ceil((e.numbers.memory_p95_gib ?? 0) * 1.5 * 8) / 8);
      next.push(
        `Lower ${h.service}'s requests to about ${cpu} CPU and ${mem} GiB per pod (1.5 times its p95 use) and watch its latency for a day.`,
      );
    } else {
      next.push(`Give ${h.service} more CPU or memory (or more replicas): ${e.attributes.reasons}.`);
    }
  }
  const totals = f.one('resource_totals');
  if (!flagged.length) lines.push(`Every workload is sized within bounds${totals ? `: ${totals.summary} ${cite(totals.id)}` : ''}.`);
  else if (totals) lines.push(`${totals.summary} ${cite(totals.id)}.`);
  return { lines, next };
}

/** Runbook hits an answer may cite: exact or strong matches, never weak ones. */
const citable = (e: Evidence) => e.kind !== 'runbook' || e.attributes.match === 'exact' || e.attributes.match === 'strong';

/** The runbook section (an exact or strong match) and past incident each specialist's consult step found first, in the given agent order. */
export function knowledgeRefs(
  evidence: Evidence[],
  runs: ToolRunSummary[],
  agents: string[],
): { runbooks: Evidence[]; incidents: Evidence[] } {
  const byId = new Map(evidence.map((e) => [e.id, e]));
  const pick = (tool: string) => {
    const out: Evidence[] = [];
    for (const agent of agents) {
      const run = runs.find((r) => r.agent === agent && r.tool === tool);
      const first = run?.evidence_ids.map((id) => byId.get(id)).find((e) => e !== undefined && citable(e));
      if (
        first &&
        !out.some((e) => e.attributes.citation === first.attributes.citation && e.attributes.incident_id === first.attributes.incident_id)
      )
        out.push(first);
    }
    return out;
  };
  return { runbooks: pick('search_runbooks'), incidents: pick('similar_incidents') };
}

/**
 * The answer written from the evidence alone, no model: root-cause
 * hypothesis with its evidence, impact, what changed, next steps. Every fact
 * carries its evidence ids.
 */
/** Which tool calls failed and why (naming the arguments a tool refused); empty when none did. */
export function gapsLine(runs: ToolRunSummary[]): string {
  const failed = runs.filter((r) => r.error);
  return failed.length ? `Some evidence could not be gathered: ${failed.map((r) => `${r.tool} (${r.error})`).join('; ')}.` : '';
}

const AGENT_NAMES: Record<string, string> = { sre: 'SRE', security: 'Security', efficiency: 'Efficiency' };

/**
 * Which specialists the question called for but the caller's roles did not
 * allow, and which role would include each; when none could answer, says so.
 */
export function skippedLine(skipped: { agent: string; reason: string }[], answered: number): string {
  if (!skipped.length) return '';
  const list = skipped.map((s) => `the ${AGENT_NAMES[s.agent] ?? s.agent} specialist (it ${s.reason})`).join(', ');
  return answered === 0
    ? `No specialist could look into this with your roles: the question needs ${list}. Ask someone with that role, or have it added to your token.`
    : `Not consulted: ${list}; this answer leaves out what it would have found.`;
}

/** What an answer looked at: the workspace, the window (dated when not today), the baseline, the tools that answered. */
export function lookedAtLine(
  workspace: string,
  window: TimeWindow,
  baseline: TimeWindow | undefined,
  now: number,
  runs: ToolRunSummary[],
): string {
  const checked = [...new Set(runs.filter((r) => !r.error).map((r) => r.tool))];
  return `(Looked at ${workspace}, ${windowText(window, now)}${baseline ? ` against ${windowText(baseline, now)}` : ''}${checked.length ? `; checked with ${checked.join(', ')}` : ''}.)`;
}

/** Notes on the window: a start in the future, one older than the window. */
export function timesLine(notes: string[]): string {
  return `Note: ${notes.join('; ')}.`;
}

/** Whether nothing the question or alert is about appears in the telemetry. */
export const subjectAbsent = (s: NarratorInput['subject']) => Boolean(s?.named.length && s.missing.length === s.named.length);

/**
 * The answer when nothing the question or alert is about appears in the
 * telemetry: say so and what was checked; other problems of the workspace
 * are listed as such, never as its cause.
 */
function absentSubjectAnswer(input: NarratorInput): string {
  const s = input.subject!;
  const parts = [
    `No telemetry in workspace ${input.workspace} names ${subjectText(s.missing)}: I checked ${SUBJECT_SEARCH} over the last 24 hours, so the evidence here cannot say what is wrong with it.`,
  ];
  const others = input.hypotheses.filter((h) => !h.explained_by).slice(0, 3);
  if (others.length) {
    parts.push(
      `Other problems in ${input.workspace} meanwhile, not shown to be related: ${others.map((h) => `${h.summary} ${cite(...h.evidence_ids.slice(0, 3))}`).join('; ')}.`,
    );
  }
  parts.push(
    `Next steps:\n- Check that ${subjectText(s.missing)} sends telemetry to this workspace (its collector or exporter, and the workspace attribute it sets).\n- Look at the alert's source directly for what it measured.`,
  );
  parts.push(
    input.fallbackReason
      ? `(Written from the evidence without the language model: ${input.fallbackReason}.)`
      : '(Written from the evidence by the deterministic narrator; no language model was used.)',
  );
  return parts.join('\n\n');
}

export function narrate(input: NarratorInput): string {
  if (subjectAbsent(input.subject)) return absentSubjectAnswer(input);
  const f = new Finder(input.evidence);
  const quote = (t: string) => (input.redact ?? ((x: string) => x))(t.length > 200 ? `${t.slice(0, 199)}…` : t);
  const parts: string[] = [];
  const next: string[] = [];
  const order = [...input.agents].sort((a, b) => {
    const first = input.hypotheses[0]?.agent;
    return a === first ? -1 : b === first ? 1 : 0;
  });
  for (const agent of order) {
    const hyps = input.hypotheses.filter((h) => h.agent === agent);
    const section =
      agent === 'sre' ? sreSection(input, f, hyps, quote) : agent === 'security' ? securitySection(f, hyps) : efficiencySection(f, hyps);
    if (section.lines.length) parts.push(section.lines.join(' '));
    next.push(...section.next);
  }
  const refs = knowledgeRefs(input.evidence, input.runs, order);
  if (refs.runbooks.length) {
    next.unshift(
      ...refs.runbooks.map((r) =>
        r.attributes.action_citation
          ? `Follow the runbook "${r.attributes.title}", section "${r.attributes.action_section}": ${r.attributes.action_citation} ${cite(r.id)}.`
          : `Follow the runbook "${r.attributes.title}", section "${r.attributes.section}": ${r.attributes.citation} ${cite(r.id)}.`,
      ),
    );
  }
  if (refs.incidents.length) {
    parts.push(
      `Seen before: ${refs.incidents
        .map(
          (e) =>
            `${e.summary.split(': ')[0]}, ${(e.attributes.root_kind ?? '').replace(/_/g, ' ')} in ${e.attributes.root_service} (thread ${e.attributes.thread_id}) ${cite(e.id)}`,
        )
        .join('; ')}.`,
    );
  }
  const skipped = skippedLine(input.skipped ?? [], input.agents.length);
  if (skipped) parts.unshift(skipped);
  if (input.subject?.missing.length)
    parts.unshift(
      `No telemetry in workspace ${input.workspace} names ${subjectText(input.subject.missing)} (checked: ${SUBJECT_SEARCH}, last 24 hours).`,
    );
  const gaps = gapsLine(input.runs);
  if (gaps) parts.push(gaps);
  if (input.notes?.length) parts.push(timesLine(input.notes));
  if (next.length) parts.push(`Next steps:\n${next.map((s) => `- ${s}`).join('\n')}`);
  parts.push(lookedAtLine(input.workspace, input.window, input.baseline, input.now ?? input.window.to, input.runs));
  parts.push(
    input.fallbackReason
      ? `(Written from the evidence without the language model: ${input.fallbackReason}.)`
      : '(Written from the evidence by the deterministic narrator; no language model was used.)',
  );
  return parts.join('\n\n');
}
