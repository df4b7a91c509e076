import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: true,
    maxWorkers: 2,
    // each test file: its own $DAGUERRE_HOME (never the user's library, never another file's)
    setupFiles: ['test/helpers/setup-home.ts'],
  },
});
