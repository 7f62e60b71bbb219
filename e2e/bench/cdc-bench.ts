import { waitFor } from '../../infra/wait-for';
import { benchSetup, paced, percentile, publishedRecords, report, runBench } from './bench-setup';

/**
 * `npm run bench:cdc`: WAL → Kafka events/s for small-row inserts, and commit → publish latency at
 * 1,000 events/s, with every service on this machine. Figures, not gates.
 */
const backlogRows = Number(process.env.BENCH_CDC_ROWS ?? 100_000);
const latencyEvents = Number(process.env.BENCH_LATENCY_CHANGES ?? 5_000);

async function main(): Promise<void> {
  const setup = await benchSetup();
  const latencies: number[] = [];
  let measuring = false;
  try {
    // The slot exists (and holds WAL) before the backlog is written; the reader is stopped meanwhile.
    const first = await setup.startCdc();
    await first.stop();
    for (let done = 0; done < backlogRows; done += 10_000) {
      await setup.internal.query(
        `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") SELECT $1, gen_random_uuid(), 'row-' || n FROM generate_series($2::int, $3::int) AS n`,
        [setup.tenancyId, done + 1, Math.min(done + 10_000, backlogRows)],
      );
    }
    const started = performance.now();
    await setup.startCdc({ onDurable: (ms) => measuring && latencies.push(ms) });
    await waitFor('the backlog to be published', async () => (await publishedRecords(setup)) >= backlogRows, { timeoutMs: 600_000, intervalMs: 50 });
    const eventsPerSecond = Math.round(backlogRows / ((performance.now() - started) / 1000));

    measuring = true;
    const achieved = await paced(latencyEvents, 1_000, async (index) => {
      await setup.internal.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2)`, [setup.tenancyId, `steady-${index}`]);
    });
    await waitFor('the steady load to be published', async () => latencies.length >= latencyEvents, { timeoutMs: 120_000, intervalMs: 50 });
    latencies.sort((a, b) => a - b);
    report({
      bench: 'cdc',
      events_per_s: eventsPerSecond,
      commit_to_publish_p50_ms: percentile(latencies, 50),
      commit_to_publish_p99_ms: percentile(latencies, 99),
      steady_rate_achieved_per_s: Math.round(achieved),
      // Not measured yet: huge transactions are held in memory, and no 1,000-tenant run exists.
      big_txn_peak_rss_mb: null,
      tenants_1000_events_per_s: null,
    });
  } finally {
    await setup.close();
  }
}

runBench(main);
