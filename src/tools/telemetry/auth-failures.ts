import { z } from 'zod';
import { defineTool } from '../definition.ts';
import { between, IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import type { Evidence } from '../../core/evidence.ts';
import { hhmm } from '../../core/window.ts';

interface SourceRow {
  source: string;
  failures: number;
  peak: number;
  users: string[];
  user_count: number;
  services: string[];
  first_seen: string;
  last_seen: string;
  baseline: number;
}
interface Totals {
  failures: number;
  sources: number;
  users: number;
  baseline: number;
}

const ms = (t: string) => Date.parse(t.endsWith('Z') ? t : `${t}Z`);

/** A failed authentication: by OpenTelemetry event attributes, or by the policy's body pattern. */
const FAILED_AUTH = `(
  (LogAttributes['event.outcome'] = 'failure' AND match(lower(LogAttributes['event.name']), 'login|logon|auth|sign'))
  OR (multiSearchAnyCaseInsensitiveUTF8(Body, {prefilter:Array(String)}) AND match(Body, concat('(?i)', {pattern:String}))))`;
/** The source address: OpenTelemetry attributes first, else the first IPv4 address in the message. */
const SOURCE = `coalesce(nullIf(LogAttributes['client.address'], ''), nullIf(LogAttributes['source.address'], ''),
  nullIf(LogAttributes['net.peer.ip'], ''), nullIf(extract(Body, '\\\\b(\\\\d{1,3}(?:\\\\.\\\\d{1,3}){3})\\\\b'), ''), '(unknown)')`;
const USER = `coalesce(nullIf(LogAttributes['user.name'], ''), nullIf(LogAttributes['enduser.id'], ''),
  nullIf(extract(Body, '(?i)user[= ]+([A-Za-z0-9._@-]+)'), ''), '(unknown)')`;

export const authFailures = defineTool({
  name: 'auth_failures',
  prefix: 'af',
  category: 'security',
  description:
    'Failed authentication events (from OpenTelemetry event attributes or log text) grouped by source address, targeted users and service, with per-minute bursts against the baseline. Says when nothing suspicious is found.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional(),
      top: z.number().int().min(1).max(50).default(10),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '1h',
  // The per-minute rate of an ordinary hour is all the baseline a burst needs.
  defaultBaseline: '1h',
  async run(run, args) {
    const policy = run.ctx.policy.auth_failures;
    const scope = `${IN_WORKSPACE} AND ${FAILED_AUTH} AND ({service:String} = '' OR ServiceName = {service:String})`;
    const params = {
      ...run.timeParams,
      pattern: policy.body_pattern,
      prefilter: policy.body_prefilter,
      service: args.service ?? '',
      top: args.top,
    };
    const time = `Timestamp >= fromUnixTimestamp64Milli(least({w_from:Int64}, {b_from:Int64})) AND Timestamp < fromUnixTimestamp64Milli(greatest({w_to:Int64}, {b_to:Int64}))`;
    const [sources, totals] = await Promise.all([
      run.query<SourceRow>(
        `SELECT source, sum(n) AS failures, max(n) AS peak, groupUniqArrayArray(5)(us) AS users, uniqExactMerge(u) AS user_count,
                groupUniqArrayArray(5)(svcs) AS services, toString(min(first)) AS first_seen, toString(max(last)) AS last_seen,
                sum(bn) AS baseline
         FROM (
           SELECT source, toStartOfMinute(Timestamp) AS minute, countIf(in_w) AS n, countIf(in_b) AS bn,
                  groupUniqArrayIf(5)(user, in_w) AS us, uniqExactStateIf(user, in_w) AS u, groupUniqArrayIf(3)(ServiceName, in_w) AS svcs,
                  minIf(Timestamp, in_w) AS first, maxIf(Timestamp, in_w) AS last
           FROM (
             SELECT ${SOURCE} AS source, ${USER} AS user, ServiceName, Timestamp,
                    ${between('Timestamp', 'w')} AS in_w, ${between('Timestamp', 'b')} AS in_b
             FROM otel_logs WHERE ${scope} AND ${time}
           )
           WHERE in_w OR in_b
           GROUP BY source, minute
         )
         GROUP BY source
         HAVING failures > 0
         ORDER BY failures DESC
         LIMIT {top:UInt32}`,
        params,
      ),
      run.query<Totals>(
        `SELECT countIf(in_w) AS failures, uniqExactIf(${SOURCE}, in_w) AS sources, uniqExactIf(${USER}, in_w) AS users, countIf(in_b) AS baseline
         FROM (SELECT *, ${between('Timestamp', 'w')} AS in_w, ${between('Timestamp', 'b')} AS in_b FROM otel_logs WHERE ${scope} AND ${time})`,
        params,
      ),
    ]);
    const t = totals.rows[0] ?? { failures: 0, sources: 0, users: 0, baseline: 0 };
    const w = run.window;
    const wMin = (w.to - w.from) / 60_000;
    const bMin = (w.baselineTo - w.baselineFrom) / 60_000;
    const failures = Number(t.failures);
    const baselinePerMin = Number(t.baseline) / bMin;
    const evidence: Evidence[] = [];
    // Suspicious: a per-minute burst, or many failures, or many accounts tried, from one source, well above the baseline.
    const bursts = sources.rows.filter((s) => {
      const n = Number(s.failures);
      const expected = (Number(s.baseline) / bMin) * wMin;
      const loud = Number(s.peak) >= policy.burst_per_minute || n >= 5 * policy.burst_per_minute || Number(s.user_count) >= 10;
      return loud && n >= 5 * Math.max(expected, 1) && Number(s.peak) >= 5 * Math.max(baselinePerMin, 0.2);
    });
    for (const s of bursts) {
      const first = ms(s.first_seen);
      const last = ms(s.last_seen);
      evidence.push(
        run.evidence({
          kind: 'auth_burst',
          service: s.services[0],
          summary: `${s.source}: ${s.failures} failed logins ${hhmm(first)}–${hhmm(last)} UTC, peak ${s.peak}/min, against ${s.user_count} user${Number(s.user_count) === 1 ? '' : 's'} (${s.users.join(', ')}) on ${s.services.join(', ')}`,
          numbers: {
            failures: Number(s.failures),
            peak_per_minute: Number(s.peak),
            users: Number(s.user_count),
            baseline_failures: Number(s.baseline),
            first_ms: first,
            last_ms: last,
          },
          attributes: { source: s.source, users: s.users.join(','), services: s.services.join(',') },
          baseline: run.baselineRange,
          query_id: sources.queryId,
          score: Number(s.peak),
        }),
      );
    }
    evidence.push(
      run.evidence({
        kind: bursts.length ? 'auth_failures_total' : 'no_auth_anomaly',
        summary:
          `${failures} failed authentications from ${t.sources} sources against ${t.users} users (${(failures / wMin).toFixed(1)}/min; baseline ${baselinePerMin.toFixed(1)}/min)` +
          (bursts.length
            ? `; ${bursts.length} source${bursts.length > 1 ? 's' : ''} in bursts account for ${Math.round((100 * bursts.reduce((a, b) => a + Number(b.failures), 0)) / Math.max(1, failures))}%`
            : '; no source shows a burst, nothing suspicious'),
        numbers: {
          failures,
          sources: Number(t.sources),
          users: Number(t.users),
          per_minute: round(failures / wMin),
          baseline_per_minute: round(baselinePerMin),
          burst_sources: bursts.length,
        },
        baseline: run.baselineRange,
        query_id: totals.queryId,
        score: bursts.length ? 1 : 0,
      }),
    );
    return { evidence, usesBaseline: true };
  },
});

const round = (v: number) => Math.round(v * 100) / 100;
