import { createHash } from 'node:crypto';
import type { Evidence } from '../core/evidence.ts';
import type { Hypothesis } from '../core/hypothesis.ts';
import { iso, type TimeWindow } from '../core/window.ts';
import { downstream, type DependencyGraph } from '../tools/telemetry/dependencies.ts';
import type { Detected } from './detect.ts';
import { SEVERITY_RANK, type Incident, type Severity } from './types.ts';

/** An incident before it is compared with the previous briefing and looked up in the knowledge. */
export type EventDraft = Omit<Incident, 'status' | 'runbooks' | 'similar_incidents'> & { score: number; value: number };

/**
 * Root-cause candidates at or above this confidence (relative to the
 * strongest, damped when even that is weak; see rankRootCauses) start an
 * incident; weaker ones are findings only.
 */
export const ORIGIN_MIN_SCORE = 0.3;
/** Findings this close in time to an incident's window may belong to it. */
const NEAR_MS = 10 * 60_000;
const SYMPTOMS = new Set<Detected['kind']>(['errors', 'latency', 'metric', 'log', 'crash', 'anomaly']);
const CRITICAL_KINDS = new Set(['oom_crashloop', 'unavailable']);

export const incidentId = (workspace: string, fingerprint: string) =>
  `in_${createHash('sha256').update(`${workspace}|${fingerprint}`).digest('hex').slice(0, 12)}`;

const connected = (graph: DependencyGraph, a: string, b: string) => a === b || downstream(graph, a).has(b) || downstream(graph, b).has(a);

interface Group {
  origin: Hypothesis;
  services: Set<string>;
  evidence: Set<string>;
  findings: Detected[];
  score: number;
}

const timeOf = (s: string | undefined) => (s ? Date.parse(s) : undefined);

/**
 * Event synthesis: root-cause candidates that no anomalous dependency
 * explains start incidents; the candidates they explain join them; findings
 * of services connected to an incident in the dependency graph, close to it in
 * time, become its evidence; two incidents whose origins are connected merge
 * into the stronger. An authentication burst is an incident of its own.
 */
