import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve('bin/aiops');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `aiops` as a user would, with the given environment. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export interface ServeHandle {
  child: ChildProcess;
  url: string;
  readyMs: number;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts `aiops serve` on a free port and resolves once it logs "ready". */
export function serveCli(env: Record<string, string>, timeoutMs = 90_000): Promise<ServeHandle> {
  const started = Date.now();
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let url: string | undefined;
  let banner = false;
  return new Promise((resolve, reject) => {
    // Ready when the log says so (stdout) and the banner for people is out (stderr).
    const settle = () => {
      if (!url || !banner) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        child,
        url,
        readyMs: Date.now() - started,
        output: () => out,
        stop: () =>
          new Promise((res) => {
            child.once('exit', (code) => res(code));
            child.kill('SIGTERM');
          }),
      });
    };
    child.stderr!.on('data', (d: Buffer) => {
      out += d;
      if (!banner && out.includes('is listening on')) {
        banner = true;
        settle();
      }
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not become ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${out}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      for (const line of String(d).split('\n')) {
        if (!line.includes('"msg":"ready"')) continue;
        url = (JSON.parse(line) as { url: string }).url;
        settle();
      }
    });
  });
}
