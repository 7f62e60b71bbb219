import { defineConfig } from 'vitest/config';

// `*.solo.test.ts` load the whole machine for minutes: they run in a second pass of their own
// (STACK_SYNC_SOLO=1), one at a time, so they cannot distort the timing assertions of others.
const solo = process.env.STACK_SYNC_SOLO === '1';

export default defineConfig({
  test: {
    include: solo ? ['e2e/**/*.solo.test.ts'] : ['{cdc,sinks,api,schema,infra,e2e}/**/*.test.ts'],
    exclude: solo ? ['e2e/bench/**', 'node_modules/**'] : ['e2e/bench/**', 'node_modules/**', '**/*.solo.test.ts'],
    globalSetup: ['e2e/harness/global-setup.ts'],
    // Tests talk to real Postgres and Kafka: consumer-group joins and replication take seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores run Postgres ×2, Kafka and the test processes: two test files at a time is the most
    // that keeps latency-sensitive tests honest.
    maxWorkers: solo ? 1 : 2,
    env: { STACK_SYNC_QUIET: '1', STACK_SYNC_PROFILE: 'test' },
  },
});
