import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.ts';
import { openTelemetry } from '../src/runtime/service.ts';
import type { Store } from '../src/clients/clickhouse.ts';
import type { TelemetryIngest } from '../src/otlp/ingest.ts';
import { tempDir } from './helpers/service.ts';
import { SCENARIO_END, seedScenario, tool } from './helpers/scenario.ts';
import { classify, riseZ } from '../src/tools/telemetry/service-overview.ts';
import { SCENARIOS } from '../src/demo/scenarios.ts';

/** change_onset as the SRE playbook calls it: the first five minutes of the scenario's fault against the hour before. */
async function onsetAtFault(scenario: string) {
  const start = SCENARIO_END - SCENARIOS[scenario]!.faultOffsetMinutes * 60_000;
  return tool(store, 'change_onset', {
    from: new Date(start).toISOString(),
    to: new Date(start + 5 * 60_000).toISOString(),
    baseline_last: '1h',
  });
}

let store: Store;
let ingest: TelemetryIngest;
beforeAll(async () => {
  ({ store, ingest } = await openTelemetry(loadConfig({ AIOPS_DATA_DIR: tempDir() })));
});
afterAll(() => store.close());

describe('tools on payment-bad-deploy', () => {
  beforeAll(() => seedScenario(store, ingest, 'payment-bad-deploy'));

  it('service_overview shows the error rise in payment and the services that call it', async () => {
    const r = await tool(store, 'service_overview');
    const changed = r.evidence.filter((e) => e.kind === 'service_change');
    expect(changed.map((e) => e.service).sort()).toEqual(['checkout', 'frontend', 'payment']);
    const payment = changed.find((e) => e.service === 'payment')!;
    expect(payment.attributes.signals).toContain('errors_up');
    expect(payment.numbers.error_ratio).toBeGreaterThan(0.15);
    expect(r.rendered).toMatch(/\[so\d+\] payment: /);
  });

  it('recent_changes shows the payment deploy, newest first', async () => {
    const r = await tool(store, 'recent_changes', { last: '2h' });
    const deploy = r.evidence.find((e) => e.kind === 'deploy' && e.service === 'payment')!;
    expect(deploy.attributes).toMatchObject({ from_version: '2.4.1', to_version: '2.5.0' });
    expect(r.evidence[0]!.service).toBe('payment');
  });

  it('log_patterns finds the new payment error template', async () => {
    const r = await tool(store, 'log_patterns', {
      severity: 'ERROR',
      baseline_from: new Date(SCENARIO_END - 4 * 3600_000).toISOString(),
      baseline_to: new Date(SCENARIO_END - 3 * 3600_000).toISOString(),
    });
    const top = r.evidence[0]!;
    expect(top.attributes.status).toMatch(/new|grew/);
    expect(r.evidence.some((e) => e.service === 'payment' && /TypeError/.test(e.attributes.template ?? ''))).toBe(true);
  });

  it('trace_hotspots traces the errors back to payment through checkout and frontend', async () => {
    const r = await tool(store, 'trace_hotspots');
    const origin = r.evidence.find((e) => e.kind === 'error_origin')!;
    expect(origin.service).toBe('payment');
    expect(origin.attributes.path).toBe('frontend → checkout → payment');
  });

  it('log_search returns the newest matching lines, cut safely', async () => {
    const r = await tool(store, 'log_search', { service: 'payment', severity: 'ERROR', limit: 5 });
    const e = r.evidence[0]!;
    expect(e.numbers.shown).toBe(5);
    expect(e.numbers.matched).toBeGreaterThan(5);
    expect(e.examples!.every((l) => l.includes('payment ERROR') && l.length < 800)).toBe(true);
  });
});

