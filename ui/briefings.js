import { api } from './api.js';
import { lineChart } from './chart.js';
import { empty, failure, h, link, replace, when } from './dom.js';
import { showEvidence } from './thread.js';

/** The workspace's briefings, and one with its figures, incidents, recommendations and charts. */

const num = (v) => (v === null || v === undefined ? '—' : String(Number.isInteger(v) ? v : Number(v.toPrecision(4))));

export async function render(main, _ctx, [id]) {
  if (id) return renderOne(main, id);
  const list = h('ul', { class: 'thread-list' });
  replace(main, h('h1', {}, 'Briefings'), list);
  try {
    const res = await api('v1/briefings?limit=50');
    if (!res.briefings.length) list.append(h('li', {}, empty('No briefings yet.')));
    for (const b of res.briefings) {
      list.append(
        h(
          'li',
          {},
          link(['briefings', b.id], `${b.name}: ${when(b.period.start)} – ${when(b.period.end)}`),
          h(
            'span',
            { class: 'muted small' },
            ` ${b.quiet ? 'quiet' : `${b.incidents} open incident${b.incidents === 1 ? '' : 's'}`} · ${b.summary}`,
          ),
        ),
      );
    }
  } catch (err) {
    if (err.status !== 401) replace(list, failure(err));
  }
}

async function renderOne(main, id) {
  const body = h('div');
  replace(main, h('p', {}, h('a', { href: '#/briefings' }, '← All briefings')), body);
  try {
    const b = await api(`v1/briefings/${encodeURIComponent(id)}`);
    const evidence = new Map(b.evidence.map((e) => [e.id, e]));
    const cite = (ids) =>
      ids.map((eid) => {
        const btn = h('button', { type: 'button', class: 'cite' }, `[${eid}]`);
        btn.addEventListener('click', () => showEvidence(eid, evidence));
        return [' ', btn];
      });
    const page = h('button', { type: 'button' }, 'Save the HTML page');
    page.addEventListener('click', () => savePage(b.id, page));
    replace(
      body,
      h('h1', {}, `${b.name} briefing, ${when(b.period.start)} – ${when(b.period.end)}`),
      h('p', {}, b.summary),
      h('div', { class: 'toolbar' }, page),
      b.key_metrics.length
        ? h(
            'table',
            { class: 'grid' },
            h('caption', {}, 'Key figures'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Service', 'Measure', 'Value', 'Previous', 'Trend'].map((t) => h('th', { scope: 'col' }, t)),
              ),
            ),
            h(
              'tbody',
              {},
              b.key_metrics.map((m) =>
                h(
                  'tr',
                  {},
                  h('td', {}, m.service),
                  h('td', {}, m.name),
                  h('td', {}, `${num(m.value)} ${m.unit}`),
                  h('td', {}, num(m.previous)),
                  h('td', {}, m.trend ?? ''),
                ),
              ),
            ),
          )
        : null,
      h('h2', {}, 'Incidents'),
      b.incidents.length
        ? h(
            'ul',
            {},
            b.incidents.map((i) => h('li', {}, `${i.status ?? ''} ${i.summary}`, cite(i.evidence_ids))),
          )
        : empty('No incidents in this period.'),
      h('h2', {}, 'Recommendations'),
      b.recommendations.length
        ? h(
            'ul',
            {},
            b.recommendations.map((r) => h('li', {}, r.text, cite(r.evidence_ids))),
          )
        : empty('None.'),
      b.charts.length
        ? h(
            'div',
            { class: 'charts' },
            b.charts.map((c) => {
              const e = evidence.get(c.evidence_id);
              return lineChart({ title: c.title, unit: c.unit, service: c.service, points: e?.series?.points ?? [] });
            }),
          )
        : null,
      b.gaps.length ? h('p', { class: 'muted' }, `Could not read: ${b.gaps.join('; ')}`) : null,
    );
  } catch (err) {
    if (err.status !== 401) replace(body, failure(err));
  }
}

/** The service's HTML rendering, fetched with the token and saved as a file (it has its own styles and CSP). */
async function savePage(id, button) {
  button.disabled = true;
  try {
    const html = await api(`v1/briefings/${encodeURIComponent(id)}.html`, { as: 'text' });
    const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
    const a = h('a', { href: url, download: `${id}.html` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) {
    button.after(failure(err));
  } finally {
    button.disabled = false;
  }
}
