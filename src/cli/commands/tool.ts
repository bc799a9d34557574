import { parseArgs } from 'node:util';
import type { Config } from '../../config/env.ts';
import { CliError, ServiceClient, cliToken } from '../client.ts';
import type { ToolResult } from '../../tools/definition.ts';

/** aiops tool <name> '<json args>' [--workspace shop] [--text]: runs a telemetry tool through the service. */
export async function toolCommand(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { workspace: { type: 'string', default: 'shop' }, text: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  const client = new ServiceClient(
    config.serviceUrl,
    cliToken(config, { workspaces: [values.workspace], roles: ['sre', 'security', 'efficiency'] }),
  );
  const [name, json] = positionals;
  if (!name) {
    const list = await client.json<{ tools: { name: string; description: string }[] }>('GET', '/v1/tools');
    for (const t of list.tools) process.stdout.write(`${t.name.padEnd(22)} ${t.description.split('. ')[0]}.\n`);
    return;
  }
  let args: unknown = {};
  if (json) {
    try {
      args = JSON.parse(json);
    } catch {
      throw new CliError(`the arguments must be JSON, for example '{"last":"1h"}' (got ${json})`, 2);
    }
  }
  const result = await client.json<ToolResult>('POST', `/v1/tools/${encodeURIComponent(name)}`, args, { 'X-Workspace': values.workspace });
  process.stdout.write(values.text ? `${result.rendered}\n` : `${JSON.stringify(result, null, 2)}\n`);
}
