import fs from 'node:fs';
import readline from 'node:readline';
import { PatternMiner } from '../../tools/patterns/miner.ts';
import { CliError } from '../client.ts';
import { COMMAND_USAGE } from '../usage.ts';

/**
 * aiops patterns [FILE|-]: mines log templates from a file (or standard input),
 * one message per line. Prints JSON lines: each input line's template id
 * (once all lines are read), then the template table, most frequent first.
 */
export async function patternsCommand(argv: string[]): Promise<void> {
  const [file, ...extra] = argv;
  if (extra.length || (file?.startsWith('-') && file !== '-')) throw new CliError(COMMAND_USAGE.patterns, 2);
  // "-" (or no file) is standard input, as for anomalies.
  const fromStdin = file === undefined || file === '-';
  if (!fromStdin && !fs.existsSync(file)) throw new CliError(`no such file: ${file}`, 2);
  const input = fromStdin ? process.stdin : fs.createReadStream(file, 'utf8');
  const miner = new PatternMiner();
  const out = process.stdout;
  // Templates settle only once every line is in, so the lines are assigned at the end.
  const handles: number[] = [];
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) handles.push(miner.add(line));
  let buffer = '';
  for (const [i, handle] of handles.entries()) {
    buffer += `${JSON.stringify({ line: i + 1, template_id: miner.templateOf(handle).id })}\n`;
    if (buffer.length > 64_000) {
      if (!out.write(buffer)) await new Promise((r) => out.once('drain', r));
      buffer = '';
    }
  }
  for (const t of [...miner.templates()].sort((a, b) => b.count - a.count)) {
    buffer += `${JSON.stringify({ template_id: t.id, count: t.count, template: t.text })}\n`;
  }
  out.write(buffer);
}
