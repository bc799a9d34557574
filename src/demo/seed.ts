import type { Logger } from '../observability/logger.ts';
import { command, insertCompact, readRows, type Store } from '../clients/clickhouse.ts';
import { TELEMETRY_TABLES } from '../storage/migrations.ts';
import type { TelemetryIngest } from '../otlp/ingest.ts';
import { SCENARIOS, type GroundTruth, type Scenario } from './scenarios.ts';
import { MINUTE, simulate, type SimulationPlan } from './simulator.ts';
import { ANALYTICS, SHOP, WORKSPACES } from './topology.ts';

export const DEMO_WORKSPACES = [SHOP.name, ANALYTICS.name];

export interface SeedOptions {
  scenario: string;
  seed: number;
  hours: number;
  /** End of the window (ms); defaults to now. */
  end?: number;
  scale?: number;
}

interface DemoState {
  workspace: string;
  scenario: string;
  seed: number;
  windowStart: number;
  windowEnd: number;
  faultStart: number | null;
  truth: GroundTruth;
}

export interface SeedResult {
  scenario: string;
  seed: number;
  window: { start: string; end: string };
  faultStart: string | null;
  groundTruth: GroundTruth & { workspace: string };
  records: { logs: number; spans: number; metricPoints: number };
  durationMs: number;
}

class UnknownScenario extends Error {}

export function scenarioOrThrow(name: string): Scenario {
  const s = SCENARIOS[name];
  if (!s) throw new UnknownScenario(`unknown scenario "${name}"; choose one of ${Object.keys(SCENARIOS).join(', ')}`);
  return s;
}

const CHUNK_MINUTES = 30;

/** Plans for both demo workspaces: the scenario disturbs its own workspace only. */
function plans(scenario: Scenario, seed: number, faultStart: number, scale?: number): SimulationPlan[] {
  return Object.values(WORKSPACES).map((ws) => ({
    workspace: ws,
    disturbance: ws.name === scenario.workspace ? scenario.build(faultStart) : {},
    faultStart,
    seed,
    scale,
  }));
}

/** Generates [from, to) of one workspace's plan and writes it through the OTLP ingest path, in chunks; counts what ingest accepted. */
export async function writePlan(
  ingest: TelemetryIngest,
  plan: SimulationPlan,
  from: number,
  to: number,
  records: SeedResult['records'] = { logs: 0, spans: 0, metricPoints: 0 },
): Promise<SeedResult['records']> {
  const workspace = plan.workspace.name;
  for (let t = from; t < to; t += CHUNK_MINUTES * MINUTE) {
    const batch = simulate(plan, t, Math.min(to, t + CHUNK_MINUTES * MINUTE));
    // What ingest accepted, not what was simulated: a window outside the tables' retention stores nothing.
    const [logs, spans, points] = await Promise.all([
      ingest.logs(batch.logs, workspace),
      ingest.traces(batch.traces, workspace),
      ingest.metrics(batch.metrics, workspace),
    ]);
    records.logs += logs.accepted;
    records.spans += spans.accepted;
    records.metricPoints += points.accepted;
  }
  return records;
}

/** Generates [from, to) for every demo workspace and writes it through the OTLP ingest path. */
export async function writeRange(
  ingest: TelemetryIngest,
  scenario: Scenario,
  seed: number,
  faultStart: number,
  from: number,
  to: number,
  scale?: number,
): Promise<SeedResult['records']> {
  const records = { logs: 0, spans: 0, metricPoints: 0 };
  for (const plan of plans(scenario, seed, faultStart, scale)) await writePlan(ingest, plan, from, to, records);
  return records;
}

