import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{cdc,sinks,api,schema,infra,e2e}/**/*.test.ts'],
    exclude: ['e2e/bench/**', 'node_modules/**'],
    globalSetup: ['e2e/harness/global-setup.ts'],
    // Tests talk to real Postgres and Kafka: consumer-group joins and replication take seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores run Postgres ×2, Kafka and the test processes: two test files at a time is the most
    // that keeps latency-sensitive tests honest.
    maxWorkers: 2,
    env: { STACK_SYNC_QUIET: '1', STACK_SYNC_PROFILE: 'test' },
  },
});
