import { createHash } from 'node:crypto';
import type { Evidence } from '../core/evidence.ts';
import type { TimeWindow } from '../core/window.ts';
import { iso } from '../core/window.ts';
import { SEVERITY_RANK, type Finding, type Severity, type Status } from './types.ts';

/** A finding before it is compared with the previous briefing. */
export type Detected = Omit<Finding, 'status'>;

/** |robust score| from which a metric deviation is a finding (as metric_deviation marks anomalous). */
const METRIC_SCORE = 5;
/** Metric deviations kept per service: the strongest ones say it. */
const METRICS_PER_SERVICE = 2;

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);
const at = (ms: number | undefined) => (ms !== undefined && Number.isFinite(ms) && ms > 0 ? iso(ms) : undefined);

function errorSeverity(ratio: number): Severity {
  return ratio >= 0.2 ? 'critical' : ratio >= 0.05 ? 'major' : 'minor';
}

/**
 * Findings of a period from the evidence the briefing gathered: errors and
 * latency per service against the baseline, metric deviations, new and grown
 * log templates, changes inside the period (deploys, rollouts, restarts, OOM
 * kills), authentication bursts, and provisioning far from use.
 */
export function detect(evidence: Evidence[], period: TimeWindow): Detected[] {
  const out: Detected[] = [];
  const metricCount = new Map<string, number>();
  for (const e of evidence) {
    const service = e.service;
    switch (e.kind) {
      case 'service_change': {
        if (!service) break;
        const signals = (e.attributes.signals ?? '').split(',').filter(Boolean);
        const ratio = e.numbers.error_ratio ?? 0;
        if (signals.includes('errors_up') || signals.includes('errors_high'))
          out.push({
            fingerprint: `errors:${service}`,
            kind: 'errors',
            service,
            severity: errorSeverity(ratio),
            summary: e.summary,
            evidence_ids: [e.id],
            value: ratio,
          });
        if (signals.includes('latency_up'))
          out.push({
            fingerprint: `latency:${service}`,
            kind: 'latency',
            service,
            severity: (e.numbers.p95_ms ?? 0) >= 2 * (e.numbers.baseline_p95_ms ?? 0) ? 'major' : 'minor',
            summary: e.summary,
            evidence_ids: [e.id],
            value: e.numbers.p95_ms,
          });
        if (signals.includes('traffic_up') || signals.includes('traffic_down'))
          out.push({
            fingerprint: `traffic:${service}`,
            kind: 'traffic',
            service,
            severity: 'info',
            summary: e.summary,
            evidence_ids: [e.id],
            value: e.numbers.rate_per_min,
          });
        break;
      }
      case 'metric_deviation': {
        if (!service || Math.abs(e.numbers.score ?? 0) < METRIC_SCORE) break;
        const n = metricCount.get(service) ?? 0;
        if (n >= METRICS_PER_SERVICE) break;
        metricCount.set(service, n + 1);
        out.push({
          fingerprint: `metric:${service}:${e.attributes.signal ?? ''}:${e.attributes.direction ?? ''}`,
          kind: 'metric',
          service,
          severity: Math.abs(e.numbers.score ?? 0) >= 20 ? 'major' : 'minor',
          summary: e.summary,
          evidence_ids: [e.id],
          value: Math.abs(e.numbers.score ?? 0),
        });
        break;
      }
      case 'log_template': {
        const status = e.attributes.status;
        if (status !== 'new' && status !== 'grew') break;
        const sev = e.attributes.severity ?? '';
        if (!/WARN|ERROR|FATAL|CRIT/i.test(sev)) break;
        out.push({
          fingerprint: `log:${service ?? ''}:${short(e.attributes.template ?? e.summary)}`,
          kind: 'log',
          ...(service ? { service } : {}),
          severity: /ERROR|FATAL|CRIT/i.test(sev) ? 'major' : 'minor',
          summary: e.summary,
          evidence_ids: [e.id],
          // A new template starts when first seen; a grown one was there before, so its first sighting says nothing.
          ...(status === 'new' && at(e.numbers.first_seen_ms) ? { start: at(e.numbers.first_seen_ms) } : {}),
          ...(at(e.numbers.last_seen_ms) ? { end: at(e.numbers.last_seen_ms) } : {}),
          value: e.numbers.count,
        });
        break;
      }
      case 'deploy': {
        const when = e.numbers.at_ms ?? 0;
        if (!service || when < period.from || when >= period.to) break;
        out.push({
          fingerprint: `change:deploy:${service}:${e.attributes.to_version ?? ''}`,
          kind: 'change',
          service,
          severity: 'info',
          summary: e.summary,
          evidence_ids: [e.id],
          start: iso(when),
        });
        break;
      }
      case 'rollout':
      case 'restart':
      case 'scaling':
      case 'oom_kill':
      case 'crash_loop':
      case 'image_pull_failure':
      case 'probe_failure':
      case 'scheduling_failure':
      case 'eviction':
      case 'node':
      case 'volume': {
        const last = e.numbers.last_ms ?? 0;
        if (!service || last < period.from) break;
        const crash = e.kind === 'oom_kill' || e.kind === 'crash_loop';
        out.push({
          fingerprint: `${crash ? 'crash' : 'change'}:${e.kind}:${service}`,
          kind: crash ? 'crash' : 'change',
          service,
          severity: crash ? 'critical' : e.kind === 'rollout' || e.kind === 'scaling' ? 'info' : 'minor',
          summary: e.summary,
          evidence_ids: [e.id],
          ...(at(e.numbers.first_ms) ? { start: at(e.numbers.first_ms) } : {}),
          ...(at(e.numbers.last_ms) ? { end: at(e.numbers.last_ms) } : {}),
          value: e.numbers.events,
        });
        break;
      }
      case 'auth_burst':
        out.push({
          fingerprint: `auth:${e.attributes.source ?? ''}`,
          kind: 'auth',
          ...(service ? { service } : {}),
          severity: 'major',
          summary: e.summary,
          evidence_ids: [e.id],
          ...(at(e.numbers.first_ms) ? { start: at(e.numbers.first_ms) } : {}),
          ...(at(e.numbers.last_ms) ? { end: at(e.numbers.last_ms) } : {}),
          value: e.numbers.failures,
        });
        break;
      case 'overprovisioned':
      case 'underprovisioned':
        if (!service) break;
        out.push({
          fingerprint: `provisioning:${e.kind}:${service}`,
          kind: 'provisioning',
          service,
          severity: e.kind === 'underprovisioned' ? 'minor' : 'info',
          summary: e.summary,
          evidence_ids: [e.id],
        });
        break;
    }
  }
  // One finding per fingerprint: the first (tools list their strongest first).
  const first = new Map<string, Detected>();
  for (const f of out) if (!first.has(f.fingerprint)) first.set(f.fingerprint, f);
  return [...first.values()];
}

