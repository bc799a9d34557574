import type { Evidence } from '../../../core/evidence.ts';
import type { Hypothesis } from '../../../core/hypothesis.ts';
import { downstream, pathBetween, entryPoints, type DependencyGraph } from '../../../tools/telemetry/dependencies.ts';
import { hhmm } from '../../../core/window.ts';

/** What the SRE evidence says about one service. */
interface ServiceSignals {
  service: string;
  evidence: Set<string>;
  /** Share of failed traces whose errors start here. */
  errorOrigin: number;
  unreachable: boolean;
  errorsUp: boolean;
  errorsHigh: boolean;
  latencyUp: boolean;
  /** Strongest anomalous metric scores, by family. */
  resource: { throttling: number; cpu: number; memory: number; restarts: number };
  serverMetric: number;
  deploy?: { at: number; from: string; to: string; id: string };
  rollout?: { at: number; id: string };
  oomOrCrash: boolean;
  newErrorLogs: number;
  latencyShare: number;
  /** From change_onset: how sharply the service changed at the incident start. */
  onset?: { score: number; own: number; changed: boolean; kind: string; explainedBy?: string; id: string; text: string };
}

const RESOURCE = { throttling: /throttl/i, restarts: /restart/i, memory: /memory|working_set|rss|heap/i, cpu: /cpu/i };