/** Replaces the demo workspaces' telemetry with a freshly simulated window. */
export async function seedDemo(
  store: Store,
  ingest: TelemetryIngest,
  tenantAttribute: string,
  opts: SeedOptions,
  logger?: Logger,
): Promise<SeedResult> {
  const scenario = scenarioOrThrow(opts.scenario);
  const started = Date.now();
  const end = Math.floor((opts.end ?? Date.now()) / MINUTE) * MINUTE;
  const start = end - Math.round(opts.hours * 60) * MINUTE;
  const faultStart = end - scenario.faultOffsetMinutes * MINUTE;
  await clearDemoTelemetry(store, tenantAttribute);
  logger?.info({ scenario: scenario.name, seed: opts.seed, hours: opts.hours }, 'seeding demo telemetry');
  const records = await writeRange(ingest, scenario, opts.seed, faultStart, start, end, opts.scale);
  for (const ws of DEMO_WORKSPACES) {
    const truth = ws === scenario.workspace ? scenario.truth : SCENARIOS.none!.truth;
    await saveState(store, {
      workspace: ws,
      scenario: ws === scenario.workspace ? scenario.name : 'none',
      seed: opts.seed,
      windowStart: start,
      windowEnd: end,
      faultStart: ws === scenario.workspace && scenario.category !== 'none' ? faultStart : null,
      truth,
    });
  }
  const result: SeedResult = {
    scenario: scenario.name,
    seed: opts.seed,
    window: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
    faultStart: scenario.category === 'none' ? null : new Date(faultStart).toISOString(),
    groundTruth: { workspace: scenario.workspace, ...scenario.truth },
    records,
    durationMs: Date.now() - started,
  };
  logger?.info({ ...result.records, durationMs: result.durationMs }, 'demo telemetry seeded');
  return result;
}

async function clearDemoTelemetry(store: Store, tenantAttribute: string): Promise<void> {
  for (const table of TELEMETRY_TABLES) {
    const [row] = await readRows<{ n: number }>(store, {
      query: 'SELECT count() AS n FROM {table:Identifier} WHERE ResourceAttributes[{attr:String}] IN {ws:Array(String)}',
      params: { table, attr: tenantAttribute, ws: DEMO_WORKSPACES },
    });
    if (row && Number(row.n) > 0) {
      await command(store, 'DELETE FROM {table:Identifier} WHERE ResourceAttributes[{attr:String}] IN {ws:Array(String)}', {
        table,
        attr: tenantAttribute,
        ws: DEMO_WORKSPACES,
      });
    }
  }
}

const STATE_COLUMNS = [
  'created_at',
  'workspace',
  'scenario',
  'seed',
  'window_start',
  'window_end',
  'fault_start',
  'root_service',
  'kind',
  'affected',
  'description',
];

export async function saveState(store: Store, s: DemoState): Promise<void> {
  await insertCompact(store, 'aiops_demo_scenarios', STATE_COLUMNS, [
    [
      (Date.now() / 1000).toFixed(3),
      s.workspace,
      s.scenario,
      s.seed,
      (s.windowStart / 1000).toFixed(3),
      (s.windowEnd / 1000).toFixed(3),
      s.faultStart === null ? null : (s.faultStart / 1000).toFixed(3),
      s.truth.rootService ?? '',
      s.truth.kind,
      s.truth.affected,
      s.truth.description,
    ],
  ]);
}

export async function loadStates(store: Store): Promise<DemoState[]> {
  const rows = await readRows<{
    workspace: string;
    scenario: string;
    seed: number;
    window_start: string;
    window_end: string;
    fault_start: string | null;
    root_service: string;
    kind: string;
    affected: string[];
    description: string;
  }>(store, {
    query: `SELECT workspace, scenario, seed, window_start, window_end, fault_start, root_service, kind, affected, description
            FROM aiops_demo_scenarios FINAL ORDER BY workspace`,
  });
  return rows.map((r) => ({
    workspace: r.workspace,
    scenario: r.scenario,
    seed: Number(r.seed),
    windowStart: Date.parse(r.window_start + (r.window_start.endsWith('Z') ? '' : 'Z')),
    windowEnd: Date.parse(r.window_end + (r.window_end.endsWith('Z') ? '' : 'Z')),
    faultStart: r.fault_start ? Date.parse(r.fault_start + (r.fault_start.endsWith('Z') ? '' : 'Z')) : null,
    truth: { rootService: r.root_service || null, kind: r.kind, affected: r.affected, description: r.description },
  }));
}

export async function telemetryIsEmpty(store: Store): Promise<boolean> {
  for (const table of TELEMETRY_TABLES) {
    const [row] = await readRows<{ n: number }>(store, {
      query: 'SELECT count() AS n FROM (SELECT 1 FROM {table:Identifier} LIMIT 1)',
      params: { table },
    });
    if (row && Number(row.n) > 0) return false;
  }
  return true;
}
