import { defineConfig } from 'vitest/config';

/** Browser end-to-end tests: real Core in a Node server, the renderer in Debian's Chromium. One worker. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    sequence: { concurrent: false },
  },
});
