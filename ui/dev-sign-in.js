import { api } from './api.js';
import { field, h } from './dom.js';

/**
 * Dev mode only: the service sends this module only when it signs its own
 * tokens and the browser runs on the same machine. It asks the service for
 * a short-lived token with the roles ticked.
 */
export function form(accept) {
  const roles = (document.querySelector('meta[name="aiops-dev-roles"]')?.getAttribute('content') ?? '').split(/\s+/).filter(Boolean);
  const sub = h('input', { type: 'text', value: 'alice', autocomplete: 'username', required: true });
  const workspace = h('input', { type: 'text', value: 'shop', required: true });
  const boxes = roles.map((r) => h('input', { type: 'checkbox', value: r, id: `dev-role-${r}`, checked: r === 'sre' }));
  const status = h('p', { class: 'muted', role: 'status' });
  const el = h(
    'form',
    { class: 'card', 'aria-labelledby': 'dev-title' },
    h('h2', { id: 'dev-title' }, 'Dev sign-in'),
    h('p', { class: 'muted' }, 'The service runs in dev mode and signs its own tokens (one hour).'),
    field('User', sub),
    field('Workspace', workspace),
    h(
      'fieldset',
      { class: 'roles' },
      h('legend', {}, 'Roles'),
      boxes.map((b) => h('span', { class: 'role' }, b, h('label', { for: b.id }, b.value))),
    ),
    h('button', { type: 'submit' }, 'Get a dev token'),
    status,
  );
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) {
      status.textContent = 'Tick at least one role.';
      return;
    }
    status.textContent = 'Asking the service…';
    try {
      const res = await api('v1/dev/token', {
        method: 'POST',
        body: { sub: sub.value.trim(), roles: chosen, workspaces: [workspace.value.trim()] },
      });
      status.textContent = '';
      await accept(res.token);
    } catch (err) {
      status.textContent = `No token: ${err.message}`;
    }
  });
  return el;
}
