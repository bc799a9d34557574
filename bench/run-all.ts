/**
 * Runs every benchmark, each in its own process (chDB binds one data folder
 * per process). `--quick` runs each on small inputs: CI uses it so a broken
 * benchmark fails the build.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const quick = process.argv.includes('--quick');
const dir = path.dirname(new URL(import.meta.url).pathname);
const benches = fs
  .readdirSync(dir)
  // Modules that other benchmarks import are not benchmarks themselves.
  .filter((f) => f.endsWith('.ts') && !['lib.ts', 'data.ts', 'threads-store.ts', 'run-all.ts', 'rca-convert.ts', 'rca-rank.ts'].includes(f))
  .sort();

let failed = 0;
for (const b of benches) {
  process.stderr.write(`\n== bench/${b}${quick ? ' (quick)' : ''}\n`);
  const began = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, b), ...(quick ? ['--quick'] : [])], {
    stdio: 'inherit',
    env: { ...process.env, TZ: 'UTC' },
  });
  process.stderr.write(`bench/${b}: ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${b} failed with exit code ${r.status}\n`);
  }
}
process.exit(failed ? 1 : 0);
