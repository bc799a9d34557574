/**
 * DOM helpers. Every piece of text goes in as a text node: telemetry (log
 * lines, alert text, answers) may hold markup, and none of it is parsed.
 */

/** An element with attributes, event handlers (on*) and children (strings become text nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children: nodes as they are, strings and numbers as text, arrays flattened, null skipped. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A route link: only the console's own hash routes, with each part encoded. */
export function link(parts, text, attrs = {}) {
  return h('a', { ...attrs, href: `#/${parts.map((p) => encodeURIComponent(p)).join('/')}` }, text);
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().replace('T', ' ').slice(0, 16);
}

/** An empty state, or an error, as a paragraph. */
export const empty = (text) => h('p', { class: 'empty' }, text);
export const failure = (err) => h('p', { class: 'error', role: 'alert' }, err?.message ?? String(err));

/** A label and its control, tied by id. */
export function field(label, control) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

/** A table with a caption, column heads and rows of cells (strings or nodes). */
export function table(caption, heads, rows) {
  return h(
    'table',
    { class: 'grid' },
    h('caption', {}, caption),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        heads.map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((r) =>
        h(
          'tr',
          {},
          r.map((c) => h('td', {}, c)),
        ),
      ),
    ),
  );
}
