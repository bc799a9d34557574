/**
 * `aiops serve` as a child process for the scripts that check the service
 * from outside (readme:check, eval:gate): a free port, a start that resolves
 * once the service logs "ready", and a graceful stop.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Started {
  stop(): Promise<void>;
  log(): string;
  readyMs: number;
}

/** Starts `bin/aiops serve` with `env`; resolves once it logs "ready", rejects if it exits or takes longer than `readyTimeoutMs`. */
export function startService(env: NodeJS.ProcessEnv, readyTimeoutMs: number): Promise<Started> {
  const started = Date.now();
  const child = spawn(process.execPath, ['bin/aiops', 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      // A graceful stop waits for background work (an alert investigation); a minute is plenty.
      const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the service was not ready within ${seconds(readyTimeoutMs)}:\n${log.slice(-4000)}`));
    }, readyTimeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before it was ready:\n${log.slice(-4000)}`));
    };
    child.once('exit', onExit);
    let ready = false;
    child.stderr.on('data', (d: Buffer) => (log += d));
    child.stdout.on('data', (d: Buffer) => {
      log += d;
      // Read the whole log: a line may arrive in pieces.
      if (!ready && log.includes('"msg":"ready"')) {
        ready = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ stop, log: () => log, readyMs: Date.now() - started });
      }
    });
  });
}
