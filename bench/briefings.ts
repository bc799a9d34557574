/**
 * A briefing end to end through POST /v1/briefings (gather, assess, consult, write; stored), without
 * a model, at 1M and 10M log records: the briefing of the last hour, which holds the injected fault.
 * Each run uses its own name, so nothing is returned from storage.
 *
 *   npm run bench:briefings -- [--sizes 1000000,10000000] [--runs 3] [--quick]
 */
import { benchService, options, percentile, report, round } from './lib.ts';
import { BenchData } from './data.ts';

const opts = options({ sizes: { type: 'string', default: '1000000,10000000' }, runs: { type: 'string', default: '3' } });
const sizes = opts.quick ? [60_000] : opts.sizes.split(',').map(Number);
const runs = opts.quick ? 1 : Number(opts.runs);

const { service, token } = await benchService();
const data = new BenchData(service.deps.store, service.deps.ingest);
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
await data.seed('payment-bad-deploy', opts.quick ? 2 : 6, end);
const sre = await token(['sre']);

interface Out {
  id: string;
  incidents: { origin: string; status: string; kind: string; severity: string; summary: string }[];
  evidence: unknown[];
  key_metrics: unknown[];
  gaps: string[];
  tool_runs: { tool: string; purpose: string; elapsed_ms: number }[];
}

let n = 0;
async function briefing(): Promise<{ ms: number; b: Out }> {
  const started = performance.now();
  const res = await service.app.request('/v1/briefings', {
    method: 'POST',
    headers: { Authorization: `Bearer ${sre}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `bench-${++n}`, period: '1h', end: new Date(end).toISOString() }),
  });
  const b = (await res.json()) as Out;
  if (res.status !== 201) throw new Error(`POST /v1/briefings answered ${res.status}: ${JSON.stringify(b)}`);
  return { ms: performance.now() - started, b };
}

const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  await data.grow(size);
  await briefing(); // warm: caches of services and the dependency graph
  const ms: number[] = [];
  let last: Out | undefined;
  for (let i = 0; i < runs; i++) {
    const t = await briefing();
    ms.push(t.ms);
    last = t.b;
  }
  if (last?.incidents[0]?.origin !== 'payment')
    throw new Error('the benchmark data lost its fault: the briefing names no payment incident');
  const sorted = [...ms].sort((a, b) => a - b);
  const result = {
    target_log_records: size,
    ...(await data.volume()),
    briefing_ms: { p50: round(percentile(sorted, 50)), max: round(sorted[sorted.length - 1]!) },
    incidents: last.incidents.map((i) => `${i.severity} ${i.origin} (${i.kind}): ${i.summary.slice(0, 160)}`),
    evidence_items: last.evidence.length,
    key_metrics: last.key_metrics.length,
    gaps: last.gaps,
    // The slowest calls of the last run (they run in parallel within a step).
    slowest_calls: [...last.tool_runs].sort((a, b) => b.elapsed_ms - a.elapsed_ms).slice(0, 5),
  };
  process.stderr.write(`${JSON.stringify(result)}\n`);
  results.push(result);
}
await service.close();
report('briefings', { quick: opts.quick, runs, period: '1h', sizes: results });
