import { api, stream } from './api.js';
import { lineChart } from './chart.js';
import { h, link, replace, when } from './dom.js';

/**
 * A thread as the chat and alert pages show it: its messages, each answer
 * with its citations, charts and proposals, the evidence behind them in a
 * dialog, and a turn streamed as it happens.
 */

let dialog;
function openDialog(title, ...body) {
  if (!dialog) {
    dialog = h('dialog', { class: 'panel', 'aria-labelledby': 'dialog-title' });
    document.body.append(dialog);
  }
  const close = h('button', { type: 'button', class: 'close' }, 'Close');
  close.addEventListener('click', () => dialog.close());
  replace(
    dialog,
    h('div', { class: 'panel-head' }, h('h2', { id: 'dialog-title' }, title), close),
    h('div', { class: 'panel-body' }, body),
  );
  dialog.showModal();
  close.focus();
}

/** One evidence item in full: its summary, numbers, attributes, examples (log lines as text) and series. */
export function showEvidence(id, evidence) {
  const e = evidence.get(id);
  if (!e) return openDialog(`Evidence ${id}`, h('p', { class: 'empty' }, 'This evidence item is not in the thread.'));
  const rows = (obj) =>
    Object.entries(obj ?? {}).map(([k, v]) =>
      h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, typeof v === 'number' ? String(v) : v)),
    );
  openDialog(
    `Evidence ${e.id}`,
    h('p', { class: 'evidence-summary' }, e.summary),
    h(
      'p',
      { class: 'muted' },
      `${e.tool} · ${e.kind}${e.service ? ` · ${e.service}` : ''} · ${when(e.window?.from)} – ${when(e.window?.to)}`,
    ),
    e.series?.points?.length ? lineChart({ title: e.kind, unit: e.series.unit, points: e.series.points, service: e.service }) : null,
    Object.keys(e.numbers ?? {}).length ? h('table', { class: 'kv' }, h('caption', {}, 'Numbers'), h('tbody', {}, rows(e.numbers))) : null,
    Object.keys(e.attributes ?? {}).length
      ? h('table', { class: 'kv' }, h('caption', {}, 'Attributes'), h('tbody', {}, rows(e.attributes)))
      : null,
    e.examples?.length ? [h('h3', {}, 'Examples'), h('pre', { class: 'examples' }, e.examples.join('\n'))] : null,
    h('p', { class: 'muted' }, `Query ${e.query_id}`),
  );
}

/** A runbook citation: the section's title and snippet from the runbook search, and where it lives. */
async function showRunbook(c) {
  openDialog(c.title, h('p', { class: 'muted' }, `${c.section} · ${c.citation}`), h('p', { class: 'muted' }, 'Loading the section…'));
  try {
    const q = new URLSearchParams({ q: `${c.title} ${c.section}`.slice(0, 200), k: '5' });
    const res = await api(`v1/runbooks/search?${q}`);
    const hit = res.hits.find((x) => x.citation === c.citation) ?? res.hits[0];
    openDialog(
      c.title,
      h('p', { class: 'muted' }, `Section: ${c.section}`),
      h('p', {}, h('code', {}, c.citation)),
      hit ? h('pre', { class: 'snippet' }, hit.snippet) : h('p', { class: 'empty' }, 'The section was not found in the runbooks.'),
    );
  } catch (err) {
    openDialog(c.title, h('p', { class: 'error' }, err.message));
  }
}

