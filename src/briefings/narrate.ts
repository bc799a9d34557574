import { hhmm } from '../core/window.ts';
import type { Finding, Incident, KeyMetric, Recommendation } from './types.ts';

const pct = (v: number) => `${(v * 100).toFixed(v > 0 && v < 0.001 ? 2 : 1)}%`;
/** Two significant digits, as the grounding check can match them against the evidence. */
const sig = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(2));
const num = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

export interface NarratorInput {
  workspace: string;
  period: { from: number; to: number };
  quiet: boolean;
  incidents: Incident[];
  findings: Finding[];
  keyMetrics: KeyMetric[];
  recommendations: Recommendation[];
}

const STATUS_WORD: Record<Incident['status'], string> = { new: 'New', ongoing: 'Ongoing', worse: 'Worse', resolved: 'Resolved' };

/** The workspace's figures in one line: total traffic, the highest error ratio (when any) and the slowest p95. */
function figuresLine(keyMetrics: KeyMetric[]): string {
  const traffic = keyMetrics.filter((m) => m.name === 'traffic');
  if (!traffic.length) return 'No requests were recorded in the period.';
  const busiest = [...traffic].sort((a, b) => b.value - a.value)[0]!;
  const worst = keyMetrics.filter((m) => m.name === 'error_ratio' && m.value > 0).sort((a, b) => b.value - a.value)[0];
  const slow = keyMetrics.filter((m) => m.name === 'p95_latency').sort((a, b) => b.value - a.value)[0];
  // Each figure is one the evidence states (a sum across services would be a number no tool measured).
  const parts = [
    `${traffic.length} services had traffic, the busiest ${busiest.service} with ${num(busiest.value)} req/min (${busiest.trend})`,
  ];
  parts.push(worst ? `the highest error ratio was ${worst.service}'s ${pct(worst.value)} (${worst.trend})` : 'no request failed');
  if (slow) parts.push(`the slowest p95 was ${slow.service}'s ${num(slow.value)} ms (${slow.trend})`);
  const busy = keyMetrics.filter((m) => m.name === 'saturation').sort((a, b) => b.value - a.value)[0];
  // The ratio is derived; the sentence states the measured figures it comes from, which the evidence holds.
  if (busy?.used !== undefined && busy.limit !== undefined)
    parts.push(`the most saturated was ${busy.service}, using ${sig(busy.used)} of its ${sig(busy.limit)} CPU limit (${busy.trend})`);
  const ids = [...new Set([busiest, worst, slow, busy].flatMap((m) => m?.evidence_ids.slice(0, 1) ?? []))].slice(0, 4);
  return `${parts.join('; ')} [${ids.join('][')}].`;
}

/** The deterministic narrator: always works, states only what the briefing holds, cites evidence ids. */
export function narrateBriefing(input: NarratorInput): string {
  const when = `${hhmm(input.period.from)}–${hhmm(input.period.to)} UTC`;
  if (input.quiet) {
    return `All quiet in ${input.workspace} ${when}: no incident and nothing new. ${figuresLine(input.keyMetrics)}`;
  }
  const active = input.incidents.filter((i) => i.status !== 'resolved');
  const resolved = input.incidents.filter((i) => i.status === 'resolved');
  const lines: string[] = [];
  lines.push(
    active.length
      ? `${active.length} incident${active.length > 1 ? 's' : ''} in ${input.workspace} ${when}.`
      : `No open incident in ${input.workspace} ${when}.`,
  );
  for (const i of active) {
    const cites = i.evidence_ids
      .slice(0, 4)
      .map((id) => `[${id}]`)
      .join('');
    lines.push(`${STATUS_WORD[i.status]}, ${i.severity}: ${i.summary}, from ${hhmm(i.start)} UTC, probable origin ${i.origin} ${cites}.`);
    if (i.runbooks.length)
      lines.push(`Runbook: ${i.runbooks.map((r) => `${r.title} (${r.citation})`).join('; ')} [${i.runbooks[0]!.evidence_id}].`);
  }
  for (const i of resolved) lines.push(`Resolved since the last briefing: ${i.summary}.`);
  const fresh = input.findings.filter((f) => (f.status === 'new' || f.status === 'worse') && f.severity !== 'info');
  if (fresh.length) {
    const shown = fresh.slice(0, 3).map((f) => `${f.summary} [${f.evidence_ids[0]}]`);
    lines.push(`${fresh.length} new or worse finding${fresh.length > 1 ? 's' : ''}: ${shown.join('; ')}${fresh.length > 3 ? '; …' : ''}.`);
  }
  lines.push(figuresLine(input.keyMetrics));
  return lines.join('\n');
}
