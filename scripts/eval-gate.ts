/**
 * The eval gate (npm run eval:gate; .ci/run runs it after npm test): starts the service as
 * `aiops serve` with embedded defaults (chDB, the in-process knowledge index, no model: answers come
 * from the deterministic narrator) on a free port and a temporary data folder, runs every suite with
 * `aiops eval run`, and fails when a suite's pass rate is below its minimum in evals/thresholds.yaml.
 * The simulator's demo seed is off: every case loads its own telemetry into its own workspace.
 *
 *   npm run eval:gate
 *   EVAL_GATE_OUT=/tmp/gate npm run eval:gate   # keep the report elsewhere than evals/results/
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { EvalReport } from '../src/evals/report.ts';
import { freePort, seconds, startService } from './service-process.ts';

const READY_TIMEOUT_MS = Number(process.env.READY_TIMEOUT_S ?? 300) * 1000;
const RUN_TIMEOUT_MS = Number(process.env.RUN_TIMEOUT_S ?? 1800) * 1000;

const Thresholds = z.object({ suites: z.record(z.string(), z.number().min(0).max(1)) }).strict();

/** `aiops eval run --json` against the service; resolves with the report. */
function runSuites(env: NodeJS.ProcessEnv, out: string): Promise<EvalReport> {
  const child = spawn(process.execPath, ['bin/aiops', 'eval', 'run', '--json', '--out', out], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new Error(`the eval run did not finish within ${seconds(RUN_TIMEOUT_MS)}`));
      if (code !== 0) return reject(new Error(`aiops eval run exited with ${code}`));
      resolve(JSON.parse(stdout) as EvalReport);
    });
  });
}

async function main(): Promise<void> {
  const began = Date.now();
  const thresholds = Thresholds.parse(parse(fs.readFileSync('evals/thresholds.yaml', 'utf8'))).suites;
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-eval-gate-'));
  // Embedded defaults: none of the service's variables but these (no model, no Qdrant, no server ClickHouse).
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AIOPS_|AUTH_|CLICKHOUSE_|OLLAMA_|QDRANT_|POSTGRES_|CONTROL_PLANE_|SLACK_)/.test(k)),
  );
  Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', AIOPS_DATA_DIR: dataDir, AIOPS_DEMO: 'off', LOG_LEVEL: 'info' });
  const out = process.env.EVAL_GATE_OUT ?? path.join('evals', 'results');
  let service: Awaited<ReturnType<typeof startService>> | undefined;
  let report: EvalReport;
  try {
    process.stdout.write(`eval gate: starting the service on port ${port}, data in ${dataDir}\n`);
    service = await startService(env, READY_TIMEOUT_MS);
    process.stdout.write(`ready after ${seconds(Date.now() - began)}; running every suite\n`);
    report = await runSuites(env, out);
  } finally {
    await service?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const rows = report.summaries.filter((s) => s.suite !== 'all');
  const failures: string[] = [];
  process.stdout.write('\n| suite | cases | passed | pass rate | minimum |\n|---|---|---|---|---|\n');
  for (const s of rows) {
    const min = thresholds[s.suite];
    process.stdout.write(`| ${s.suite} | ${s.cases} | ${s.passed} | ${s.pass_rate.toFixed(3)} | ${min ?? 'none'} |\n`);
    if (min !== undefined && s.pass_rate < min) failures.push(`${s.suite}: pass rate ${s.pass_rate.toFixed(3)} is below ${min}`);
  }
  for (const suite of Object.keys(thresholds)) if (!rows.some((s) => s.suite === suite)) failures.push(`${suite}: no case ran`);
  const took = seconds(Date.now() - began);
  if (failures.length) {
    process.stderr.write(`\neval gate: FAILED after ${took} (run ${report.run_id}):\n  ${failures.join('\n  ')}\n`);
    process.exit(1);
  }
  process.stdout.write(`\neval gate: every suite at or above its minimum, in ${took} (run ${report.run_id}, report in ${out})\n`);
}

await main();
