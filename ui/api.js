/**
 * The service's API as the console calls it. The token lives in this
 * module's memory only (no storage, no cookie): it goes in the Authorization
 * header of each request, so a cross-site request carries nothing.
 */

let token = null;
let workspace = null;
let expired = () => {};

export function setToken(t) {
  token = t;
  if (!t) workspace = null;
}
export const hasToken = () => token !== null;

/** The workspace to act on when the token grants several (X-Workspace). */
export function setWorkspace(w) {
  workspace = w;
}

/** Called when the service answers 401: the token expired or does not verify. */
export function onExpired(fn) {
  expired = fn;
}

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `the service answered ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** /v1 relative to the console (/ui/), so a path prefix in front of the service works. */
export const apiUrl = (path) => new URL(`../${path.replace(/^\//, '')}`, document.baseURI).toString();

async function failed(res) {
  const problem = await res.json().catch(() => null);
  const err = new ApiError(res.status, problem);
  if (res.status === 401) expired(err);
  return err;
}

function headers(extra = {}) {
  const out = { Accept: 'application/json', ...extra };
  if (token) out.Authorization = `Bearer ${token}`;
  if (workspace) out['X-Workspace'] = workspace;
  return out;
}

/** A JSON request; problems become ApiError (401 also signs out). */
export async function api(path, { method = 'GET', body, signal, as = 'json' } = {}) {
  const res = await fetch(apiUrl(path), {
    method,
    headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (!res.ok) throw await failed(res);
  return as === 'text' ? res.text() : res.json();
}

/** Server-Sent Events of a POST, each as { event, data } to `onEvent` as it arrives. */
export async function stream(path, body, onEvent, signal) {
  const res = await fetch(apiUrl(path), {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (!res.ok) throw await failed(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) onEvent({ event, data: JSON.parse(data.join('\n')) });
      end = buffer.indexOf('\n\n');
    }
  }
}
