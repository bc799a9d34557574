import { api } from './api.js';
import { failure, field, h, link, replace, when } from './dom.js';
import { renderAnswer, renderMessages, streamTurn } from './thread.js';

/** Threads list, one thread, and a message box whose turn streams in. */

/** The thread list, with older threads when the service pages them (next_cursor). */
export async function threadList(ul, query, current, kind = 'chat') {
  const load = async (cursor) => {
    const q = new URLSearchParams({ ...query, limit: '50', ...(cursor ? { cursor } : {}) });
    const res = await api(`v1/threads?${q}`);
    for (const t of res.threads) {
      ul.append(
        h(
          'li',
          {},
          link([kind === 'alert' ? 'alerts' : 'chat', t.id], t.title || t.id, t.id === current ? { 'aria-current': 'page' } : {}),
          h('span', { class: 'muted small' }, ` ${t.kind === 'alert' ? `${t.status} · ` : ''}${when(t.updated_at)}`),
        ),
      );
    }
    if (res.next_cursor) {
      const more = h('button', { type: 'button', class: 'link' }, 'Older threads');
      more.addEventListener('click', () => {
        more.parentElement.remove();
        load(res.next_cursor).catch((err) => ul.append(h('li', {}, failure(err))));
      });
      ul.append(h('li', {}, more));
    }
    return res.threads.length;
  };
  return load();
}

export async function render(main, ctx, [threadId]) {
  const evidence = new Map();
  const ul = h('ul', { class: 'thread-list' });
  const newChat = link(['chat'], 'New chat', { class: 'button' });
  const aside = h('aside', { class: 'threads', 'aria-label': 'Your threads' }, h('h2', {}, 'Threads'), newChat, ul);
  const title = h('h1', {}, threadId ? 'Thread' : 'New chat');
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const progress = h('section', { class: 'progress', 'aria-label': 'Progress', 'aria-live': 'polite', hidden: true });
  const box = h('textarea', { rows: 3, maxlength: 4000, required: true, placeholder: 'why are payments failing?' });
  const send = h('button', { type: 'submit' }, 'Send');
  const form = h('form', { class: 'ask' }, field('Message', box), send);
  const conversation = h('section', { class: 'conversation', 'aria-labelledby': 'conv-title' }, title, messages, progress, form);
  title.id = 'conv-title';
  replace(main, h('div', { class: 'split' }, aside, conversation));

  let current = threadId ?? null;
  const controller = new AbortController();
  const refreshList = () =>
    threadList(replace(ul), { kind: 'chat' }, current)
      .then((n) => n || ul.append(h('li', { class: 'empty' }, 'No threads yet: ask something.')))
      .catch((err) => ul.append(h('li', {}, failure(err))));
  refreshList();

  if (current) {
    try {
      const view = await api(`v1/threads/${encodeURIComponent(current)}`, { signal: controller.signal });
      title.textContent = view.title;
      renderMessages(messages, view, evidence);
      if (view.owner !== ctx.me.sub) {
        form.replaceChildren(h('p', { class: 'muted' }, `This thread is ${view.owner}'s: read only.`));
      }
    } catch (err) {
      replace(messages, failure(err));
      form.hidden = true;
    }
  } else {
    replace(messages, h('p', { class: 'empty' }, 'Ask about your services: what is failing, what changed, why it is slow.'));
  }

  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = box.value.trim();
    if (!text || send.disabled) return;
    send.disabled = true;
    box.value = '';
    if (!current) replace(messages);
    messages.append(h('div', { class: 'msg user' }, h('p', { class: 'who muted' }, 'You'), h('p', {}, text)));
    try {
      const answer = current
        ? await streamTurn(`v1/threads/${encodeURIComponent(current)}/messages`, { message: text }, progress, evidence, controller.signal)
        : await streamTurn('v1/chat', { message: text }, progress, evidence, controller.signal);
      if (answer) {
        const steps = h('details', { class: 'steps-done' }, h('summary', {}, 'How it was answered'), [...progress.querySelectorAll('ol')]);
        messages.append(
          h(
            'div',
            { class: 'msg assistant' },
            h('p', { class: 'who muted' }, 'Agent'),
            renderAnswer(answer.answer, answer, evidence),
            steps,
          ),
        );
        if (!current) {
          current = answer.thread_id;
          title.textContent = text.slice(0, 80);
          history.replaceState(null, '', `#/chat/${encodeURIComponent(current)}`);
          refreshList();
        }
      }
      progress.hidden = true;
    } catch (err) {
      if (err.name !== 'AbortError' && err.status !== 401) progress.append(failure(err));
    } finally {
      send.disabled = false;
      box.focus();
    }
  });
  box.focus();
  return () => controller.abort();
}
