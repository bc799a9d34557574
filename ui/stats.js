import { api } from './api.js';
import { empty, failure, h, replace, table } from './dom.js';

/** The service's own figures (roles admin or auditor): counts, a breakdown, and latencies per route, node and tool. */

const PERIODS = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
const BREAKDOWNS = ['intent', 'tool', 'specialist', 'workspace', 'severity', 'status'];
const ms = (v) => (typeof v === 'number' ? `${Math.round(v)} ms` : '—');
const cell = (v) => (v === null || v === undefined ? '—' : typeof v === 'number' ? String(Number(v.toPrecision(4))) : String(v));

function latencies(caption, rows) {
  if (!rows.length) return empty(`${caption}: nothing recorded in this period.`);
  return table(
    caption,
    ['Name', 'Count', 'Errors', 'p50', 'p95', 'p99'],
    rows.map((r) => [r.name, String(r.count), String(r.errors), ms(r.p50_ms), ms(r.p95_ms), ms(r.p99_ms)]),
  );
}

/** A table of records whose columns are the union of their keys (model and answer figures). */
function records(caption, rows) {
  if (!rows.length) return empty(`${caption}: nothing recorded in this period.`);
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return table(
    caption,
    keys.map((k) => k.replaceAll('_', ' ')),
    rows.map((r) => keys.map((k) => cell(r[k]))),
  );
}

export async function render(main, ctx) {
  if (!ctx.hasRole('admin', 'auditor')) {
    replace(main, h('h1', {}, 'Stats'), empty('The service’s stats need the role admin or auditor.'));
    return;
  }
  const periodSelect = h(
    'select',
    { id: 'stats-period' },
    Object.keys(PERIODS).map((p) => h('option', { value: p, selected: p === '24h' }, `last ${p}`)),
  );
  const bySelect = h(
    'select',
    { id: 'stats-by' },
    BREAKDOWNS.map((b) => h('option', { value: b }, b)),
  );
  const body = h('div', { 'aria-live': 'polite' });
  replace(
    main,
    h('h1', {}, 'Stats'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'stats-period' }, 'Period '),
      periodSelect,
      h('label', { for: 'stats-by' }, ' Breakdown by '),
      bySelect,
    ),
    body,
  );
  const load = async () => {
    const to = new Date();
    const from = new Date(to.getTime() - PERIODS[periodSelect.value]);
    const q = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    replace(body, h('p', { class: 'muted' }, 'Loading…'));
    try {
      const [summary, breakdown, perf] = await Promise.all([
        api(`v1/stats/summary?${q}`),
        api(`v1/stats/breakdown?${q}&by=${encodeURIComponent(bySelect.value)}`),
        api(`v1/stats/performance?${q}`),
      ]);
      replace(
        body,
        h('p', { class: 'muted small' }, `Workspaces: ${summary.period.workspaces.join(', ') || 'none'}`),
        table(
          'Counts',
          ['What', 'Count'],
          Object.entries(summary.counts).map(([k, v]) => [k.replaceAll('_', ' '), String(v)]),
        ),
        table(
          'Proposals by outcome',
          ['Outcome', 'Count'],
          Object.entries(summary.proposals).map(([k, v]) => [k.replaceAll('_', ' '), String(v)]),
        ),
        breakdown.rows.length
          ? table(
              `By ${breakdown.by}`,
              [breakdown.by, 'Count', 'Errors'],
              breakdown.rows.map((r) => [r.key, String(r.count), String(r.errors)]),
            )
          : empty(`By ${breakdown.by}: nothing recorded in this period.`),
        latencies('Routes', perf.routes),
        latencies('Graph nodes', perf.nodes),
        latencies('Tools', perf.tools),
        records('Models, per prompt version', perf.models),
        records('Answers, per synthesis prompt version', perf.answers),
      );
    } catch (err) {
      if (err.status !== 401) replace(body, failure(err));
    }
  };
  periodSelect.addEventListener('change', load);
  bySelect.addEventListener('change', load);
  await load();
}
