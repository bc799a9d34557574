import { z } from 'zod';
import { defineTool, fmt } from '../definition.ts';
import { between, IN_WORKSPACE } from '../run.ts';
import { windowFields } from '../window.ts';
import { PatternMiner } from '../patterns/miner.ts';
import type { Evidence } from '../../core/evidence.ts';
import { Severity, severityFilter } from './severity.ts';

interface Shape {
  service: string;
  n: number;
  bn: number;
  first_seen: string;
  last_seen: string;
  severity: number;
  severity_text: string;
  example: string;
}

interface TemplateStats {
  service: string;
  template: string;
  count: number;
  baselineCount: number;
  firstSeen: number;
  lastSeen: number;
  severity: number;
  severityText: string;
  example: string;
  status: 'new' | 'grew' | 'shrank' | 'gone' | 'steady';
  growth: number;
}

/** New (absent from the baseline), grew or shrank by a factor of 3 in rate, or steady. */
export function templateStatus(
  count: number,
  baselineCount: number,
  windowMin: number,
  baselineMin: number,
): { status: TemplateStats['status']; growth: number } {
  const rate = count / windowMin;
  const baseRate = baselineCount / baselineMin;
  const growth = baseRate > 0 ? rate / baseRate : count > 0 ? Infinity : 0;
  if (count === 0) return { status: 'gone', growth };
  if (baselineCount === 0) return { status: count >= 2 ? 'new' : 'steady', growth };
  if (growth >= 3 && count >= 5) return { status: 'grew', growth };
  if (growth <= 1 / 3 && baselineCount >= 5) return { status: 'shrank', growth };
  return { status: 'steady', growth };
}

const MAX_SHAPES = 20_000;
const ms = (t: string) => Date.parse(t.endsWith('Z') ? t : `${t}Z`);