export function synthesize(
  workspace: string,
  hypotheses: Hypothesis[],
  findings: Detected[],
  evidence: Evidence[],
  graph: DependencyGraph,
  period: TimeWindow,
): EventDraft[] {
  const byId = new Map(evidence.map((e) => [e.id, e]));
  const groups: Group[] = [];
  for (const h of hypotheses.filter((x) => !x.explained_by && x.score >= ORIGIN_MIN_SCORE)) {
    const into = groups.find((g) => connected(graph, g.origin.service, h.service));
    if (into) {
      // Connected origins are one incident: the stronger (listed first) stays the origin.
      into.services.add(h.service);
      for (const id of h.evidence_ids) into.evidence.add(id);
      continue;
    }
    groups.push({ origin: h, services: new Set([h.service]), evidence: new Set(h.evidence_ids), findings: [], score: h.score });
  }
  // Symptoms explained by an origin join its incident (following chains of explanation).
  const rootOf = (s: string, depth = 0): string => {
    const h = hypotheses.find((x) => x.service === s);
    return h?.explained_by && depth < 10 ? rootOf(h.explained_by, depth + 1) : s;
  };
  for (const h of hypotheses.filter((x) => x.explained_by)) {
    const g = groups.find((x) => x.services.has(rootOf(h.service)));
    if (!g) continue;
    g.services.add(h.service);
    for (const id of h.evidence_ids) g.evidence.add(id);
  }
  for (const f of findings) {
    if (!f.service || f.kind === 'auth' || f.kind === 'provisioning' || f.kind === 'traffic') continue;
    const start = timeOf(f.start) ?? period.from;
    if (start > period.to + NEAR_MS || (timeOf(f.end) ?? period.to) < period.from - NEAR_MS) continue;
    const g = groups.find((x) => x.services.has(f.service!)) ?? groups.find((x) => connected(graph, x.origin.service, f.service!));
    if (!g) continue;
    if (SYMPTOMS.has(f.kind) || f.kind === 'change') {
      if (f.kind !== 'change' || g.services.has(f.service)) {
        g.findings.push(f);
        if (SYMPTOMS.has(f.kind) && f.severity !== 'info') g.services.add(f.service);
      }
    }
  }
  const out: EventDraft[] = groups.map((g) => {
    const ids = [...new Set([...g.evidence, ...g.findings.flatMap((f) => f.evidence_ids)])];
    // When it started: the origin's change that preceded it (if in or just before the period), or the first timed finding.
    const changeAt = g.origin.evidence_ids
      .map((id) => byId.get(id))
      .filter((e): e is Evidence => e !== undefined && (e.kind === 'deploy' || e.kind === 'rollout'))
      .map((e) => e.numbers.at_ms ?? e.numbers.first_ms ?? 0)
      .filter((t) => t >= period.from - (period.to - period.from) && t < period.to);
    const starts = [...changeAt, ...g.findings.map((f) => timeOf(f.start)).filter((t): t is number => t !== undefined)];
    const start = Math.max(starts.length ? Math.min(...starts) : period.from, period.from - (period.to - period.from));
    const open = g.findings.some((f) => SYMPTOMS.has(f.kind) && !f.end) || g.findings.length === 0;
    const ends = g.findings.map((f) => timeOf(f.end)).filter((t): t is number => t !== undefined);
    const end = open || !ends.length ? period.to : Math.min(period.to, Math.max(...ends));
    let severity: Severity = 'minor';
    for (const f of g.findings) if (SEVERITY_RANK[f.severity] > SEVERITY_RANK[severity]) severity = f.severity;
    if (CRITICAL_KINDS.has(g.origin.kind)) severity = 'critical';
    const services = [g.origin.service, ...[...g.services].filter((s) => s !== g.origin.service).sort()];
    const fingerprint = `incident:${g.origin.service}`;
    const errorRatio = Math.max(0, ...g.findings.filter((f) => f.kind === 'errors').map((f) => f.value ?? 0));
    return {
      id: incidentId(workspace, fingerprint),
      fingerprint,
      start: iso(start),
      end: iso(end),
      severity,
      services,
      origin: g.origin.service,
      kind: g.origin.kind,
      summary: `${g.origin.summary}${services.length > 1 ? `; affects ${services.slice(1).join(', ')}` : ''}`,
      evidence_ids: ids,
      score: g.score,
      value: errorRatio,
    };
  });
  // Authentication bursts: one incident per attacked service, however many sources take part.
  const bursts = new Map<string, Detected[]>();
  for (const f of findings.filter((x) => x.kind === 'auth')) {
    const key = f.service ?? 'unknown';
    bursts.set(key, [...(bursts.get(key) ?? []), f]);
  }
  for (const [service, fs] of bursts) {
    const fingerprint = `incident:auth:${service}`;
    const starts = fs.map((f) => timeOf(f.start) ?? period.from);
    const ends = fs.map((f) => timeOf(f.end) ?? period.to);
    const failures = fs.reduce((a, f) => a + (f.value ?? 0), 0);
    out.push({
      id: incidentId(workspace, fingerprint),
      fingerprint,
      start: iso(Math.min(...starts)),
      end: iso(Math.max(...ends)),
      severity: fs.some((f) => f.severity === 'critical') ? 'critical' : 'major',
      services: service === 'unknown' ? [] : [service],
      origin: service,
      kind: 'brute_force',
      summary:
        fs.length === 1
          ? fs[0]!.summary
          : `failed-login bursts from ${fs.length} sources against ${service}: ${fs
              .slice(0, 3)
              .map((f) => f.summary.split(':')[0])
              .join(', ')}${fs.length > 3 ? ', …' : ''}`,
      evidence_ids: fs.flatMap((f) => f.evidence_ids),
      score: 1,
      value: failures,
    });
  }
  return out.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || b.score - a.score);
}
