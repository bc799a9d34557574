import { api, hasToken, onExpired, setToken, setWorkspace } from './api.js';
import { failure, field, h, replace } from './dom.js';

/** The console's shell: sign in, the signed-in user, and the page of the hash route. */

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const notice = document.getElementById('notice');
const signOutButton = document.getElementById('sign-out');
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.getAttribute('content') ?? '';
const embedOrigins = meta('aiops-embed-origins').split(/\s+/).filter(Boolean);
const devSignIn = meta('aiops-dev-sign-in') === 'on';
const embedded = window.parent !== window;

const PAGES = {
  chat: () => import('./chat.js'),
  approvals: () => import('./approvals.js'),
  alerts: () => import('./alerts.js'),
  briefings: () => import('./briefings.js'),
  evals: () => import('./evals.js'),
  stats: () => import('./stats.js'),
};

/** The signed-in user (from /v1/whoami) and helpers the pages share. */
const ctx = {
  me: null,
  hasRole: (...roles) => roles.some((r) => ctx.me?.roles.includes(r)),
};

function say(text) {
  notice.hidden = !text;
  notice.textContent = text ?? '';
}

/** Tells the host page (only an allowed origin) what happened, e.g. that it should hand over a fresh token. */
function tellHost(type) {
  if (!embedded) return;
  for (const origin of embedOrigins) window.parent.postMessage({ type }, origin);
}

function signOut(message) {
  setToken(null);
  ctx.me = null;
  nav.hidden = true;
  signOutButton.hidden = true;
  who.textContent = '';
  say(message);
  tellHost('aiops.token.expired');
  showSignIn();
}

onExpired(() => signOut('Your sign-in has expired or the token was not accepted. Sign in again.'));
signOutButton.addEventListener('click', () => signOut('Signed out.'));

async function acceptToken(token) {
  setToken(token);
  try {
    ctx.me = await api('v1/whoami');
  } catch (err) {
    if (hasToken()) signOut(`The token was not accepted: ${err.message}`);
    return false;
  }
  if (!ctx.me.workspace && ctx.me.workspaces.length) setWorkspace(ctx.me.workspaces[0]);
  say('');
  nav.hidden = false;
  signOutButton.hidden = false;
  who.textContent = `${ctx.me.sub} · ${ctx.me.workspace ?? ctx.me.workspaces[0] ?? 'no workspace'} · ${ctx.me.roles.join(', ')}`;
  await route();
  return true;
}
ctx.acceptToken = acceptToken;

async function showSignIn() {
  const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'paste-title' },
    h('h2', { id: 'paste-title' }, 'Sign in with a token'),
    h('p', { class: 'muted' }, 'A token from the control plane. It stays in this tab’s memory and is gone when you close it.'),
    field('Token', token),
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    acceptToken(token.value.trim());
  });
  const parts = [h('h1', {}, 'Sign in')];
  if (embedded) parts.push(h('p', { class: 'muted' }, 'Waiting for the platform to sign you in…'));
  if (devSignIn) {
    const dev = await import('./dev-sign-in.js').catch(() => null);
    if (dev) parts.push(dev.form(acceptToken));
  }
  parts.push(form);
  replace(main, h('section', { class: 'sign-in' }, parts));
  (main.querySelector('input') ?? main).focus();
}

/** #token=… in the fragment (never sent to a server): read once, then removed from the address and history. */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (!token) return null;
  // `next` names the page to open, e.g. #token=…&next=/chat/<thread id>.
  const next = params.get('next') ?? '';
  const page = /^\/[a-z]+(\/[A-Za-z0-9_.-]+)*$/.test(next) ? next : '/chat';
  history.replaceState(null, '', `${location.pathname}${location.search}#${page}`);
  return token;
}

/** The host page hands a token over by postMessage: only from an allowed origin, only from the parent window. */
window.addEventListener('message', (e) => {
  if (!embedOrigins.includes(e.origin) || e.source !== window.parent) return;
  const data = e.data;
  if (data?.type !== 'aiops.token' || typeof data.token !== 'string') return;
  acceptToken(data.token).then((ok) => tellHost(ok ? 'aiops.token.accepted' : 'aiops.token.rejected'));
});

let cleanup = null;
let routing = 0;

async function route() {
  if (!ctx.me) return;
  const parts = location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => decodeURIComponent(p));
  const name = PAGES[parts[0]] ? parts[0] : 'chat';
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const n = ++routing;
  cleanup?.();
  cleanup = null;
  try {
    const page = await PAGES[name]();
    if (n !== routing) return;
    replace(main);
    // A page may return a function that stops what it started (timers, streams); anything else is not kept.
    const stop = await page.render(main, ctx, parts.slice(1));
    cleanup = typeof stop === 'function' ? stop : null;
  } catch (err) {
    if (n === routing && err?.status !== 401) replace(main, failure(err));
  }
}
window.addEventListener('hashchange', () => {
  const token = tokenFromFragment();
  if (token) acceptToken(token);
  else route();
});

const start = tokenFromFragment();
if (start) acceptToken(start);
else {
  showSignIn();
  tellHost('aiops.ready');
}
