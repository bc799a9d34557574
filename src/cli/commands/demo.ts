import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { createLogger } from '../../observability/logger.ts';
import { SCENARIOS } from '../../demo/scenarios.ts';
import { DEMO_WORKSPACES, loadStates, seedDemo, scenarioOrThrow, type SeedResult } from '../../demo/seed.ts';
import { openTelemetry } from '../../runtime/service.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';
import { COMMAND_USAGE } from '../usage.ts';

export async function demoCommand(config: Config, argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'seed':
      return seed(config, rest);
    case 'scenarios':
      for (const s of Object.values(SCENARIOS)) {
        process.stdout.write(`${s.name.padEnd(32)} ${s.category.padEnd(11)} ${s.truth.description}\n`);
      }
      return;
    case 'state': {
      const client = new ServiceClient(config.serviceUrl, cliToken(config, { workspaces: DEMO_WORKSPACES, roles: ['sre'] }));
      process.stdout.write(`${JSON.stringify(await client.json('GET', '/v1/demo/state'), null, 2)}\n`);
      return;
    }
    default:
      throw new CliError(COMMAND_USAGE.demo, 2);
  }
}

async function seed(config: Config, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', default: 'payment-bad-deploy' },
      seed: { type: 'string', default: '7' },
      hours: { type: 'string', default: '6' },
      end: { type: 'string' },
    },
    strict: true,
  });
  try {
    scenarioOrThrow(values.scenario);
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const seedNum = Number(values.seed);
  const hours = Number(values.hours);
  if (!Number.isInteger(seedNum) || seedNum < 0) throw new CliError('--seed: expected a whole number', 2);
  if (!(hours >= 0.25 && hours <= 48)) throw new CliError('--hours: expected a number between 0.25 and 48', 2);
  const end = values.end ? Date.parse(values.end) : undefined;
  if (values.end && !Number.isFinite(end)) throw new CliError('--end: expected an ISO 8601 time such as 2026-11-22T06:00:00Z', 2);

  const client = new ServiceClient(config.serviceUrl, cliToken(config, { workspaces: DEMO_WORKSPACES, roles: ['ingest'] }));
  let result: SeedResult;
  if (await client.reachable()) {
    process.stderr.write(`loading ${values.scenario} through the running service at ${config.serviceUrl}\n`);
    result = await client.json<SeedResult>('POST', '/v1/demo/seed', {
      scenario: values.scenario,
      seed: seedNum,
      hours,
      ...(end ? { end: new Date(end).toISOString() } : {}),
    });
  } else {
    process.stderr.write(
      `no service answers at ${config.serviceUrl}; writing to ${config.CLICKHOUSE_URL ? 'ClickHouse' : config.dataDir} directly\n`,
    );
    const logger = createLogger({ level: 'warn', stream: 'stderr' });
    const { store, ingest } = await openTelemetry(config, logger);
    try {
      result = await seedDemo(store, ingest, config.TENANT_ATTRIBUTE, { scenario: values.scenario, seed: seedNum, hours, end }, logger);
      await loadStates(store);
    } finally {
      await store.close();
    }
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