function signalsOf(evidence: Evidence[]): Map<string, ServiceSignals> {
  const map = new Map<string, ServiceSignals>();
  const get = (s: string) => {
    let x = map.get(s);
    if (!x) {
      x = {
        service: s,
        evidence: new Set(),
        errorOrigin: 0,
        unreachable: false,
        errorsUp: false,
        errorsHigh: false,
        latencyUp: false,
        resource: { throttling: 0, cpu: 0, memory: 0, restarts: 0 },
        serverMetric: 0,
        oomOrCrash: false,
        newErrorLogs: 0,
        latencyShare: 0,
      };
      map.set(s, x);
    }
    return x;
  };
  for (const e of evidence) {
    if (!e.service) continue;
    const s = get(e.service);
    switch (e.kind) {
      case 'service_change':
      case 'service_red': {
        const signals = (e.attributes.signals ?? '').split(',');
        if (signals.includes('errors_up')) s.errorsUp = true;
        if (signals.includes('errors_high')) s.errorsHigh = true;
        if (signals.includes('latency_up')) s.latencyUp = true;
        if (signals.some(Boolean)) s.evidence.add(e.id);
        break;
      }
      case 'error_origin':
        if ((e.numbers.share ?? 0) > s.errorOrigin) s.errorOrigin = e.numbers.share ?? 0;
        if (e.attributes.unreachable === 'true') s.unreachable = true;
        s.evidence.add(e.id);
        break;
      case 'latency_hotspot':
        s.latencyShare = Math.max(s.latencyShare, e.numbers.self_time_share ?? 0);
        break;
      case 'metric_deviation': {
        const score = Math.abs(e.numbers.score ?? 0);
        if (score < 5) break;
        const signal = e.attributes.signal ?? '';
        let family: keyof ServiceSignals['resource'] | undefined;
        for (const [k, re] of Object.entries(RESOURCE))
          if (re.test(signal)) {
            family = k as keyof ServiceSignals['resource'];
            break;
          }
        // A resource that fell (less work reaching the service, a restart) is no resource pressure.
        if (family && !/duration|latency/.test(signal) && e.attributes.direction !== 'down')
          s.resource[family] = Math.max(s.resource[family], score);
        else s.serverMetric = Math.max(s.serverMetric, score);
        s.evidence.add(e.id);
        break;
      }
      case 'deploy': {
        const at = e.numbers.at_ms ?? 0;
        if (!s.deploy || at > s.deploy.at)
          s.deploy = { at, from: e.attributes.from_version ?? '', to: e.attributes.to_version ?? '', id: e.id };
        break;
      }
      case 'rollout': {
        const at = e.numbers.first_ms ?? 0;
        if (!s.rollout || at > s.rollout.at) s.rollout = { at, id: e.id };
        break;
      }
      case 'change_onset': {
        const own = e.numbers.own_score ?? 0;
        if (!s.onset || own > s.onset.own)
          s.onset = {
            score: e.numbers.score ?? 0,
            own,
            changed: e.attributes.changed === 'true',
            kind: e.attributes.fault_kind ?? 'anomaly',
            ...(e.attributes.explained_by ? { explainedBy: e.attributes.explained_by } : {}),
            id: e.id,
            text: e.summary.replace(/^#\d+ \S+ /, ''),
          };
        break;
      }
      case 'oom_kill':
      case 'crash_loop':
        s.oomOrCrash = true;
        s.evidence.add(e.id);
        break;
      case 'log_template':
        if (
          (e.attributes.status === 'new' || e.attributes.status === 'grew') &&
          /ERROR|FATAL|CRITICAL/i.test(e.attributes.severity ?? '')
        ) {
          s.newErrorLogs += e.numbers.count ?? 0;
          s.evidence.add(e.id);
        }
        break;
    }
  }
  return map;
}

const resourceScore = (s: ServiceSignals) => Math.max(s.resource.throttling, s.resource.memory, s.resource.restarts, s.resource.cpu);

/** Evidence of a fault in the service itself, before weighing dependencies. */
function ownScore(s: ServiceSignals): number {
  return (
    4 * s.errorOrigin +
    (s.errorsUp ? 2 : s.errorsHigh ? 1.2 : 0) +
    (s.latencyUp ? 1.5 : 0) +
    (resourceScore(s) >= 5 ? 1.5 + Math.min(1.5, resourceScore(s) / 50) : 0) +
    (s.serverMetric >= 5 ? 0.8 : 0) +
    (s.oomOrCrash ? 2.5 : 0) +
    (s.newErrorLogs > 0 ? 0.7 : 0)
  );
}

function kindOf(s: ServiceSignals, windowFrom: number): string {
  if (s.oomOrCrash || s.resource.restarts >= 5) return 'oom_crashloop';
  if (s.resource.throttling >= 5) return 'cpu_throttling';
  const recentChange = (s.deploy && s.deploy.at >= windowFrom - 3 * 3600_000) || (s.rollout && s.rollout.at >= windowFrom - 3 * 3600_000);
  if (recentChange && (s.errorsUp || s.errorsHigh || s.errorOrigin > 0)) return 'bad_deploy';
  if (s.unreachable) return 'unavailable';
  if (s.onset?.changed && ONSET_KIND[s.onset.kind]) return ONSET_KIND[s.onset.kind]!;
  if (s.resource.memory >= 5) return 'memory_pressure';
  if (s.resource.cpu >= 5) return 'cpu_saturation';
  if (s.errorsUp || s.errorsHigh || s.errorOrigin > 0) return 'errors';
  if (s.latencyUp) return 'latency';
  return 'anomaly';
}

/** The hypothesis kind for the kind of signal that changed at the onset. */
const ONSET_KIND: Record<string, string> = {
  cpu: 'cpu_saturation',
  memory: 'memory_pressure',
  'latency/network': 'latency',
  errors: 'errors',
};

const KIND_TEXT: Record<string, string> = {
  bad_deploy: 'errors after a rollout',
  oom_crashloop: 'out-of-memory kills and a crash loop',
  cpu_throttling: 'CPU throttling',
  unavailable: 'not reachable by its callers',
  memory_pressure: 'memory pressure',
  cpu_saturation: 'CPU saturation',
  errors: 'errors',
  latency: 'latency or network delay',
  anomaly: 'anomalous metrics',
};

/** Evidence of a fault in the service itself when the onset is known: its change at the onset leads. */
function onsetOwnScore(s: ServiceSignals): number {
  return (s.onset?.score ?? 0) + 4 * s.errorOrigin + (s.oomOrCrash ? 2.5 : 0);
}

/**
 * Ranks root-cause candidates. Faults spread to callers, so the loudest
 * service is often a victim: a service whose anomaly is explained by an
 * anomalous dependency is marked and weighted down; its own resource signals,
 * where errors start, and a change that precedes the anomaly weigh up.
 *
 * When the incident start is known (change_onset ran), the change of each
 * service at the onset leads instead of the window-level comparisons (which
 * take in whatever else happens in the window): candidates are the services
 * that changed, scored by their onset score, plus where errors start, a
 * crash, and a recent rollout; a callee explains a caller as change_onset
 * found from the trace graph, or by starting the errors or crashing.
 */
export function rankRootCauses(evidence: Evidence[], graph: DependencyGraph, windowFrom: number): Hypothesis[] {
  const signals = signalsOf(evidence);
  const byOnset = [...signals.values()].some((s) => s.onset);
  const own = byOnset ? onsetOwnScore : ownScore;
  let anomalous = [...signals.values()].filter((s) =>
    byOnset ? s.onset?.changed || s.errorOrigin >= 0.2 || s.oomOrCrash : ownScore(s) >= 1.2 || s.errorOrigin >= 0.2,
  );
  // The three services that changed most at the onset are candidates too; when none of them (nor anything
  // else) changed clearly, they are weak ones, not none.
  const weak = byOnset && anomalous.length === 0;
  if (byOnset) {
    const most = [...signals.values()]
      .filter((s) => (s.onset?.own ?? 0) > 0)
      .sort((a, b) => b.onset!.score - a.onset!.score)
      .slice(0, 3);
    anomalous = [...new Set([...anomalous, ...most])];
  }
  const raw = new Map(anomalous.map((s) => [s.service, own(s)]));
  const entries = entryPoints(graph);
  const out: { h: Hypothesis; raw: number }[] = [];
  for (const s of anomalous) {
    let score = raw.get(s.service)!;
    // A dependency that is itself anomalous, and more of a cause (origin of errors, own resource signals, a crash), explains this one.
    const deps = downstream(graph, s.service);
    const explainer = anomalous
      .filter((d) => d.service !== s.service && deps.has(d.service))
      .filter((d) =>
        byOnset
          ? d.service === s.onset?.explainedBy || d.errorOrigin > s.errorOrigin || d.oomOrCrash
          : d.errorOrigin > s.errorOrigin || resourceScore(d) >= 5 || d.oomOrCrash || (d.deploy && !s.deploy),
      )
      .sort((a, b) => raw.get(b.service)! - raw.get(a.service)!)[0];
    // change_onset already weighted down the callers its graph explains.
    if (explainer && !(byOnset && explainer.service === s.onset?.explainedBy)) score *= 0.3;
    const changed = s.deploy ?? s.rollout;
    if (changed && changed.at >= windowFrom - 3 * 3600_000 && !explainer) score += 1.5;
    if (!byOnset && s.errorOrigin === 0 && s.unreachable === false && resourceScore(s) < 5 && !s.oomOrCrash && !changed && explainer)
      score *= 0.8;
    const kind = kindOf(s, windowFrom);
    const ids = [...s.evidence];
    if (s.onset) ids.unshift(s.onset.id);
    if (changed) ids.push(changed.id);
    const entry = entries.find((e) => e !== s.service && pathBetween(graph, e, s.service));
    const path = entry ? pathBetween(graph, entry, s.service) : undefined;
    const change = s.deploy
      ? `; ${s.service} ${s.deploy.from} → ${s.deploy.to} was rolled out at ${hhmm(s.deploy.at)} UTC`
      : s.rollout
        ? `; ${s.service} was rolled out at ${hhmm(s.rollout.at)} UTC`
        : '';
    const onsetText = byOnset && s.onset ? `; ${s.onset.text}` : '';
    out.push({
      raw: score,
      h: {
        service: s.service,
        kind,
        score: 0,
        evidence_ids: [...new Set(ids)],
        summary: explainer
          ? `${s.service} shows ${KIND_TEXT[kind]}, explained by its dependency ${explainer.service}`
          : `${s.service}: ${KIND_TEXT[kind]}${change}${onsetText}`,
        agent: 'sre',
        ...(path && path.length > 1 ? { path } : {}),
        ...(explainer ? { explained_by: explainer.service } : {}),
      },
    });
  }
  const max = Math.max(1, ...out.map((x) => x.raw));
  // Confidence: relative to the strongest candidate, damped when even that is weak.
  const damp = weak ? 0.25 : 1;
  return out
    .map(({ h, raw }) => ({ ...h, score: Math.round(1000 * damp * (raw / max) * Math.min(1, max / 4)) / 1000 }))
    .sort((a, b) => b.score - a.score);
}
