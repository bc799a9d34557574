import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/env.ts';
import { openTelemetry } from '../src/runtime/service.ts';
import type { Store } from '../src/clients/clickhouse.ts';
import type { TelemetryIngest } from '../src/otlp/ingest.ts';
import { tempDir } from './helpers/service.ts';
import { SCENARIO_END, seedScenario, tool } from './helpers/scenario.ts';

let store: Store;
let ingest: TelemetryIngest;
beforeAll(async () => {
  ({ store, ingest } = await openTelemetry(loadConfig({ AIOPS_DATA_DIR: tempDir() })));
});
afterAll(() => store.close());

describe('tools when nothing is wrong (scenario none)', () => {
  beforeAll(() => seedScenario(store, ingest, 'none', 3));

  it('service_overview: no service changed', async () => {
    const r = await tool(store, 'service_overview');
    expect(r.evidence.filter((e) => e.kind !== 'service_red')).toEqual([]);
    expect(r.notes[0]).toMatch(/^no service changed/);
  });

  it('change_onset: at any of several moments, no service changed', async () => {
    for (const minutesAgo of [20, 45, 70, 95]) {
      const start = SCENARIO_END - minutesAgo * 60_000;
      const r = await tool(store, 'change_onset', {
        from: new Date(start).toISOString(),
        to: new Date(start + 5 * 60_000).toISOString(),
        baseline_last: '1h',
      });
      expect(r.evidence.length, `${minutesAgo} minutes ago`).toBeGreaterThan(0);
      expect(
        r.evidence.filter((e) => e.attributes.changed === 'true').map((e) => e.summary),
        `${minutesAgo} minutes ago`,
      ).toEqual([]);
    }
  });

  it('metric_deviation: no signal is anomalous', async () => {
    const r = await tool(store, 'metric_deviation');
    expect(r.evidence.every((e) => Math.abs(e.numbers.score!) < 5)).toBe(true);
    expect(r.notes[0]).toMatch(/^no metric departs/);
  });

  it('log_patterns: no new or growing error templates', async () => {
    const r = await tool(store, 'log_patterns', { severity: 'ERROR' });
    expect(r.evidence.filter((e) => e.attributes.status === 'new' || e.attributes.status === 'grew')).toEqual([]);
  });

  it('trace_hotspots: no failed traces, and no operation slower than in the baseline', async () => {
    const r = await tool(store, 'trace_hotspots');
    expect(r.evidence.filter((e) => e.kind === 'error_origin')).toEqual([]);
    expect(r.notes).toContain('no failed traces in the window');
    const hotspots = r.evidence.filter((e) => e.kind === 'latency_hotspot');
    expect(hotspots.length).toBeGreaterThan(0);
    expect(hotspots.filter((e) => e.attributes.grew === 'true').map((e) => e.summary)).toEqual([]);
  });

  it('auth_failures: the ordinary typos, nothing suspicious', async () => {
    const r = await tool(store, 'auth_failures');
    expect(r.evidence.map((e) => e.kind)).toEqual(['no_auth_anomaly']);
    expect(r.evidence[0]!.summary).toMatch(/nothing suspicious/);
  });

  it('resource_efficiency: every workload within bounds', async () => {
    const r = await tool(store, 'resource_efficiency');
    expect(r.evidence.map((e) => e.kind)).toEqual(['resource_totals']);
  });
});

describe('tools on recommendation-overprovisioned', () => {
  beforeAll(() => seedScenario(store, ingest, 'recommendation-overprovisioned', 2));

  it('resource_efficiency names recommendation first, with what it wastes', async () => {
    const r = await tool(store, 'resource_efficiency');
    const first = r.evidence[0]!;
    expect(first).toMatchObject({ kind: 'overprovisioned', service: 'recommendation' });
    expect(first.numbers.cpu_request).toBe(4);
    expect(first.numbers.waste_cores).toBeGreaterThan(7);
    expect(first.numbers.waste_gib).toBeGreaterThan(14);
  });
});
