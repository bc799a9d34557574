import type { Evidence } from '../core/evidence.ts';
import type { Briefing, Chart } from './types.ts';

/** Escapes text for HTML content and attribute values: telemetry may hold markup. */
export function esc(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const W = 560;
const H = 140;
const PAD = { left: 48, right: 8, top: 10, bottom: 22 };

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const label = (v: number, unit: string) =>
  unit === '' ? `${(v * 100).toFixed(1)}%` : `${Math.abs(v) >= 100 ? Math.round(v) : v.toFixed(1)}${unit === 'ms' ? ' ms' : ''}`;

/** A small line chart as inline SVG: the series, the period shaded, anomaly windows marked in red. */
export function chartSvg(chart: Chart, e: Evidence, period: { start: string; end: string }): string {
  const pts = e.series?.points ?? [];
  if (pts.length < 2) return '';
  const t0 = pts[0]![0];
  const t1 = pts[pts.length - 1]![0];
  const max = Math.max(...pts.map((p) => p[1]), 1e-9);
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom);
  const clampX = (t: number) => Math.min(W - PAD.right, Math.max(PAD.left, x(t)));
  const band = (from: number, to: number, cls: string, title: string) =>
    `<rect class="${cls}" x="${clampX(from).toFixed(1)}" y="${PAD.top}" width="${Math.max(1, clampX(to) - clampX(from)).toFixed(1)}" height="${H - PAD.top - PAD.bottom}"><title>${esc(title)}</title></rect>`;
  const ps = Date.parse(period.start);
  const pe = Date.parse(period.end);
  const line = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(chart.title)}">
