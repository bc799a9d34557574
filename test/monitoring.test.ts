import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { ServiceMetrics } from '../src/observability/metrics.ts';
import { tempDir } from './helpers/service.ts';

const dir = 'deploy/monitoring';
// promtool comes with Debian's `prometheus` package. CI (.ci/run) installs it when missing and sets
// AIOPS_REQUIRE_PROMTOOL=1, so that a missing one fails instead of skipping.
const promtool = process.env.AIOPS_PROMTOOL ?? 'promtool';
const requirePromtool = process.env.AIOPS_REQUIRE_PROMTOOL === '1';
const kubectl = process.env.AIOPS_KUBECTL ?? 'kubectl';
const requireKubectl = process.env.AIOPS_REQUIRE_KUBECTL === '1';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}
const prometheusRule = parse(fs.readFileSync(path.join(dir, 'prometheusrule.yaml'), 'utf8')) as {
  kind: string;
  spec: { groups: { name: string; rules: Rule[] }[] };
};
const dashboard = JSON.parse(fs.readFileSync(path.join(dir, 'grafana-dashboard.json'), 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[];
};

/** The metric names a PromQL expression reads: label matchers, strings, ranges, grouping clauses and functions taken out. */
function metricNames(expr: string): string[] {
  const KEYWORDS = new Set([
    'sum',
    'avg',
    'min',
    'max',
    'count',
    'topk',
    'bottomk',
    'rate',
    'irate',
    'increase',
    'delta',
    'histogram_quantile',
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'and',
    'or',
    'unless',
    'vector',
    'clamp_min',
    'clamp_max',
    'abs',
    'time',
    'offset',
    'bool',
    'scalar',
    'label_replace',
    'avg_over_time',
    'max_over_time',
    'min_over_time',
  ]);
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ');
  return [...new Set(stripped.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? [])].filter((w) => !KEYWORDS.has(w));
}

/** Every series name the service exports: the real registry's metrics, histograms with their _bucket, _sum and _count. */
async function exported(): Promise<Set<string>> {
  const metrics = new ServiceMetrics({ defaultMetrics: true });
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
    if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

describe('the monitoring overlay', () => {
  it('the dashboard parses and reads only metrics the service exports', async () => {
    const known = await exported();
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(exprs.flatMap(metricNames));
    for (const name of used) expect(known.has(name), `${name} (dashboard)`).toBe(true);
    // The GenAI convention names are what a generic GenAI dashboard looks for.
    expect(used).toContain('gen_ai_client_token_usage_sum');
    expect(used).toContain('gen_ai_client_operation_duration_seconds_bucket');
  });

  it('the alert rules read only metrics the service exports', async () => {
    const known = await exported();
    expect(prometheusRule.kind).toBe('PrometheusRule');
    const rules = prometheusRule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'AiopsHighErrorRate',
        'AiopsSlowChatTurns',
        'AiopsNarratorFallbacks',
        'AiopsLowCacheHitRate',
        'AiopsDroppedEvents',
        'AiopsControlPlaneFailures',
      ]),
    );
    for (const r of rules) for (const name of metricNames(r.expr)) expect(known.has(name), `${name} (${r.alert})`).toBe(true);
  });

  it('finds metric names in PromQL, and nothing else', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le, kind) (rate(aiops_turn_duration_seconds_bucket{kind="chat",x=~"a|b"}[10m]))) > 30'),
    ).toEqual(['aiops_turn_duration_seconds_bucket']);
    expect(metricNames('(sum(increase(a_total[15m])) or vector(0)) + b_total')).toEqual(['a_total', 'b_total']);
  });

  it('promtool checks the rule groups of the PrometheusRule and passes its tests', (ctx) => {
    const work = tempDir('aiops-rules-');
    fs.writeFileSync(path.join(work, 'rules.yaml'), stringify({ groups: prometheusRule.spec.groups }));
    fs.copyFileSync(path.join(dir, 'rules.test.yaml'), path.join(work, 'rules.test.yaml'));
    const check = spawnSync(promtool, ['check', 'rules', path.join(work, 'rules.yaml')], { encoding: 'utf8', timeout: 60_000 });
    if (check.error && (check.error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (requirePromtool) throw new Error(`${promtool} is not installed, and AIOPS_REQUIRE_PROMTOOL=1 makes that a failure`);
      return ctx.skip(`no ${promtool} on this machine (Debian: apt-get install prometheus)`);
    }
    expect(check.stdout + check.stderr).toMatch(/SUCCESS: 7 rules found/);
    expect(check.status).toBe(0);
    const test = spawnSync(promtool, ['test', 'rules', path.join(work, 'rules.test.yaml')], { encoding: 'utf8', timeout: 60_000 });
    expect(test.stdout + test.stderr).toMatch(/SUCCESS/);
    expect(test.status, test.stdout + test.stderr).toBe(0);

    // A rule that no longer fires as its test expects fails the test run.
    const broken = stringify({
      groups: prometheusRule.spec.groups.map((g) => ({
        ...g,
        rules: g.rules.map((r) => (r.alert === 'AiopsHighErrorRate' ? { ...r, expr: r.expr.replace('0.05', '0.5') } : r)),
      })),
    });
    fs.writeFileSync(path.join(work, 'rules.yaml'), broken);
    const failing = spawnSync(promtool, ['test', 'rules', path.join(work, 'rules.test.yaml')], { encoding: 'utf8', timeout: 60_000 });
    expect(failing.status).not.toBe(0);
  });

  it('kubectl builds the overlay: the base, the PrometheusRule and the dashboard ConfigMap', (ctx) => {
    const run = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 120_000 });
    if (run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (requireKubectl) throw new Error(`${kubectl} is not installed, and AIOPS_REQUIRE_KUBECTL=1 makes that a failure`);
      return ctx.skip(`no ${kubectl} on this machine`);
    }
    expect(run.status, run.stderr).toBe(0);
    const docs = parseAllDocuments(run.stdout).map(
      (d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> }; data?: Record<string, string> },
    );
    expect(docs.find((d) => d.kind === 'Deployment')?.metadata.name).toBe('hks-aiops');
    expect(docs.find((d) => d.kind === 'PrometheusRule')?.metadata.name).toBe('hks-aiops');
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'hks-aiops-dashboard')!;
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(cm.data!['grafana-dashboard.json']!).uid).toBe('hks-aiops');
  });
});
