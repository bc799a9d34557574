import { z } from 'zod';
import { defineTool } from '../definition.ts';
import { between, IN_WORKSPACE, type ToolRun } from '../run.ts';
import { windowFields } from '../window.ts';
import type { Evidence } from '../../core/evidence.ts';
import { hhmm } from '../../core/window.ts';

/** Kubernetes event reasons by the kind of change they record. */
const REASON_KIND: Record<string, string> = {
  ScalingReplicaSet: 'rollout',
  DeploymentRollback: 'rollout',
  RolloutRestart: 'rollout',
  Killing: 'restart',
  Started: 'restart',
  BackOff: 'crash_loop',
  CrashLoopBackOff: 'crash_loop',
  OOMKilling: 'oom_kill',
  OOMKilled: 'oom_kill',
  Unhealthy: 'probe_failure',
  ProbeWarning: 'probe_failure',
  SuccessfulRescale: 'scaling',
  FailedRescale: 'scaling',
  ErrImagePull: 'image_pull_failure',
  ImagePullBackOff: 'image_pull_failure',
  FailedScheduling: 'scheduling_failure',
  Evicted: 'eviction',
  NodeNotReady: 'node',
  NodeHasDiskPressure: 'node',
  NodeHasMemoryPressure: 'node',
  Rebooted: 'node',
  FailedMount: 'volume',
  FailedAttachVolume: 'volume',
};

/** The kind of change an event records; `Failed` with an image message is an image pull failure. */
function changeKind(reason: string, message: string): string | undefined {
  if (reason === 'Failed' && /image|pull/i.test(message)) return 'image_pull_failure';
  if (reason === 'BackOff' && /pull/i.test(message)) return 'image_pull_failure';
  if (reason === 'Killing' && /OOM|memory limit/i.test(message)) return 'oom_kill';
  return REASON_KIND[reason];
}