/** Worse: a higher severity, or a size at least half as large again as before. */
export function isWorse(now: { severity: Severity; value?: number }, before: { severity: Severity; value?: number }): boolean {
  if (SEVERITY_RANK[now.severity] > SEVERITY_RANK[before.severity]) return true;
  return now.value !== undefined && before.value !== undefined && before.value > 0 && now.value >= 1.5 * before.value;
}

/**
 * Since last time: each item is new, ongoing or worse against the previous
 * briefing's items of the same fingerprint; those of the previous briefing no
 * longer found are returned resolved.
 */
export function compare<
  T extends { fingerprint: string; severity: Severity; value?: number },
  P extends { fingerprint: string; severity: Severity; value?: number; status: Status },
>(current: T[], previous: P[] | undefined): { items: (T & { status: Status })[]; resolved: P[] } {
  const before = new Map((previous ?? []).filter((p) => p.status !== 'resolved').map((p) => [p.fingerprint, p]));
  const items = current.map((c) => {
    const p = before.get(c.fingerprint);
    const status: Status = !p ? 'new' : isWorse(c, p) ? 'worse' : 'ongoing';
    return { ...c, status };
  });
  const found = new Set(current.map((c) => c.fingerprint));
  const resolved = [...before.values()].filter((p) => !found.has(p.fingerprint)).map((p) => ({ ...p, status: 'resolved' as const }));
  return { items, resolved };
}
