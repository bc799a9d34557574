/**
 * Pastes the README's shell blocks, top to bottom, into one shell against a freshly started service,
 * as a person following the README in a fresh clone would (npm run readme:check; .ci/run runs it).
 *
 * The service runs as `aiops serve` with the defaults a fresh clone has, except for a free port and a
 * temporary data folder (so the dev key is that folder's). The blocks run in one bash, so variables
 * carry from one example to the next, with the same PORT and AIOPS_DATA_DIR (the CLI reads both) and
 * the README's http://127.0.0.1:8080 pointed at the port taken. The check fails on a command that
 * exits non-zero (`set -euo pipefail`), on an HTTP error (curl runs with --fail-with-body) and on a
 * problem body anywhere in the output (an error event inside a 200 stream). Blocks fenced
 * ```sh skip-check are not run (scripts/readme-blocks.ts).
 *
 *   npm run readme:check                      # README.md
 *   READY_TIMEOUT_S=900 npm run readme:check  # a busy machine seeds slowly
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shellBlocks } from './readme-blocks.ts';
import { freePort, seconds, startService, type Started } from './service-process.ts';

const README = process.argv[2] ?? 'README.md';
const READY_TIMEOUT_MS = Number(process.env.READY_TIMEOUT_S ?? 900) * 1000;
const RUN_TIMEOUT_MS = Number(process.env.RUN_TIMEOUT_S ?? 1200) * 1000;
const MARK = '@@readme-check block';

/** The blocks as one bash script: each announced by a marker line, stderr with stdout. */
function script(blocks: { index: number; line: number; code: string }[], port: number): string {
  const lines = [
    'set -euo pipefail',
    'exec 2>&1',
    // An HTTP error is a failure, with its body still shown.
    'curl() { command curl --fail-with-body "$@"; }',
    `trap 'echo "readme-check: exit $? from: $BASH_COMMAND"' ERR`,
  ];
  for (const b of blocks) {
    lines.push(`echo; echo '${MARK} ${b.index} (line ${b.line})'`);
    lines.push(b.code.replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`).replaceAll('localhost:8080', `localhost:${port}`));
  }
  lines.push(`echo; echo '${MARK} end'`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const all = shellBlocks(fs.readFileSync(README, 'utf8'));
  const blocks = all.filter((b) => b.run);
  process.stdout.write(
    `${README}: ${all.length} shell blocks, ${blocks.length} to paste (${all.length - blocks.length} marked skip-check)\n`,
  );
  const began = Date.now();
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-readme-'));
  // The environment of a fresh clone: none of the service's variables but these.
  const env: NodeJS.ProcessEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(AIOPS_|AUTH_|CLICKHOUSE_|OLLAMA_|QDRANT_|POSTGRES_|CONTROL_PLANE_|SLACK_)/.test(k)),
  );
  Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', AIOPS_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
  delete env.AIOPS_URL;

  let service: Started | undefined;
  let failed: string | undefined;
  try {
    process.stdout.write(`starting the service on port ${port}, data in ${dataDir} (first demo seed)\n`);
    service = await startService(env, READY_TIMEOUT_MS);
    process.stdout.write(`ready in ${seconds(service.readyMs)}\n`);
    failed = await runBlocks(script(blocks, port), env);
    if (!failed && /"msg":"unhandled error"/.test(service.log())) failed = 'the service logged an unhandled error while the blocks ran';
  } catch (err) {
    failed = (err as Error).message;
  } finally {
    await service?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const took = seconds(Date.now() - began);
  if (failed) {
    process.stderr.write(`\nreadme-check: FAILED after ${took}: ${failed}\n`);
    process.exit(1);
  }
  process.stdout.write(
    `\nreadme-check: ${blocks.length} blocks pasted without error in ${took} (service ready in ${seconds(service!.readyMs)})\n`,
  );
}

/** Runs the script, echoing its output; resolves to why it failed, or undefined. */
function runBlocks(text: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aiops-readme-sh-')), 'readme.sh');
  fs.writeFileSync(file, text);
  const child = spawn('bash', [file], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let current = 'before the first block';
  let since = Date.now();
  let out = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(MARK)) {
        if (current !== 'before the first block') process.stdout.write(`(${current}: ${seconds(Date.now() - since)})\n`);
        current = `block ${line.slice(MARK.length).trim()}`;
        since = Date.now();
        if (current !== 'block end') process.stdout.write(`--- ${current}\n`);
      } else {
        process.stdout.write(`${line}\n`);
        out += `${current}\t${line}\n`;
      }
    }
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      const problem = /^(block [^\t]+)\t.*urn:hks-aiops:problem:/m.exec(out);
      if (signal) resolve(`the blocks did not finish within ${seconds(RUN_TIMEOUT_MS)} (in ${current})`);
      else if (code !== 0) resolve(`${current} exited with ${code}`);
      else if (problem) resolve(`${problem[1]} printed an error body`);
      else resolve(undefined);
    });
  });
}

await main();
