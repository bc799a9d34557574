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
import { evalCommand } from './commands/eval.ts';
import { briefingCommand } from './commands/briefing.ts';
import { DocumentError } from '../knowledge/markdown.ts';
import { COMMAND_USAGE, isCommand, overview, wantsHelp } from './usage.ts';

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  // Help never needs configuration: it works with any environment, and exits 0.
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    const [topic] = rest;
    if (command === 'help' && topic !== undefined) {
      if (!isCommand(topic)) throw new CliError(`unknown command "${topic}"\n\n${overview()}`, 2);
      return void process.stdout.write(`${COMMAND_USAGE[topic]}\n`);
    }
    return void process.stdout.write(`${overview()}\n`);
  }
  if (!isCommand(command)) throw new CliError(`unknown command "${command}"\n\n${overview()}`, 2);
  if (wantsHelp(rest)) return void process.stdout.write(`${COMMAND_USAGE[command]}\n`);
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
    case 'eval':
      return evalCommand(config, rest);
    case 'briefing':
      return briefingCommand(config, rest);
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
