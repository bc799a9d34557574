/**
 * Root-cause ranking on real faults, through the service's own chat path.
 *
 * Each day folder of exported telemetry (metric, trace and log CSVs plus a
 * fault list) is replayed through OTLP ingest, shifted so that its last fault
 * ends a few minutes before now. Then, per fault, a new chat thread asks
 * "An incident started at HH:MM UTC. What is the root cause?" and the ranked
 * hypotheses are checked against the injected service. Beside it: a naive
 * baseline (largest robust z-score of any metric, per service, in
 * bench/rca-rank.ts) and the ranking of the change_onset tool alone (the
 * onset scores the chat path weighs with its other evidence), both from the
 * same tables.
 *
 *   npm run bench:rca-real -- [--day <folder>] [--data <dir>] [--chat off] [--grid on] [--quick]
 *
 * --grid on: each fault's signals are also ranked with a small grid of onset
 * settings (level floor, weight of a caller a callee explains); per day, the
 * setting that scores best on the other days is reported on this one.
 *
 * Data: --data, else $RCA_DATA_DIR, else ../shared/data/nezha-dev beside the repository.
 * RCA_EXPLAIN=1 prints change_onset's six leading services and their signals per fault.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readRows } from '../src/clients/clickhouse.ts';
import { readQuestion } from '../src/agents/orchestrator/nodes/intake.ts';
import { srePlan } from '../src/agents/specialists/sre/graph.ts';
import { runTool } from '../src/tools/definition.ts';
import { ToolRun } from '../src/tools/run.ts';
import { onsetSignals } from '../src/tools/telemetry/change-onset.ts';
import { ONSET, type OnsetSettings, rankOnsets } from '../src/analysis/onset.ts';
import { findTool } from '../src/tools/registry.ts';
import type { Evidence } from '../src/core/evidence.ts';
import { benchService, options, report, round } from './lib.ts';
import { csvFiles, logRequests, metricRequests, readCsv, readFaults, type Shift, spanRequests } from './rca-convert.ts';
import { naiveRanking, type Ranked } from './rca-rank.ts';

const MIN = 60_000;
const opts = options({
  day: { type: 'string', default: '' },
  data: { type: 'string', default: '' },
  // --chat off measures only the rankings computed from the tables (for working on them).
  chat: { type: 'string', default: 'on' },
  // --grid on also ranks each fault's signals with other onset settings, and picks them leave-one-day-out.
  grid: { type: 'string', default: 'off' },
});
const withGrid = opts.grid === 'on';
const withChat = opts.chat !== 'off';
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dataRoot = opts.data || process.env.RCA_DATA_DIR || path.resolve(repo, '../shared/data/nezha-dev');

/** Published results of the paper's method on these systems (RCA@1, RCA@3), for reference. */
const PUBLISHED: Record<string, { at1: number; at3: number }> = {
  'Nezha (FSE 2023), OnlineBoutique': { at1: 0.93, at3: 0.96 },
  'Nezha (FSE 2023), TrainTicket': { at1: 0.87, at3: 0.98 },
};
/** What the issue reports for the naive baseline (RCA@1, RCA@3), per day in folder order. */
const ISSUE_NAIVE = [
  { at1: 0.34, at3: 0.66 },
  { at1: 0.0, at3: 0.06 },
];

const days = fs.existsSync(dataRoot)
  ? fs
      .readdirSync(dataRoot)
      .filter((d) => fs.statSync(path.join(dataRoot, d)).isDirectory() && readFaults(path.join(dataRoot, d)).length > 0)
      .sort()
  : [];
if (days.length === 0) {
  // CI clones without the shared data still run every benchmark: say so instead of failing.
  process.stderr.write(`no day folders with a fault list under ${dataRoot}; nothing to measure\n`);
  report('rca-real', { quick: opts.quick, skipped: `no data under ${dataRoot}` });
  process.exit(0);
}
const chosenDays = opts.day ? days.filter((d) => d === opts.day) : opts.quick ? days.slice(0, 1) : days;
if (chosenDays.length === 0) throw new Error(`no day folder ${opts.day} under ${dataRoot} (have ${days.join(', ')})`);

