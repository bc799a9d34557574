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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { TZ: 'UTC' },
  },
});
