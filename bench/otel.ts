/**
 * The cost of the service's own tracing: chat turn p50 through POST /v1/chat
 * (a stand-in model: the root-cause turns have model-call spans) with spans
 * exported as OTLP/HTTP protobuf to a local receiver, against the same turns
 * with the no-op tracer a service without OTEL_EXPORTER_OTLP_ENDPOINT has.
 * One service, the two modes alternating in blocks of turns (a busy machine
 * slows both alike); each export block ends with a flush, timed with it, so
 * no export work spills into the next block.
 *
 *   npm run bench:otel -- [--turns 60] [--block 5] [--quick]
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { options, percentile, report, round } from './lib.ts';
import { loadConfig } from '../src/config/env.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { buildService } from '../src/runtime/service.ts';
import { loadOrCreateDevKeys, signDevToken } from '../src/auth/dev-keys.ts';
import { BenchData } from './data.ts';
import { ScriptedChatModel } from '../test/helpers/fake-model.ts';
import { citingDraft } from '../test/helpers/ollama-server.ts';

const opts = options({ turns: { type: 'string', default: '60' }, block: { type: 'string', default: '5' } });
const turnsPerMode = opts.quick ? 6 : Number(opts.turns);
const block = opts.quick ? 3 : Number(opts.block);
const QUESTIONS = ['why are payments failing?', 'is checkout slow?', 'what changed in the shop in the last hour?'];

// The receiver: counts OTLP export requests and bytes, answers 200 as a collector does.
let requests = 0;
let bytes = 0;
const receiver = http.createServer((req, res) => {
  req.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  req.on('end', () => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'application/x-protobuf' }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-otel-'));
// The LLM cache stays off: every turn calls the model, as a first question in an incident does.
const policies = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-policies-'));
for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(policies, f));
const llm = fs.readFileSync(path.join(policies, 'llm.yaml'), 'utf8');
if (!/cache:\n {2}enabled: true/.test(llm)) throw new Error('policies/llm.yaml no longer has the cache block this benchmark turns off');
fs.writeFileSync(path.join(policies, 'llm.yaml'), llm.replace(/cache:\n {2}enabled: true/, 'cache:\n  enabled: false'));
const config = loadConfig({
  AIOPS_DEMO: 'off',
  LOG_LEVEL: 'silent',
  AIOPS_DATA_DIR: dataDir,
  AIOPS_POLICIES_DIR: policies,
  OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
});
const model = new ScriptedChatModel({ route: { agents: ['sre'], reason: 'failures' }, draft: citingDraft });
const service = await buildService(config, silentLogger(), { defaultMetrics: false, model, modelName: 'counting-model' });
await service.start();
const tracing = service.deps.tracing;
if (!tracing.enabled) throw new Error('the service did not set up OTLP export');
const data = new BenchData(service.deps.store, service.deps.ingest);
await data.seed('payment-bad-deploy', opts.quick ? 0.5 : 1, Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
const keys = await loadOrCreateDevKeys(dataDir);
const token = await signDevToken(keys, {
  sub: 'bench',
  roles: ['sre'],
  workspaces: ['shop'],
  ttlSeconds: 3600,
  issuer: config.AUTH_ISSUER,
  audience: config.AUTH_AUDIENCE,
});

let asked = 0;
async function turn(): Promise<number> {
  const started = performance.now();
  const res = await service.app.request('/v1/chat', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: QUESTIONS[asked++ % QUESTIONS.length] }),
  });
  if (res.status !== 200) throw new Error(`POST /v1/chat answered ${res.status}`);
  await res.json();
  return performance.now() - started;
}

// Warm-up in both modes.
for (const on of [true, false]) {
  tracing.setRecording(on);
  for (let i = 0; i < QUESTIONS.length; i++) await turn();
}
await tracing.forceFlush();
const exported = { requests, bytes };

const off: number[] = [];
const on: number[] = [];
let flushMs = 0;
for (let b = 0; on.length < turnsPerMode || off.length < turnsPerMode; b++) {
  const recording = b % 2 === 0;
  tracing.setRecording(recording);
  const into = recording ? on : off;
  for (let i = 0; i < block && into.length < turnsPerMode; i++) into.push(await turn());
  if (recording) {
    // The export of this block's spans belongs to its turns: flushed before the other mode runs.
    const started = performance.now();
    await tracing.forceFlush();
    const ms = performance.now() - started;
    flushMs += ms;
    into[into.length - 1]! += ms;
  }
}
await service.close();
receiver.close();
fs.rmSync(dataDir, { recursive: true, force: true });
if (requests === exported.requests) throw new Error('no spans reached the receiver during the timed turns');
if (model.calls.length === 0) throw new Error('no turn called the model');

const p = (xs: number[], q: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    q,
  );
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
report('otel', {
  quick: opts.quick,
  turns_per_mode: turnsPerMode,
  block,
  without_export: { p50_ms: round(p(off, 50)), p95_ms: round(p(off, 95)), mean_ms: round(mean(off)) },
  with_otlp_export: { p50_ms: round(p(on, 50)), p95_ms: round(p(on, 95)), mean_ms: round(mean(on)) },
  overhead_p50_percent: round(((p(on, 50) - p(off, 50)) / p(off, 50)) * 100),
  overhead_mean_percent: round(((mean(on) - mean(off)) / mean(off)) * 100),
  flush_ms_total: round(flushMs),
  export_requests: requests - exported.requests,
  export_kib_per_turn: round((bytes - exported.bytes) / 1024 / on.length, 2),
});
