import { api } from './api.js';
import { failure, h, replace, when } from './dom.js';
import { threadList } from './chat.js';
import { renderMessages } from './thread.js';

/** Alert threads, firing and resolved; one with its investigation and notes. */

export async function render(main, ctx, [threadId]) {
  if (threadId) return renderThread(main, ctx, threadId);
  const firing = h('ul', { class: 'thread-list' });
  const resolved = h('ul', { class: 'thread-list' });
  replace(
    main,
    h('h1', {}, 'Alerts'),
    h('section', { 'aria-labelledby': 'firing-title' }, h('h2', { id: 'firing-title' }, 'Firing'), firing),
    h('section', { 'aria-labelledby': 'resolved-title' }, h('h2', { id: 'resolved-title' }, 'Resolved'), resolved),
  );
  const fill = async (ul, status, none) => {
    try {
      if (!(await threadList(ul, { kind: 'alert', status }, null, 'alert'))) ul.append(h('li', { class: 'empty' }, none));
    } catch (err) {
      if (err.status !== 401) ul.append(h('li', {}, failure(err)));
    }
  };
  await Promise.all([fill(firing, 'firing', 'No alert is firing.'), fill(resolved, 'resolved', 'No resolved alerts.')]);
}

async function renderThread(main, _ctx, id) {
  const messages = h('div', { class: 'messages' });
  const title = h('h1', {}, 'Alert');
  const facts = h('p', { class: 'muted' });
  replace(main, h('p', {}, h('a', { href: '#/alerts' }, '← All alerts')), title, facts, messages);
  try {
    const view = await api(`v1/threads/${encodeURIComponent(id)}`);
    title.textContent = view.title;
    facts.textContent = `${view.status} · since ${when(view.created_at)} · updated ${when(view.updated_at)}${view.alert_key ? ` · ${view.alert_key}` : ''}`;
    renderMessages(messages, view, new Map());
    if (view.approvals?.length) {
      messages.append(
        h(
          'section',
          { class: 'card' },
          h('h2', {}, 'Proposed actions'),
          h(
            'ul',
            {},
            view.approvals.map((a) => h('li', {}, `${a.summary} — ${a.status}`)),
          ),
          h('a', { href: '#/approvals' }, 'Open approvals'),
        ),
      );
    }
  } catch (err) {
    if (err.status !== 401) replace(messages, failure(err));
  }
}
