import { defineConfig } from 'vitest/config';

// chDB binds one data folder per process, so every test file runs in its own
// child process (forks pool, isolated) and opens its own temporary folder.
export default defineConfig({
  test: {
    pool: 'forks',
    isolate: true,
    maxWorkers: 2,
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/clock.ts'],
    // Limits against a hang, not speed targets (those are benchmarks): a turn that restarts the
    // service or seeds a scenario takes close to a minute on a busy 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    env: { TZ: 'UTC' },
  },
});
