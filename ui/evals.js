import { api } from './api.js';
import { empty, failure, field, h, link, replace, table, when } from './dom.js';

/** Eval runs (role eval): the list, a run's summary table, and two runs compared. */

const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)} %`);

export async function render(main, ctx, [a, b]) {
  if (!ctx.hasRole('eval')) {
    replace(main, h('h1', {}, 'Evals'), empty('Eval runs need the role eval.'));
    return;
  }
  if (a && b) return compare(main, a, b);
  if (a) return run(main, a);
  const body = h('div');
  replace(main, h('h1', {}, 'Eval runs'), body);
  try {
    const res = await api('v1/evals/runs');
    const runs = res.runs ?? [];
    if (!runs.length) return replace(body, empty('No eval runs yet (aiops eval run starts one).'));
    const first = h(
      'select',
      {},
      runs.map((r) => h('option', { value: r.run_id }, r.run_id)),
    );
    const second = h(
      'select',
      {},
      runs.map((r) => h('option', { value: r.run_id }, r.run_id)),
    );
    if (runs.length > 1) first.selectedIndex = 1;
    const go = h('button', { type: 'submit' }, 'Compare');
    const form = h('form', { class: 'toolbar' }, field('Run A', first), field('Run B', second), go);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      location.hash = `#/evals/${encodeURIComponent(first.value)}/${encodeURIComponent(second.value)}`;
    });
    replace(
      body,
      table(
        'Runs, newest first',
        ['Run', 'Status', 'Started', 'By', 'Progress'],
        runs.map((r) => [
          link(['evals', r.run_id], r.run_id),
          r.status,
          when(r.created_at),
          r.created_by,
          r.progress ? `${r.progress.done}/${r.progress.total}, ${r.progress.passed} passed` : '',
        ]),
      ),
      runs.length > 1 ? form : null,
    );
  } catch (err) {
    if (err.status !== 401) replace(body, failure(err));
  }
}

async function run(main, id) {
  const body = h('div');
  replace(main, h('p', {}, h('a', { href: '#/evals' }, '← All runs')), h('h1', {}, id), body);
  try {
    const r = await api(`v1/evals/runs/${encodeURIComponent(id)}`);
    if (!r.report) return replace(body, h('p', {}, `${r.status}${r.error ? `: ${r.error}` : ''}`));
    const rep = r.report;
    replace(
      body,
      table(
        'By variant and suite',
        ['Variant', 'Suite', 'Cases', 'Pass', 'RCA@1', 'RCA@3', 'p50 / p95 ms'],
        rep.summaries.map((s) => [
          s.variant,
          s.suite,
          String(s.cases),
          pct(s.pass_rate),
          pct(s.rca_at_1),
          pct(s.rca_at_3),
          `${s.latency_ms.p50} / ${s.latency_ms.p95}`,
        ]),
      ),
      table(
        'Cases',
        ['Case', 'Variant', 'Pass'],
        (rep.results ?? []).map((c) => [String(c.case ?? c.id ?? ''), String(c.variant ?? ''), c.pass ? 'pass' : 'fail']),
      ),
    );
  } catch (err) {
    if (err.status !== 401) replace(body, failure(err));
  }
}

async function compare(main, a, b) {
  const body = h('div');
  replace(main, h('p', {}, h('a', { href: '#/evals' }, '← All runs')), h('h1', {}, `${b} compared with ${a}`), body);
  try {
    const c = await api(`v1/evals/runs/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}`);
    const rows = Object.entries(c.comparison).map(([suite, x]) => [
      suite,
      String(x.cases),
      String(x.won),
      String(x.lost),
      `${pct(x.pass_rate_a)} → ${pct(x.pass_rate_b)}`,
      `${(x.difference.diff * 100).toFixed(1)} pts [${(x.difference.low * 100).toFixed(1)}, ${(x.difference.high * 100).toFixed(1)}]`,
      x.mcnemar_p.toPrecision(3),
    ]);
    const changed = Object.values(c.comparison).flatMap((x) => x.changed ?? []);
    replace(
      body,
      table('By suite', ['Suite', 'Cases', 'Won', 'Lost', 'Pass rate', 'Difference', 'McNemar p'], rows),
      changed.length
        ? table(
            'Changed cases',
            ['Case', 'A', 'B'],
            changed.map((x) => [x.case, x.a ? 'pass' : 'fail', x.b ? 'pass' : 'fail']),
          )
        : empty('No case changed.'),
    );
  } catch (err) {
    if (err.status !== 401) replace(body, failure(err));
  }
}
