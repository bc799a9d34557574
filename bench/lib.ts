import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/config/env.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { buildService, type Service } from '../src/runtime/service.ts';
import { loadOrCreateDevKeys, signDevToken } from '../src/auth/dev-keys.ts';

/** Shared bits of the benchmarks: options, a service on a temporary folder, timing and reporting. */

/** Command-line options of a benchmark; every one has a default, and --quick is always there. */
export function options<T extends Record<string, { type: 'string'; default: string }>>(
  spec: T,
): { quick: boolean } & { [K in keyof T]: string } {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean', default: false }, ...spec },
    strict: true,
  });
  return values as unknown as { quick: boolean } & { [K in keyof T]: string };
}

export async function benchService(
  env: Record<string, string> = {},
): Promise<{ service: Service; config: Config; dataDir: string; token: (roles: string[], workspaces?: string[]) => Promise<string> }> {
  process.env.TZ = 'UTC';
  const dataDir = env.AIOPS_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-bench-'));
  const config = loadConfig({ AIOPS_DEMO: 'off', LOG_LEVEL: 'silent', ...env, AIOPS_DATA_DIR: dataDir });
  const service = await buildService(config, silentLogger(), { defaultMetrics: false });
  await service.start();
  const keys = await loadOrCreateDevKeys(dataDir);
  return {
    service,
    config,
    dataDir,
    token: (roles, workspaces = ['shop']) =>
      signDevToken(keys, { sub: 'bench', roles, workspaces, ttlSeconds: 3600, issuer: config.AUTH_ISSUER, audience: config.AUTH_AUDIENCE }),
  };
}

/** Runs `task` `total` times with `concurrency` in flight; returns elapsed ms. */
export async function drive(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) await task(i);
    }),
  );
  return performance.now() - started;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function report(name: string, result: Record<string, unknown>): void {
  const line = { bench: name, at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...result };
  process.stdout.write(`${JSON.stringify(line, null, 2)}\n`);
  const dir = path.resolve('bench/results');
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, `${name}.jsonl`), `${JSON.stringify(line)}\n`);
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;
