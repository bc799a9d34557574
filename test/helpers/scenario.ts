import type { Store } from '../../src/clients/clickhouse.ts';
import type { TelemetryIngest } from '../../src/otlp/ingest.ts';
import { seedDemo } from '../../src/demo/seed.ts';
import { runTool, type ToolResult } from '../../src/tools/definition.ts';
import { findTool } from '../../src/tools/registry.ts';
import { loadPolicies } from '../../src/policies/load.ts';
import type { Evidence } from '../../src/core/evidence.ts';

/**
 * A fixed end a few minutes ago: recent enough for the tables' TTL, fixed for determinism within a run.
 * The telemetry differs from minute to minute; AIOPS_TEST_NOW (test/setup/clock.ts) replays another one.
 */
export const SCENARIO_END = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;

export async function seedScenario(store: Store, ingest: TelemetryIngest, scenario: string, hours = 2) {
  return seedDemo(store, ingest, 'k8s.namespace.name', { scenario, seed: 7, hours, end: SCENARIO_END });
}

const policy = loadPolicies('policies').tools;

/** Runs a tool as the demo's clock sees it (now = the end of the seeded window). */
export function tool(store: Store, name: string, args: Record<string, unknown> = {}, workspace = 'shop'): Promise<ToolResult> {
  return runTool(
    findTool(name)!,
    { store, workspace, tenantAttribute: 'k8s.namespace.name', trackingId: 'test', policy, now: SCENARIO_END },
    args,
  );
}

export const services = (e: Evidence[]) => e.map((x) => x.service).filter(Boolean);
