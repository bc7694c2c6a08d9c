import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One temp root per run, removed at the end (BERTH_KEEP_TEST_TMP=1 keeps it for a post-mortem).
    globalSetup: ['test/helpers/temp-root.ts'],
    // Integration and compat tests start real brokers and clients; keep two cores from thrashing.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
