import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config/env.ts';
import { buildService, type BuildOptions, type Service } from '../../src/runtime/service.ts';
import { loadOrCreateDevKeys, signDevToken } from '../../src/auth/dev-keys.ts';
import type { Logger } from '../../src/observability/logger.ts';

export function tempDir(prefix = 'aiops-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A logger whose output the test can read (to check what is, and is not, logged). */
export function capturingLogger(): { logger: Logger; lines: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => chunks.join('') };
}

export interface TestService {
  service: Service;
  config: Config;
  dataDir: string;
  logs: () => string;
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  token(claims: { sub?: string; workspaces?: string[]; roles?: string[]; ttlSeconds?: number }): Promise<string>;
  close(): Promise<void>;
}

/** The whole service on a fresh data folder, without a port: tests call app.request(). */
export async function startTestService(env: Record<string, string> = {}, opts: BuildOptions = {}): Promise<TestService> {
  const dataDir = env.AIOPS_DATA_DIR ?? tempDir();
  const config = loadConfig({
    AIOPS_DEMO: 'off',
    LOG_LEVEL: 'debug',
    AIOPS_POLICIES_DIR: path.resolve('policies'),
    AIOPS_PROMPTS_DIR: path.resolve('prompts'),
    ...env,
    AIOPS_DATA_DIR: dataDir,
  });
  const { logger, lines } = capturingLogger();
  const service = await buildService(config, logger, { defaultMetrics: false, ...opts });
  await service.start();
  return {
    service,
    config,
    dataDir,
    logs: lines,
    request(p, init = {}) {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token) headers.set('Authorization', `Bearer ${token}`);
      return Promise.resolve(service.app.request(p, { ...rest, headers }));
    },
    async token(claims) {
      const keys = await loadOrCreateDevKeys(dataDir);
      return signDevToken(keys, {
        sub: claims.sub ?? 'alice',
        workspaces: claims.workspaces ?? ['shop'],
        roles: claims.roles ?? ['sre'],
        ttlSeconds: claims.ttlSeconds ?? 600,
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
      });
    },
    async close() {
      await service.close();
    },
  };
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
