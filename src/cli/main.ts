import { ConfigError, loadConfig } from '../config/env.ts';
import { PolicyError } from '../policies/load.ts';
import { StoreUnavailable } from '../clients/clickhouse.ts';
import { PromptError } from '../prompts/registry.ts';
import { CliError } from './client.ts';
import { serveCommand } from './commands/serve.ts';
import { tokenCommand } from './commands/token.ts';
import { demoCommand } from './commands/demo.ts';
import { toolCommand } from './commands/tool.ts';
import { patternsCommand } from './commands/patterns.ts';
import { anomaliesCommand } from './commands/anomalies.ts';
import { chatCommand } from './commands/chat.ts';
import { knowledgeCommand } from './commands/knowledge.ts';
import { DocumentError } from '../knowledge/markdown.ts';

const USAGE = `usage: aiops <command> [options]

commands:
  serve                         run the service (npm start)
  token --sub U --workspace W --roles a,b [--ttl 1h]
                                print a dev-mode token (dev mode only)
  demo seed [--scenario S] [--seed N] [--hours H] [--end TIME]
                                load simulated telemetry for a scenario
  demo scenarios                list the simulator's scenarios
  demo state                    show the loaded scenario and its ground truth
  tool [NAME ['{"json":"args"}']] [--workspace W] [--text]
                                run a telemetry tool (no name: list them)
  patterns [FILE]               mine log templates from a file or stdin, one message per line
  anomalies FILE.csv|- [--json] [--threshold T]
                                score a timestamp,value series for anomalies, row by row
  chat "QUESTION" [--thread ID] [--workspace W] [--json]
                                ask the agents; progress on stderr, the answer on stdout
  knowledge index FOLDER [--workspace W] [--prefix P] [--prune] [--dry-run]
                                send a folder of markdown runbooks to the service
  knowledge search "QUERY" [--alertname NAME] [--k N]
                                search runbooks and the workspace's documents
  knowledge list                list the workspace's documents

Configuration comes from the environment; see README.md.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'patterns') return patternsCommand(rest);
  if (command === 'anomalies') return anomaliesCommand(rest);
  const config = loadConfig();
  switch (command) {
    case 'serve':
      return serveCommand(config);
    case 'token':
      return tokenCommand(config, rest);
    case 'demo':
      return demoCommand(config, rest);
    case 'tool':
      return toolCommand(config, rest);
    case 'chat':
      return chatCommand(config, rest);
    case 'knowledge':
      return knowledgeCommand(config, rest);
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (
    err instanceof ConfigError ||
    err instanceof PolicyError ||
    err instanceof PromptError ||
    err instanceof StoreUnavailable ||
    err instanceof CliError ||
    err instanceof DocumentError
  ) {
    process.stderr.write(`aiops: ${err.message}\n`);
    process.exit(err instanceof CliError ? err.exitCode : 2);
  }
  if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`aiops: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`aiops: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