describe('tools on currency-cpu-starvation', () => {
  beforeAll(() => seedScenario(store, ingest, 'currency-cpu-starvation'));

  it('metric_deviation ranks currency first, by throttling, without knowing metric names', async () => {
    const r = await tool(store, 'metric_deviation');
    expect(r.evidence[0]!.service).toBe('currency');
    expect(r.evidence[0]!.attributes.service_rank).toBe('1');
    expect(r.evidence.filter((e) => e.service === 'currency' && Math.abs(e.numbers.score!) >= 5).length).toBeGreaterThanOrEqual(2);
    expect(r.notes[0]).toMatch(/^services by strongest deviation: currency/);
  });

  it('change_onset at the starvation ranks currency first, by the self time of its own spans', async () => {
    const r = await onsetAtFault('currency-cpu-starvation');
    expect(r.evidence[0]).toMatchObject({ service: 'currency', attributes: { fault_kind: 'latency/network', changed: 'true' } });
    expect(r.evidence[0]!.attributes.signal).toBe('span self time');
  });

  it('metric_series shows the throttling rise', async () => {
    const r = await tool(store, 'metric_series', {
      service: 'currency',
      metric: 'container_cpu_cfs_throttled_periods_total (rate/s)',
      last: '90m',
      points: 18,
    });
    const e = r.evidence[0]!;
    expect(e.numbers.last).toBeGreaterThan(20 * e.numbers.first!);
  });

  it('trace_hotspots puts the time in currency, ahead of calls that were always slow', async () => {
    const r = await tool(store, 'trace_hotspots');
    const first = r.evidence.find((e) => e.kind === 'latency_hotspot')!;
    expect(first).toMatchObject({ service: 'currency', attributes: { grew: 'true' } });
    expect(first.numbers.self_time_growth).toBeGreaterThan(2);
    expect(first.summary).toMatch(/baseline \d+(\.\d)? ms, ×\d/);
    expect(r.evidence.filter((e) => e.kind === 'latency_hotspot' && e.attributes.grew === 'true').map((e) => e.service)).toEqual([
      'currency',
    ]);
  });
});

describe('tools on cart-oom-crashloop', () => {
  beforeAll(() => seedScenario(store, ingest, 'cart-oom-crashloop'));

  it('change_onset at the crash loop ranks cart first', async () => {
    const r = await onsetAtFault('cart-oom-crashloop');
    expect(r.evidence[0]).toMatchObject({ service: 'cart', attributes: { changed: 'true' } });
  });

  it('recent_changes shows the OOM kills and the crash loop of cart', async () => {
    const r = await tool(store, 'recent_changes', { last: '2h' });
    const kinds = r.evidence.filter((e) => e.service === 'cart').map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['oom_kill', 'crash_loop']));
  });

  it('trace_hotspots finds cart unreachable from its callers', async () => {
    const r = await tool(store, 'trace_hotspots');
    const origin = r.evidence.find((e) => e.kind === 'error_origin')!;
    expect(origin.service).toBe('cart');
    expect(origin.attributes.unreachable).toBe('true');
  });
});

describe('what counts as a change in errors', () => {
  const red = (n: number, errorRatio: number, bn: number, bErrorRatio: number) => ({
    service: 's',
    operation: '',
    n,
    rate: n / 1800,
    errorRatio,
    p50: 10,
    p95: 20,
    p99: 30,
    bn,
    bRate: bn / 3600,
    bErrorRatio,
    bP95: 20,
  });

  it('a busy service whose one failing page lifts its errors from 0.5% to 2% has changed', () => {
    // The numbers of the frontend when only its checkout page fails: far outside chance, under two points.
    expect(riseZ(1250, 0.0194, 2500, 0.0049)).toBeGreaterThan(4);
    expect(classify(red(1250, 0.0194, 2500, 0.0049)).signals).toContain('errors_up');
  });

  it('the same small rise on little traffic is noise', () => {
    expect(classify(red(300, 0.0167, 600, 0.0042)).signals).not.toContain('errors_up');
  });

  it('a half-point wobble on a very busy service is not a change, however certain', () => {
    expect(classify(red(200_000, 0.009, 400_000, 0.005)).signals).not.toContain('errors_up');
  });

  it('a rise of two points needs no statistics, and without a baseline only it counts', () => {
    expect(classify(red(400, 0.03, 800, 0.005)).signals).toContain('errors_up');
    expect(classify(red(1250, 0.0194, 0, 0)).signals).not.toContain('errors_up');
    expect(riseZ(1250, 0.02, 0, 0)).toBe(0);
  });
});
