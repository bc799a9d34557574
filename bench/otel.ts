/**
 * The cost of the service's own tracing: chat turn p50 through POST /v1/chat
 * (a counting stand-in model, so every turn has model-call spans) without an
 * OTLP endpoint (no-op tracer) and with one (spans exported as OTLP/HTTP
 * protobuf to a local receiver). chDB opens one data folder per process, so
 * each mode runs in a child process of its own; the modes alternate over the
 * rounds so that a busy machine slows both alike.
 *
 *   npm run bench:otel -- [--turns 40] [--rounds 3] [--quick]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { options, percentile, report, round } from './lib.ts';

const opts = options({
  turns: { type: 'string', default: '40' },
  rounds: { type: 'string', default: '3' },
  child: { type: 'string', default: '' },
  endpoint: { type: 'string', default: '' },
  hours: { type: 'string', default: '1' },
});
const QUESTIONS = ['why are payments failing?', 'is checkout slow?', 'what changed in the shop in the last hour?'];

if (opts.child) {
  // One mode: a service (with or without the endpoint), the data, warm-up, then timed turns.
  const { loadConfig } = await import('../src/config/env.ts');
  const { silentLogger } = await import('../src/observability/logger.ts');
  const { buildService } = await import('../src/runtime/service.ts');
  const { loadOrCreateDevKeys, signDevToken } = await import('../src/auth/dev-keys.ts');
  const { BenchData } = await import('./data.ts');
  const { ScriptedChatModel } = await import('../test/helpers/fake-model.ts');
  const { citingDraft } = await import('../test/helpers/ollama-server.ts');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-otel-'));
  // The LLM cache stays off: every turn calls the model, as a first question in an incident does.
  const policies = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-policies-'));
  for (const f of fs.readdirSync('policies')) fs.copyFileSync(path.join('policies', f), path.join(policies, f));
  const llm = fs.readFileSync(path.join(policies, 'llm.yaml'), 'utf8').replace(/cache:\n {2}enabled: true/, 'cache:\n  enabled: false');
  fs.writeFileSync(path.join(policies, 'llm.yaml'), llm);
  const config = loadConfig({
    AIOPS_DEMO: 'off',
    LOG_LEVEL: 'silent',
    AIOPS_DATA_DIR: dataDir,
    AIOPS_POLICIES_DIR: policies,
    ...(opts.child === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: opts.endpoint } : {}),
  });
  const model = new ScriptedChatModel({ route: { agents: ['sre'], reason: 'failures' }, draft: citingDraft });
  const service = await buildService(config, silentLogger(), { defaultMetrics: false, model, modelName: 'counting-model' });
  await service.start();
  if (service.deps.tracing.enabled !== (opts.child === 'on')) throw new Error('the tracer is not in the mode asked for');
  const data = new BenchData(service.deps.store, service.deps.ingest);
  await data.seed('payment-bad-deploy', Number(opts.hours), Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
  const keys = await loadOrCreateDevKeys(dataDir);
  const token = await signDevToken(keys, {
    sub: 'bench',
    roles: ['sre'],
    workspaces: ['shop'],
    ttlSeconds: 3600,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
  });
  const turn = async (message: string) => {
    const started = performance.now();
    const res = await service.app.request('/v1/chat', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ message }),
    });
    if (res.status !== 200) throw new Error(`POST /v1/chat answered ${res.status}`);
    await res.json();
    return performance.now() - started;
  };
  for (const q of QUESTIONS) await turn(q);
  const ms: number[] = [];
  for (let i = 0; i < Number(opts.turns); i++) ms.push(await turn(QUESTIONS[i % QUESTIONS.length]!));
  await service.deps.tracing.forceFlush();
  await service.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ ms })}\n`);
  process.exit(0);
}

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
const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

const turns = opts.quick ? 6 : Number(opts.turns);
const rounds = opts.quick ? 1 : Number(opts.rounds);
const runChild = async (mode: 'on' | 'off'): Promise<number[]> => {
  // Asynchronous, so the receiver in this process keeps answering while the child runs.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      ...['--child', mode, '--endpoint', endpoint, '--turns', String(turns), '--hours', opts.quick ? '0.5' : opts.hours],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TZ: 'UTC' } },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the ${mode} run failed (exit ${code})`);
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number[] }).ms;
};

const off: number[][] = [];
const on: number[][] = [];
for (let r = 0; r < rounds; r++) {
  // Alternate which mode goes first.
  if (r % 2 === 0) {
    off.push(await runChild('off'));
    on.push(await runChild('on'));
  } else {
    on.push(await runChild('on'));
    off.push(await runChild('off'));
  }
}
receiver.close();
if (requests === 0) throw new Error('no spans reached the receiver');
const p = (xs: number[], q: number) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    q,
  );
const offAll = off.flat();
const onAll = on.flat();
const p50Off = p(offAll, 50);
const p50On = p(onAll, 50);
report('otel', {
  quick: opts.quick,
  rounds,
  turns_per_round: turns,
  without_export: { p50_ms: round(p50Off), p95_ms: round(p(offAll, 95)), p50_by_round: off.map((x) => round(p(x, 50))) },
  with_otlp_export: { p50_ms: round(p50On), p95_ms: round(p(onAll, 95)), p50_by_round: on.map((x) => round(p(x, 50))) },
  overhead_p50_percent: round(((p50On - p50Off) / p50Off) * 100),
  export_requests: requests,
  export_kib: round(bytes / 1024),
});