/** Answer text with each [evidence id] it cites as a button that opens the item. */
function citedText(text, evidence) {
  const p = h('div', { class: 'answer-text' });
  for (const para of text.split(/\n{2,}/)) {
    const el = h('p');
    let last = 0;
    for (const m of para.matchAll(/\[([A-Za-z0-9_.:#/-]{1,100})\]/g)) {
      if (!evidence.has(m[1])) continue;
      el.append(document.createTextNode(para.slice(last, m.index)));
      const b = h('button', { type: 'button', class: 'cite', 'aria-label': `Evidence ${m[1]}` }, `[${m[1]}]`);
      b.addEventListener('click', () => showEvidence(m[1], evidence));
      el.append(b);
      last = m.index + m[0].length;
    }
    el.append(document.createTextNode(para.slice(last)));
    p.append(el);
  }
  return p;
}

/** An answer: its text, runbook citations, charts, proposed actions and how it was made. */
export function renderAnswer(text, meta, evidence) {
  const parts = [citedText(text, evidence)];
  if (meta?.citations?.length) {
    parts.push(
      h(
        'div',
        { class: 'citations' },
        h('h3', {}, 'Runbooks'),
        h(
          'ul',
          {},
          meta.citations.map((c) => {
            const b = h('button', { type: 'button', class: 'link runbook' }, `${c.title} — ${c.section}`);
            b.addEventListener('click', () => showRunbook(c));
            return h('li', {}, b, ' ', h('code', { class: 'muted' }, c.citation));
          }),
        ),
      ),
    );
  }
  if (meta?.charts?.length) {
    parts.push(
      h(
        'div',
        { class: 'charts' },
        meta.charts.map((c) => {
          const fig = lineChart(c);
          const b = h('button', { type: 'button', class: 'link' }, `Evidence ${c.evidence_id}`);
          b.addEventListener('click', () => showEvidence(c.evidence_id, evidence));
          fig.append(b);
          return fig;
        }),
      ),
    );
  }
  if (meta?.approvals?.length) {
    parts.push(
      h(
        'div',
        { class: 'proposals' },
        h('h3', {}, 'Proposed actions'),
        h(
          'ul',
          {},
          meta.approvals.map((a) =>
            h('li', {}, `${a.summary} (${a.action}, risk ${a.risk}) — ${a.status}. `, link(['approvals'], 'Open approvals')),
          ),
        ),
      ),
    );
  }
  if (meta?.agents) {
    parts.push(
      h(
        'p',
        { class: 'meta muted' },
        `${meta.intent ?? ''} · ${meta.agents.join(', ')} · ${meta.path}${meta.model ? ` (${meta.model})` : ''}`,
      ),
    );
  }
  return h('article', { class: 'answer' }, parts);
}

export function renderMessage(m, evidence) {
  if (m.role === 'user')
    return h('div', { class: 'msg user' }, h('p', { class: 'who muted' }, `You · ${when(m.at)}`), h('p', {}, m.content));
  return h(
    'div',
    { class: 'msg assistant' },
    h('p', { class: 'who muted' }, `Agent · ${when(m.at)}`),
    m.meta ? renderAnswer(m.content, m.meta, evidence) : h('p', { class: 'note' }, m.content),
  );
}

/** A thread's messages, with its evidence kept in `evidence` (a Map by id). */
export function renderMessages(container, view, evidence) {
  for (const e of view.evidence ?? []) evidence.set(e.id, e);
  replace(
    container,
    view.messages.length ? view.messages.map((m) => renderMessage(m, evidence)) : h('p', { class: 'empty' }, 'No messages yet.'),
  );
}

const stepText = (d) =>
  `${d.agent}: ${d.step}${d.tool ? ` (${d.tool})` : ''} — ${d.status}${d.elapsed_ms !== undefined ? `, ${Math.round(d.elapsed_ms)} ms` : ''}${d.detail ? ` — ${d.detail}` : ''}`;

/**
 * One turn as it streams: agents and their steps, evidence as it lands,
 * proposals, then the answer (returned). Progress goes into `progress`.
 */
export async function streamTurn(path, body, progress, evidence, signal) {
  const list = h('ol', { class: 'steps' });
  const draft = h('p', { class: 'draft muted' });
  replace(progress, h('h3', {}, 'Working'), list, draft);
  progress.hidden = false;
  let answer = null;
  let error = null;
  const add = (cls, text) => list.append(h('li', { class: cls }, text));
  await stream(
    path,
    body,
    ({ event, data }) => {
      if (event === 'run.started') add('run', `Run ${data.run_id} started (turn ${data.turn})`);
      else if (event === 'agent.step') add(`step ${data.status}`, stepText(data));
      else if (event === 'evidence') {
        for (const e of data.items ?? []) evidence.set(e.id, e);
        const li = h(
          'li',
          { class: 'evidence' },
          `${data.agent} · ${data.tool}: ${data.items.length} evidence item${data.items.length === 1 ? '' : 's'} `,
        );
        for (const e of data.items.slice(0, 6)) {
          const b = h('button', { type: 'button', class: 'cite' }, e.id);
          b.addEventListener('click', () => showEvidence(e.id, evidence));
          li.append(b, ' ');
        }
        list.append(li);
      } else if (event === 'token') draft.append(document.createTextNode(data.text));
      else if (event === 'approval.required')
        add('proposal', `Proposed: ${data.summary} (${data.action}, risk ${data.risk}), waiting for ${data.approvers.join(' or ')}`);
      else if (event === 'answer') {
        answer = data;
        for (const e of data.evidence ?? []) evidence.set(e.id, e);
      } else if (event === 'error') error = data;
    },
    signal,
  );
  if (error) throw Object.assign(new Error(error.detail || error.title), { status: error.status });
  progress.firstChild.textContent = 'Done';
  return answer;
}