/** Which service a Kubernetes object belongs to: the longest service name that prefixes it (pods carry hash suffixes). */
function serviceOfObject(object: string, message: string, services: string[]): string | undefined {
  const byLength = [...services].sort((a, b) => b.length - a.length);
  for (const s of byLength) if (object === s || object.startsWith(`${s}-`)) return s;
  for (const s of byLength) if (new RegExp(`\\b${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(message)) return s;
  return undefined;
}

interface EventRow {
  ts: string;
  reason: string;
  kind: string;
  object: string;
  service: string;
  deployment: string;
  body: string;
}
interface VersionRow {
  service: string;
  version: string;
  first_seen: string;
  last_seen: string;
  n: number;
}

const ms = (t: string) => Date.parse(t.endsWith('Z') ? t : `${t}Z`);

async function versionsOf(run: ToolRun, service: string): Promise<{ rows: VersionRow[]; queryId: string }> {
  const sql = (table: string, column: string) =>
    `SELECT ServiceName AS service, ResourceAttributes['service.version'] AS version,
            toString(min(${column})) AS first_seen, toString(max(${column})) AS last_seen, count() AS n
     FROM ${table}
     WHERE ${IN_WORKSPACE} AND (${between(column, 'b')} OR ${between(column, 'w')})
       AND ({service:String} = '' OR ServiceName = {service:String})
     GROUP BY service, version
     HAVING version != ''`;
  const params = { ...run.timeParams, service };
  const fromMetrics = await run.query<VersionRow>(
    `SELECT service, version, toString(min(parseDateTime64BestEffort(first_seen, 9))) AS first_seen, toString(max(parseDateTime64BestEffort(last_seen, 9))) AS last_seen, sum(n) AS n
     FROM (${sql('otel_metrics_gauge', 'TimeUnix')} UNION ALL ${sql('otel_metrics_histogram', 'TimeUnix')})
     GROUP BY service, version`,
    params,
  );
  if (fromMetrics.rows.length > 0) return fromMetrics;
  return run.query<VersionRow>(sql('otel_traces', 'Timestamp'), params);
}

export const recentChanges = defineTool({
  name: 'recent_changes',
  prefix: 'rc',
  category: 'sre',
  description:
    'Changes in the window by service: rollouts and new versions (from Kubernetes events and service.version on telemetry), restarts, OOM kills, crash loops, failed probes, scaling, image pull and scheduling failures. Use it to see what changed before a problem started.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional().describe('only changes of this service'),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '6h',
  // Only to learn the version that ran before: a day is plenty.
  defaultBaseline: '1d',
  async run(run, args) {
    const service = args.service ?? '';
    const [events, versions, known] = await Promise.all([
      run.query<EventRow>(
        `SELECT toString(Timestamp) AS ts, LogAttributes['k8s.event.reason'] AS reason,
                ResourceAttributes['k8s.object.kind'] AS kind, ResourceAttributes['k8s.object.name'] AS object,
                ServiceName AS service, ResourceAttributes['k8s.deployment.name'] AS deployment,
                substring(Body, 1, 300) AS body
         FROM otel_logs
         WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')}
           AND TimestampTime >= toDateTime(intDiv({w_from:Int64}, 1000)) AND TimestampTime <= toDateTime(intDiv({w_to:Int64}, 1000))
           AND mapContains(LogAttributes, 'k8s.event.reason') AND LogAttributes['k8s.event.reason'] != ''
         ORDER BY Timestamp
         LIMIT 5000`,
        run.timeParams,
      ),
      // A version first seen inside the window, after another version, is a deploy even without events.
      // Metric points carry service.version too and are far fewer than spans; spans are the fallback.
      versionsOf(run, service),
      run.query<{ service: string }>(
        `SELECT DISTINCT ServiceName AS service FROM otel_traces
         WHERE ${IN_WORKSPACE} AND ${between('Timestamp', 'w')} AND ServiceName != ''`,
        run.timeParams,
      ),
    ]);
    const services = known.rows.map((r) => r.service);
    const groups = new Map<string, { service: string; kind: string; events: EventRow[] }>();
    for (const e of events.rows) {
      const kind = changeKind(e.reason, e.body);
      if (!kind) continue;
      const svc =
        e.deployment ||
        (e.service && services.includes(e.service) ? e.service : serviceOfObject(e.object, e.body, services)) ||
        e.object ||
        '(cluster)';
      if (service && svc !== service) continue;
      const key = `${svc}|${kind}`;
      let g = groups.get(key);
      if (!g) {
        g = { service: svc, kind, events: [] };
        groups.set(key, g);
      }
      g.events.push(e);
    }
    // Container starts during a rollout of the same service belong to the rollout, not to restarts.
    for (const [key, g] of groups) {
      if (g.kind !== 'restart') continue;
      const rollout = groups.get(`${g.service}|rollout`);
      if (!rollout) continue;
      const lo = ms(rollout.events[0]!.ts) - 60_000;
      const hi = ms(rollout.events[rollout.events.length - 1]!.ts) + 5 * 60_000;
      const during = g.events.filter((e) => e.reason === 'Started' && ms(e.ts) >= lo && ms(e.ts) <= hi);
      rollout.events.push(...during);
      rollout.events.sort((a, b) => ms(a.ts) - ms(b.ts));
      g.events = g.events.filter((e) => !during.includes(e));
      if (g.events.length === 0) groups.delete(key);
    }
    const evidence: Evidence[] = [];
    // Deploys seen as version changes, newest first.
    const bySvc = new Map<string, VersionRow[]>();
    for (const v of versions.rows) (bySvc.get(v.service) ?? bySvc.set(v.service, []).get(v.service)!).push(v);
    const deploys: { service: string; from: string; to: string; at: number }[] = [];
    for (const [svc, vs] of bySvc) {
      vs.sort((a, b) => ms(a.first_seen) - ms(b.first_seen));
      for (let i = 1; i < vs.length; i++) {
        const at = ms(vs[i]!.first_seen);
        if (at >= run.window.from && at < run.window.to) deploys.push({ service: svc, from: vs[i - 1]!.version, to: vs[i]!.version, at });
      }
    }
    deploys.sort((a, b) => b.at - a.at);
    for (const d of deploys) {
      const rollout = groups.get(`${d.service}|rollout`);
      evidence.push(
        run.evidence({
          kind: 'deploy',
          service: d.service,
          summary: `${d.service} version ${d.from} → ${d.to} first seen at ${hhmm(d.at)} UTC${rollout ? ` (rollout: ${rollout.events.length} Kubernetes events)` : ''}`,
          numbers: { at_ms: d.at, rollout_events: rollout?.events.length ?? 0 },
          attributes: { from_version: d.from, to_version: d.to, at: new Date(d.at).toISOString() },
          query_id: versions.queryId,
          score: 10,
          examples: rollout?.events.slice(0, 2).map((e) => `${hhmm(ms(e.ts))} ${e.reason}: ${e.body}`),
        }),
      );
    }
    const deployed = new Set(deploys.map((d) => d.service));
    const ordered = [...groups.values()].sort((a, b) => ms(b.events[b.events.length - 1]!.ts) - ms(a.events[a.events.length - 1]!.ts));
    for (const g of ordered) {
      if (g.kind === 'rollout' && deployed.has(g.service)) continue;
      const first = ms(g.events[0]!.ts);
      const last = ms(g.events[g.events.length - 1]!.ts);
      const reasons = [...new Set(g.events.map((e) => e.reason))];
      const when = first === last ? `at ${hhmm(first)}` : `${hhmm(first)}–${hhmm(last)}`;
      evidence.push(
        run.evidence({
          kind: g.kind,
          service: g.service,
          summary: `${g.service}: ${g.events.length} ${g.kind.replace(/_/g, ' ')} event${g.events.length > 1 ? 's' : ''} ${when} UTC (${reasons.join(', ')})`,
          numbers: { events: g.events.length, first_ms: first, last_ms: last },
          attributes: { reasons: reasons.join(','), first: new Date(first).toISOString(), last: new Date(last).toISOString() },
          query_id: events.queryId,
          score: ['oom_kill', 'crash_loop', 'image_pull_failure', 'probe_failure', 'rollout'].includes(g.kind) ? 5 : 2,
          examples: [...new Set(g.events.map((e) => `${e.reason}: ${e.body}`))].slice(0, 2),
        }),
      );
    }
    const notes = evidence.length === 0 ? ['no deploys, restarts or other Kubernetes changes in the window'] : [];
    if (events.rows.length >= 5000) notes.push('only the first 5000 events were read');
    return { evidence, notes, usesBaseline: false };
  },
});
