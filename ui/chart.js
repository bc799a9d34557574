import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
};

const fmt = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));
const clock = (ms) => new Date(ms).toISOString().slice(11, 16);

/**
 * A small line chart of [epoch ms, value] points as inline SVG, built with DOM
 * calls (no markup strings): the line, the range of values and the time span.
 */
export function lineChart({ title, unit, points, service }, { width = 320, height = 120 } = {}) {
  const label = `${title}${service ? ` (${service})` : ''}${unit ? `, ${unit}` : ''}`;
  const figure = h('figure', { class: 'chart' });
  const pts = (points ?? []).filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  if (pts.length < 2) {
    figure.append(h('figcaption', {}, label), h('p', { class: 'muted' }, 'Too few points to draw.'));
    return figure;
  }
  const pad = { l: 44, r: 8, t: 8, b: 18 };
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let y0 = Math.min(...ys, 0);
  let y1 = Math.max(...ys);
  if (y1 === y0) {
    y1 += 1;
    y0 -= y0 === 0 ? 0 : 1;
  }
  const sx = (x) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (y) => height - pad.b - ((y - y0) / (y1 - y0)) * (height - pad.t - pad.b);
  const line = pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
  const desc = `${label}: from ${fmt(ys[0])} to ${fmt(ys.at(-1))}, highest ${fmt(Math.max(...ys))}, ${clock(x0)}–${clock(x1)} UTC`;
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, class: 'chart-svg', role: 'img', 'aria-label': desc },
    svg('title', {}, desc),
    svg('line', { x1: pad.l, y1: sy(y0), x2: width - pad.r, y2: sy(y0), class: 'axis' }),
    svg('line', { x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b, class: 'axis' }),
    svg('text', { x: pad.l - 4, y: pad.t + 8, class: 'tick', 'text-anchor': 'end' }, fmt(y1)),
    svg('text', { x: pad.l - 4, y: height - pad.b, class: 'tick', 'text-anchor': 'end' }, fmt(y0)),
    svg('text', { x: pad.l, y: height - 4, class: 'tick' }, clock(x0)),
    svg('text', { x: width - pad.r, y: height - 4, class: 'tick', 'text-anchor': 'end' }, clock(x1)),
    svg('polyline', { points: line, class: 'series', fill: 'none' }),
  );
  figure.append(chart, h('figcaption', {}, label));
  return figure;
}