const benchStarted = performance.now();
const { service, token } = await benchService();
const tenantAttribute = service.deps.config.TENANT_ATTRIBUTE;

/** Posts OTLP requests through the app with `concurrency` in flight; counts what was accepted. */
async function post(signal: 'metrics' | 'traces' | 'logs', bodies: unknown[], ingest: string, concurrency = 2): Promise<number> {
  let next = 0;
  let rejected = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < bodies.length; i = next++) {
        const res = await service.app.request(`/v1/${signal}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${ingest}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(bodies[i]),
        });
        if (res.status !== 200) throw new Error(`/v1/${signal} answered ${res.status}: ${await res.text()}`);
        const out = (await res.json()) as { partialSuccess?: Record<string, string> };
        if (out.partialSuccess) rejected += Number(Object.values(out.partialSuccess)[0] ?? 0);
      }
    }),
  );
  return rejected;
}

async function count(table: string, workspace: string, timeColumn: string): Promise<number> {
  const rows = await readRows<{ n: string }>(service.deps.store, {
    query: `SELECT count() AS n FROM {t:Identifier} WHERE ResourceAttributes[{a:String}] = {w:String} AND ${timeColumn} > 0`,
    params: { t: table, a: tenantAttribute, w: workspace },
  });
  return Number(rows[0]!.n);
}

/** Replays one day's tables for [from, to) of its own clock; returns counts and the time it took. */
async function load(dir: string, workspace: string, shift: Shift) {
  const started = performance.now();
  const ingest = await token(['ingest'], [workspace]);
  const naming = { tenantAttribute, workspace };
  let rejected = 0;
  const seconds: Record<string, number> = {};
  const timed = async (name: string, work: () => Promise<void>) => {
    const t0 = performance.now();
    await work();
    seconds[name] = round((performance.now() - t0) / 1000, 1);
  };
  await timed('metrics_s', async () => {
    for (const f of csvFiles(dir, 'metric')) rejected += await post('metrics', metricRequests(readCsv(f), shift, naming), ingest);
  });
  // All files of a kind at once: a trace crosses file boundaries, and small files would make small inserts.
  await timed('traces_s', async () => {
    rejected += await post('traces', spanRequests(csvFiles(dir, 'trace').flatMap(readCsv), shift, naming), ingest);
  });
  await timed('logs_s', async () => {
    rejected += await post('logs', logRequests(csvFiles(dir, 'log').flatMap(readCsv), shift, naming), ingest);
  });
  return {
    metric_points: await count('otel_metrics_gauge', workspace, 'TimeUnix'),
    spans: await count('otel_traces', workspace, 'Timestamp'),
    log_records: await count('otel_logs', workspace, 'Timestamp'),
    rejected,
    load_s: round((performance.now() - started) / 1000, 1),
    ...seconds,
  };
}

interface ChatAnswerJson {
  hypotheses: { service: string; kind: string; score: number; explained_by?: string }[];
  window: { from: string; to: string };
}

async function ask(workspace: string, question: string): Promise<ChatAnswerJson> {
  const sre = await token(['sre'], [workspace]);
  const res = await service.app.request('/v1/chat', {
    method: 'POST',
    headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: question }),
  });
  if (res.status !== 200) throw new Error(`/v1/chat answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as ChatAnswerJson;
}

/**
 * What each SRE tool returned for the same question: the playbook re-run with
 * the window the answer reports, so a miss can be traced to a tool that said
 * nothing or a signal that misled.
 */
async function diagnose(workspace: string, question: string, answer: ChatAnswerJson, services: string[]) {
  const now = Date.parse(answer.window.to);
  const facts = readQuestion(question, services, Date.now());
  const window = { from: Date.parse(answer.window.from), to: now };
  const start = facts.incidentStart ?? window.from;
  const baseline = { from: start - 60 * MIN, to: Math.min(start, window.from) };
  const ctx = {
    store: service.deps.store,
    workspace,
    tenantAttribute,
    trackingId: `rca-${workspace}`,
    policy: service.deps.policies.tools,
    now: Date.now(),
  };
  const out: Record<string, { evidence: number; notes: string[]; top: string[] }> = {};
  for (const step of srePlan({ question, facts, window, baseline, focus: [], intent: 'root_cause' })) {
    try {
      const r = await runTool(findTool(step.tool)!, ctx, step.args);
      const top = [...new Set(r.evidence.filter((e: Evidence) => e.service).map((e: Evidence) => e.service!))].slice(0, 3);
      out[step.tool] = { evidence: r.evidence.length, notes: r.notes.slice(0, 2), top };
    } catch (err) {
      out[step.tool] = { evidence: 0, notes: [`failed: ${(err as Error).message}`], top: [] };
    }
  }
  return out;
}

/** The change_onset tool's ranking at T, called as the SRE playbook calls it (five minutes from T, the hour before). */
async function onsetRanking(workspace: string, t: number): Promise<Ranked[]> {
  const ctx = {
    store: service.deps.store,
    workspace,
    tenantAttribute,
    trackingId: `rca-${workspace}`,
    policy: service.deps.policies.tools,
  };
  const args = { from: new Date(t).toISOString(), to: new Date(t + 5 * MIN).toISOString(), baseline_last: '1h', top: 30 };
  const r = await runTool(findTool('change_onset')!, ctx, args);
  return r.evidence.map((e) => ({
    service: e.service!,
    score: e.numbers.score ?? 0,
    kind: e.attributes.fault_kind,
    signal: `${e.attributes.source} ${e.attributes.signal} z=${e.numbers.z} peers=${e.numbers.peers}${e.attributes.explained_by ? ` explained by ${e.attributes.explained_by}` : ''}`,
  }));
}

/** The settings the grid tries: the defaults first (they win ties). */
const GRID: { name: string; settings: OnsetSettings }[] = [];
for (const victimWeight of [ONSET.victimWeight, 0.3, 1])
  for (const levelFloor of [ONSET.levelFloor, 0.02, 0.1])
    GRID.push({ name: `floor=${levelFloor} victim=${victimWeight}`, settings: { ...ONSET, levelFloor, victimWeight } });

/** Per grid setting, whether the truth is at rank 1 and within rank 3 for one fault. */
async function gridHits(workspace: string, t: number, truth: string): Promise<{ hit1: boolean; hit3: boolean }[]> {
  const ctx = {
    store: service.deps.store,
    workspace,
    tenantAttribute,
    trackingId: `rca-${workspace}`,
    policy: service.deps.policies.tools,
  };
  const args = { from: new Date(t).toISOString(), to: new Date(t + 5 * MIN).toISOString(), baseline_last: '1h' };
  const { t: onset, signals, graph } = await onsetSignals(new ToolRun(ctx, 'change_onset', 'co', args, '5m', '1h'));
  return GRID.map((g) => {
    const ranked = rankOnsets(signals, onset, graph, g.settings).map((r) => r.service);
    return { hit1: ranked[0] === truth, hit3: ranked.slice(0, 3).includes(truth) };
  });
}

const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
const hit = (ranked: string[], truth: string, k: number) => ranked.slice(0, k).includes(truth);

interface FaultResult {
  time: string;
  shifted_time: string;
  pod: string;
  service: string;
  type: string;
  chat: { top1?: string; top3: string[]; hit1: boolean; hit3: boolean; none: boolean; kind?: string; window: string; ms: number };
  naive: ReturnType<typeof rankedView>;
  onset: ReturnType<typeof rankedView>;
  tools?: Record<string, { evidence: number; notes: string[]; top: string[] }>;
  grid?: { hit1: boolean; hit3: boolean }[];
}

const score = (rs: FaultResult[], key: 'chat' | 'naive' | 'onset') => ({
  rca_at_1: rs.length ? round(rs.filter((r) => r[key].hit1).length / rs.length, 3) : 0,
  rca_at_3: rs.length ? round(rs.filter((r) => r[key].hit3).length / rs.length, 3) : 0,
});

function rankedView(r: Ranked[], truth: string) {
  const services = r.map((x) => x.service);
  return {
    top1: services[0],
    top3: services.slice(0, 3),
    hit1: hit(services, truth, 1),
    hit3: hit(services, truth, 3),
    kind: r[0]?.kind,
    signal: r[0]?.signal,
    truth_rank: services.indexOf(truth) + 1 || undefined,
  };
}

const dayResults: Record<string, unknown>[] = [];
const all: FaultResult[] = [];
for (const [dayIndex, day] of chosenDays.entries()) {
  const dir = path.join(dataRoot, day);
  let faults = readFaults(dir);
  // Quick: a handful of faults from the middle of the day, and only the data around them.
  if (opts.quick) faults = faults.slice(Math.floor(faults.length / 3), Math.floor(faults.length / 3) + 4);
  const first = faults[0]!.at;
  const last = faults[faults.length - 1]!.at;
  const lead = opts.quick ? 60 * MIN : 150 * MIN;
  const now = Math.floor(Date.now() / MIN) * MIN;
  // Whole minutes, so a shifted time reads as the same minute past the hour as the original.
  const shiftMs = now - 12 * MIN - Math.floor(last / MIN) * MIN;
  const shift: Shift = { shiftMs, from: first - lead, to: Math.min(last + 10 * MIN, now - shiftMs) };
  const workspace = `rca-${dayIndex + 1}`;
  process.stderr.write(`\n${day}: loading ${hhmm(shift.from)}–${hhmm(shift.to)} UTC of its own clock (${faults.length} faults)…\n`);
  const loaded = await load(dir, workspace, shift);
  process.stderr.write(
    `${day}: ${loaded.metric_points} metric points, ${loaded.spans} spans, ${loaded.log_records} log records in ${loaded.load_s} s\n`,
  );
  const { knownServices } = await import('../src/tools/telemetry/services.ts');
  const services = await knownServices(service.deps.store, workspace, tenantAttribute);
  const results: FaultResult[] = [];
  const asked = performance.now();
  for (const f of faults) {
    const at = f.at + shiftMs;
    const question = `An incident started at ${hhmm(at)} UTC. What is the root cause?`;
    const t0 = performance.now();
    const answer = withChat ? await ask(workspace, question) : { hypotheses: [], window: { from: '', to: '' } };
    const ms = Math.round(performance.now() - t0);
    const chatServices = answer.hypotheses.map((h) => h.service);
    const ctx = { store: service.deps.store, tenantAttribute, workspace };
    const naive = await naiveRanking(ctx, Math.floor(at / MIN) * MIN);
    const proto = await onsetRanking(workspace, Math.floor(at / MIN) * MIN);
    if (process.env.RCA_EXPLAIN)
      process.stderr.write(
        `  ${proto
          .slice(0, 6)
          .map((p) => `${p.service} ${round(p.score)} [${p.signal}]`)
          .join('\n  ')}\n  truth: ${proto.find((p) => p.service === f.service)?.signal}\n`,
      );
    const r: FaultResult = {
      time: new Date(f.at).toISOString().slice(0, 19),
      shifted_time: hhmm(at),
      pod: f.pod,
      service: f.service,
      type: f.type,
      chat: {
        top1: chatServices[0],
        top3: chatServices.slice(0, 3),
        hit1: hit(chatServices, f.service, 1),
        hit3: hit(chatServices, f.service, 3),
        none: chatServices.length === 0,
        kind: answer.hypotheses[0]?.kind,
        window: `${answer.window.from.slice(11, 16)}–${answer.window.to.slice(11, 16)}`,
        ms,
      },
      naive: rankedView(naive, f.service),
      onset: rankedView(proto, f.service),
      ...(withChat ? { tools: await diagnose(workspace, question, answer, services) } : {}),
      ...(withGrid ? { grid: await gridHits(workspace, Math.floor(at / MIN) * MIN, f.service) } : {}),
    };
    results.push(r);
    process.stderr.write(
      `${r.time.slice(11, 16)} ${f.type.padEnd(15)} ${f.service.padEnd(28)} chat ${r.chat.hit1 ? '✓' : r.chat.hit3 ? '3' : '✗'} ${(r.chat.top1 ?? '(none)').padEnd(28)} naive ${r.naive.hit1 ? '✓' : r.naive.hit3 ? '3' : '✗'} ${(r.naive.top1 ?? '-').padEnd(28)} onset ${r.onset.hit1 ? '✓' : r.onset.hit3 ? '3' : '✗'} ${r.onset.top1 ?? '-'} (${r.onset.kind ?? ''}: ${r.onset.signal ?? ''}; truth #${r.onset.truth_rank ?? '-'})\n`,
    );
  }
  all.push(...results);
  const naiveIssue = days.indexOf(day) < ISSUE_NAIVE.length ? ISSUE_NAIVE[days.indexOf(day)] : undefined;
  dayResults.push({
    day,
    faults: results.length,
    loaded,
    shifted_by_minutes: Math.round(shiftMs / MIN),
    ask_s: round((performance.now() - asked) / 1000, 1),
    chat: { ...score(results, 'chat'), no_hypothesis: results.filter((r) => r.chat.none).length },
    naive: score(results, 'naive'),
    ...(naiveIssue && !opts.quick ? { naive_reported_in_issue: naiveIssue } : {}),
    onset: score(results, 'onset'),
    per_fault: results,
  });
}
await service.close();

/** Per grid setting and day: RCA@1 and @3; per day, the setting best on the other days, scored on this one. */
function gridReport() {
  const byDay = dayResults.map((d) => d.per_fault as FaultResult[]);
  const at = (rs: FaultResult[], i: number) => ({
    rca_at_1: round(rs.filter((r) => r.grid![i]!.hit1).length / rs.length, 3),
    rca_at_3: round(rs.filter((r) => r.grid![i]!.hit3).length / rs.length, 3),
  });
  const settings = GRID.map((g, i) => ({ setting: g.name, days: byDay.map((rs) => at(rs, i)) }));
  const leaveOneDayOut = dayResults.map((d, k) => {
    const others = byDay.filter((_, j) => j !== k).flat();
    if (others.length === 0) return { day: d.day, chosen: GRID[0]!.name, note: 'one day only: the defaults' };
    let best = 0;
    for (let i = 1; i < GRID.length; i++) {
      const a = at(others, i);
      const b = at(others, best);
      if (a.rca_at_1 > b.rca_at_1 || (a.rca_at_1 === b.rca_at_1 && a.rca_at_3 > b.rca_at_3)) best = i;
    }
    return { day: d.day, chosen_on_other_days: GRID[best]!.name, scored_here: at(byDay[k]!, best) };
  });
  return { settings, leave_one_day_out: leaveOneDayOut };
}

const table = all.map(
  (r) =>
    `${r.time.replace('T', ' ')}  ${r.type.padEnd(15)} ${r.service.padEnd(30)} chat@1 ${(r.chat.top1 ?? '(none)').padEnd(30)} @3 [${r.chat.top3.join(', ')}] ${r.chat.hit1 ? 'hit@1' : r.chat.hit3 ? 'hit@3' : 'miss'}`,
);
process.stderr.write(`\n${table.join('\n')}\n`);
report('rca-real', {
  quick: opts.quick,
  data: dataRoot,
  wall_s: round((performance.now() - benchStarted) / 1000, 1),
  total: {
    faults: all.length,
    chat: { ...score(all, 'chat'), no_hypothesis: all.filter((r) => r.chat.none).length },
    naive: score(all, 'naive'),
    onset: score(all, 'onset'),
  },
  ...(withGrid ? { grid: gridReport() } : {}),
  published_reference: PUBLISHED,
  days: dayResults,
});