export const logPatterns = defineTool({
  name: 'log_patterns',
  prefix: 'lp',
  category: 'sre',
  description:
    'Groups log messages into templates (variable parts shown as <*>) with counts, first and last seen, and which templates are new or grew against the baseline. Use it to see what the logs say without reading every line.',
  args: z
    .object({
      service: z.string().min(1).max(200).optional(),
      severity: Severity.optional().describe('minimum severity'),
      top: z.number().int().min(1).max(50).default(15),
      ...windowFields,
    })
    .strict(),
  defaultWindow: '30m',
  async run(run, args) {
    const sev = severityFilter(args.severity);
    // ClickHouse collapses messages that differ only in digits; the miner groups the shapes into templates.
    const { rows, queryId } = await run.query<Shape>(
      `SELECT ServiceName AS service, countIf(in_w) AS n, countIf(in_b) AS bn,
              toString(min(Timestamp)) AS first_seen, toString(max(Timestamp)) AS last_seen,
              max(SeverityNumber) AS severity, argMax(SeverityText, SeverityNumber) AS severity_text,
              any(substring(Body, 1, 300)) AS example
       FROM (
         SELECT ServiceName, Timestamp, SeverityNumber, SeverityText, Body,
                ${between('Timestamp', 'w')} AS in_w, ${between('Timestamp', 'b')} AS in_b
         FROM otel_logs
         WHERE ${IN_WORKSPACE}
           AND Timestamp >= fromUnixTimestamp64Milli(least({w_from:Int64}, {b_from:Int64}))
           AND Timestamp < fromUnixTimestamp64Milli(greatest({w_to:Int64}, {b_to:Int64}))
           AND LogAttributes['k8s.event.reason'] = ''
           AND ({service:String} = '' OR ServiceName = {service:String})
           AND ${sev.sql}
       )
       WHERE in_w OR in_b
       GROUP BY service, SeverityText, replaceRegexpAll(substring(Body, 1, 400), '[0-9]+', '0')
       ORDER BY n + bn DESC
       LIMIT ${MAX_SHAPES}`,
      { ...run.timeParams, ...sev.params, service: args.service ?? '' },
    );
    if (rows.length === 0) return { evidence: [], usesBaseline: true, notes: ['no log lines in the window or the baseline'] };
    const miners = new Map<string, PatternMiner>();
    const stats = new Map<string, Omit<TemplateStats, 'status' | 'growth' | 'template'>>();
    const handles: number[] = [];
    // One miner per service and severity: an error and a success line of the same shape are different findings.
    for (const r of rows) {
      const minerKey = `${r.service}\u0001${r.severity_text}`;
      let miner = miners.get(minerKey);
      if (!miner) {
        miner = new PatternMiner();
        miners.set(minerKey, miner);
      }
      handles.push(miner.add(r.example, Number(r.n) + Number(r.bn)));
    }
    // Templates are settled once every shape is in.
    for (const [i, r] of rows.entries()) {
      const minerKey = `${r.service}\u0001${r.severity_text}`;
      const id = miners.get(minerKey)!.templateOf(handles[i]!).id;
      const key = `${minerKey}#${id}`;
      const s = stats.get(key);
      const first = ms(r.first_seen);
      const last = ms(r.last_seen);
      if (!s) {
        stats.set(key, {
          service: r.service,
          count: Number(r.n),
          baselineCount: Number(r.bn),
          firstSeen: first,
          lastSeen: last,
          severity: Number(r.severity),
          severityText: r.severity_text,
          example: r.example,
        });
      } else {
        s.count += Number(r.n);
        s.baselineCount += Number(r.bn);
        s.firstSeen = Math.min(s.firstSeen, first);
        s.lastSeen = Math.max(s.lastSeen, last);
        if (Number(r.severity) > s.severity) {
          s.severity = Number(r.severity);
          s.severityText = r.severity_text;
          s.example = r.example;
        }
      }
    }
    const w = run.window;
    const wMin = (w.to - w.from) / 60_000;
    const bMin = (w.baselineTo - w.baselineFrom) / 60_000;
    const templates: TemplateStats[] = [];
    for (const [key, s] of stats) {
      const [minerKey, id] = [key.slice(0, key.lastIndexOf('#')), Number(key.slice(key.lastIndexOf('#') + 1))];
      const t = miners.get(minerKey)!.templates()[id - 1]!;
      templates.push({ ...s, template: t.text, ...templateStatus(s.count, s.baselineCount, wMin, bMin) });
    }
    const rank = (t: TemplateStats) =>
      (t.status === 'new' ? 1000 : t.status === 'grew' ? 500 : 0) +
      (t.severity >= 17 ? 200 : t.severity >= 13 ? 50 : 0) +
      Math.log10(1 + t.count);
    const inWindow = templates.filter((t) => t.count > 0 || t.status === 'gone').sort((a, b) => rank(b) - rank(a));
    const evidence: Evidence[] = inWindow.slice(0, args.top).map((t) =>
      run.evidence({
        kind: 'log_template',
        service: t.service || undefined,
        summary: `${t.service || '(no service)'} ${t.severityText || 'log'} ${t.status}: "${t.template}" ×${t.count} (baseline ×${t.baselineCount}${t.status === 'grew' ? `, ${fmt.ratio(t.growth)} the rate` : ''})`,
        numbers: {
          count: t.count,
          baseline_count: t.baselineCount,
          rate_per_min: round(t.count / wMin),
          baseline_rate_per_min: round(t.baselineCount / bMin),
          first_seen_ms: t.firstSeen,
          last_seen_ms: t.lastSeen,
        },
        attributes: {
          template: t.template,
          status: t.status,
          severity: t.severityText,
          first_seen: new Date(t.firstSeen).toISOString(),
          last_seen: new Date(t.lastSeen).toISOString(),
        },
        baseline: run.baselineRange,
        query_id: queryId,
        score: rank(t),
        examples: [t.example.length >= 300 ? `${t.example}…` : t.example],
      }),
    );
    const total = templates.reduce((n, t) => n + t.count, 0);
    const fresh = templates.filter((t) => t.status === 'new').length;
    const grew = templates.filter((t) => t.status === 'grew').length;
    const notes = [`${total} lines in ${inWindow.length} templates; ${fresh} new, ${grew} grew against the baseline`];
    if (rows.length >= MAX_SHAPES) notes.push(`only the ${MAX_SHAPES} most frequent message shapes were mined`);
    return { evidence, usesBaseline: true, notes };
  },
});

const round = (v: number) => Math.round(v * 100) / 100;
