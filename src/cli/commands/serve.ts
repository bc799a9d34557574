import type { Config } from '../../config/env.ts';
import { createLogger } from '../../observability/logger.ts';
import { buildService, listen } from '../../runtime/service.ts';

export async function serveCommand(config: Config): Promise<void> {
  const logger = createLogger({ level: config.LOG_LEVEL });
  const started = Date.now();
  if (config.devAuth) {
    logger.warn(
      { key: `${config.dataDir}/dev-auth/signing-key.json` },
      'DEV MODE: no AUTH_JWKS_URL or AUTH_PUBLIC_KEY is set, so the service trusts tokens signed with its own dev key. Never run a shared deployment like this.',
    );
  }
  const service = await buildService(config, logger);
  const running = await listen(service, config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'signal received');
    running.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  await running.ready;
  const status = service.deps.demo?.status;
  logger.info({ url: running.url, ready_ms: Date.now() - started, demo: status ?? 'off', store: service.deps.store.kind }, 'ready');
  const envPrefix = config.AIOPS_DATA_DIR === './data' ? '' : `AIOPS_DATA_DIR=${config.AIOPS_DATA_DIR} `;
  const lines = [
    '',
    `  hks-aiops is listening on ${running.url}  (ready in ${((Date.now() - started) / 1000).toFixed(1)} s, ${service.deps.store.kind} ClickHouse${status && status !== 'off' ? `, demo data: ${status}` : ''})`,
    '',
    `  Web console: ${running.url}/ui/${config.devAuth ? '  (dev sign-in from this machine)' : ''}`,
    '',
  ];
  if (config.devAuth) {
    lines.push(
      '  DEV MODE: tokens are signed with a key in the data folder. Get one with:',
      `    TOKEN=$(${envPrefix}bin/aiops token --sub alice --workspace shop --roles sre,approver)`,
      '',
      '  Then, for example:',
      `    curl -s -H "Authorization: Bearer $TOKEN" ${running.url}/v1/whoami`,
      `    curl -s ${running.url}/readyz`,
      '',
    );
  } else {
    lines.push(
      '  Call it with a token from the control plane, for example:',
      `    curl -s -H "Authorization: Bearer $TOKEN" ${running.url}/v1/whoami`,
      '',
    );
  }
  process.stderr.write(`${lines.join('\n')}\n`);
}