<title>${esc(chart.title)}</title>
${band(ps, pe, 'period', 'the period of this briefing')}
${chart.anomalies.map((a) => band(Date.parse(a.from), Date.parse(a.to), a.source === 'incident' ? 'incident' : 'anomaly', `${a.source === 'incident' ? 'incident' : 'anomaly'} ${hhmm(Date.parse(a.from))}–${hhmm(Date.parse(a.to))} UTC`)).join('\n')}
<path class="series" d="${line}"/>
<text x="2" y="${PAD.top + 8}">${esc(label(max, chart.unit))}</text><text x="2" y="${H - PAD.bottom}">0</text>
<text x="${PAD.left}" y="${H - 6}">${hhmm(t0)}</text><text x="${W - PAD.right}" y="${H - 6}" text-anchor="end">${hhmm(t1)} UTC</text>
</svg>`;
}

const CSS = `body{font:15px/1.45 system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#1d2330}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #dde}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border-bottom:1px solid #eee;padding:3px 6px;text-align:left}
.sev-critical{color:#b00020;font-weight:600}.sev-major{color:#c45000;font-weight:600}.sev-minor{color:#8a6d00}
.status{font-variant:small-caps}.quiet{color:#2e7d32}.muted{color:#667}code{font-size:.9em}
svg text{font-size:10px;fill:#667}svg .series{fill:none;stroke:#1f5fbf;stroke-width:1.5}
svg .period{fill:#1f5fbf;opacity:.06}svg .anomaly{fill:#d32f2f;opacity:.25}svg .incident{fill:#f57c00;opacity:.15}
.chart{margin:.6em 0}.summary{white-space:pre-line}`;

const fmtMetric = (v: number | null, unit: string) =>
  v === null ? '–' : unit === 'ratio' ? `${(v * 100).toFixed(2)}%` : `${v.toFixed(1)} ${unit}`;

/** The briefing as a page that reads well in a browser; every text from telemetry is escaped. */
export function renderBriefingHtml(b: Briefing): string {
  const byId = new Map(b.evidence.map((e) => [e.id, e]));
  const when = `${b.period.start.slice(0, 16).replace('T', ' ')} – ${b.period.end.slice(0, 16).replace('T', ' ')} UTC`;
  const incidents = b.incidents.length
    ? `<table><tr><th>status</th><th>severity</th><th>origin</th><th>services</th><th>from – to (UTC)</th><th>what</th><th>evidence</th></tr>${b.incidents
        .map(
          (i) =>
            `<tr><td class="status">${esc(i.status)}</td><td class="sev-${esc(i.severity)}">${esc(i.severity)}</td><td>${esc(i.origin)}</td><td>${esc(i.services.join(', '))}</td><td>${esc(i.start.slice(11, 16))} – ${esc(i.end.slice(11, 16))}</td><td>${esc(i.summary)}${i.runbooks.map((r) => `<br>runbook: <code>${esc(r.citation)}</code> (${esc(r.match)})`).join('')}</td><td>${esc(i.evidence_ids.join(' '))}</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="quiet">No incident.</p>';
  const charts = b.charts
    .map((c) => {
      const e = byId.get(c.evidence_id);
      return e
        ? `<figure class="chart">${chartSvg(c, e, b.period)}<figcaption>${esc(c.title)} [${esc(c.evidence_id)}]</figcaption></figure>`
        : '';
    })
    .join('\n');
  const findings = b.findings.length
    ? `<table><tr><th>status</th><th>severity</th><th>finding</th><th>evidence</th></tr>${b.findings
        .map(
          (f) =>
            `<tr><td class="status">${esc(f.status)}</td><td class="sev-${esc(f.severity)}">${esc(f.severity)}</td><td>${esc(f.summary)}</td><td>${esc(f.evidence_ids.join(' '))}</td></tr>`,
        )
        .join('')}</table>`
    : '<p class="muted">Nothing found.</p>';
  const metrics = `<table><tr><th>service</th><th>measure</th><th>period</th><th>previous period</th><th>a day earlier</th><th>trend</th></tr>${b.key_metrics
    .map(
      (m) =>
        `<tr><td>${esc(m.service)}</td><td>${esc(m.name)}</td><td>${esc(fmtMetric(m.value, m.unit))}</td><td>${esc(fmtMetric(m.previous, m.unit))}</td><td>${esc(fmtMetric(m.previous_day, m.unit))}</td><td>${esc(m.trend)}</td></tr>`,
    )
    .join('')}</table><p class="muted">Trend: ${esc(b.trend_rule)}.</p>`;
  const recs = b.recommendations.length
    ? `<ul>${b.recommendations.map((r) => `<li>${esc(r.text)} <span class="muted">[${esc(r.evidence_ids.join(' '))}]</span></li>`).join('')}</ul>`
    : '<p class="muted">None.</p>';
  const evidence = `<table><tr><th>id</th><th>tool</th><th>summary</th></tr>${b.evidence
    .map(
      (e) =>
        `<tr id="${esc(e.id)}"><td>${esc(e.id)}</td><td>${esc(e.tool)}</td><td>${esc(e.summary)}${(e.examples ?? []).map((x) => `<br><code>${esc(x)}</code>`).join('')}</td></tr>`,
    )
    .join('')}</table>`;
  const delivery = b.delivery.length
    ? `<ul>${b.delivery.map((d) => `<li>${esc(d.channel)} ${esc(d.target)}: ${esc(d.status)} after ${d.attempts} attempt(s)${d.error ? `: ${esc(d.error)}` : ''}</li>`).join('')}</ul>`
    : '<p class="muted">Not delivered (none configured, or a quiet period the policy does not deliver).</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(`${b.workspace} ${b.name} briefing ${when}`)}</title><style>${CSS}</style></head>
<body>
<h1>${esc(b.workspace)} · ${esc(b.name)} briefing</h1>
<p class="muted">${esc(when)} · written by the ${esc(b.path)}${b.model ? ` (${esc(b.model)})` : ''} · ${esc(b.id)}</p>
<p class="summary${b.quiet ? ' quiet' : ''}">${esc(b.summary)}</p>
<h2>Incidents</h2>${incidents}
<h2>Key series</h2>${charts || '<p class="muted">No series in the period.</p>'}
<h2>Recommendations</h2>${recs}
<h2>Findings since the last briefing</h2>${findings}
<h2>Key figures</h2>${metrics}
<h2>Delivery</h2>${delivery}
<h2>Evidence</h2>${evidence}
</body></html>`;
}
