import pg from 'pg';
import { waitFor } from '../../infra/wait-for';
import { benchSetup, paced, percentile, publishedRecords, report, runBench, type BenchSetup } from './bench-setup';

/**
 * `npm run bench:sink`: Kafka → external Postgres rows/s, and source commit → row visible latency at
 * 1,000 changes/s and at rising rates, with every service on this machine. Figures, not gates.
 */
const backlogUsers = Number(process.env.BENCH_BACKLOG_USERS ?? 50_000);
const latencyChanges = Number(process.env.BENCH_LATENCY_CHANGES ?? 10_000);

async function external<T extends pg.QueryResultRow>(setup: BenchSetup, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: setup.externalUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function appliedOffset(setup: BenchSetup): Promise<number> {
  const rows = await external<{ id: string }>(setup, `SELECT coalesce(min(last_synced_sequence_id), -1)::text AS id FROM _stack_sync_metadata`).catch(() => [{ id: '-1' }]);
  return Number(rows[0]?.id ?? -1);
}

/** Applies a backlog of `backlogUsers` users (each with an email: two rows) with the sink started afterwards. */
async function measureThroughput(setup: BenchSetup): Promise<number | null> {
  for (let done = 0; done < backlogUsers; done += 5_000) {
    await setup.internal.query(
      `WITH created AS (
         INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName")
         SELECT $1, gen_random_uuid(), 'backlog-' || n FROM generate_series($2::int, $3::int) AS n RETURNING "projectUserId", "displayName")
       INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth")
       SELECT $1, "projectUserId", gen_random_uuid(), 'EMAIL', "displayName" || '@example.com', 'TRUE', 'TRUE' FROM created`,
      [setup.tenancyId, done + 1, Math.min(done + 5_000, backlogUsers)],
    );
  }
  const events = backlogUsers * 2;
  await waitFor('the cdc to publish the backlog', async () => (await publishedRecords(setup)) >= events, { timeoutMs: 600_000, intervalMs: 250 });
  await setup.startSink();
  await waitFor('the sink to start applying', async () => (await appliedOffset(setup)) >= 0, { timeoutMs: 120_000, intervalMs: 20 });
  const started = performance.now();
  const firstOffset = await appliedOffset(setup);
  await waitFor('the sink to apply the backlog', async () => (await appliedOffset(setup)) >= events - 1, { timeoutMs: 600_000, intervalMs: 20 });
  // Measured from the first applied batch (the consumer's start-up is not throughput); a backlog
  // applied in that first batch leaves nothing to time.
  if (firstOffset >= events - 1) return null;
  return Math.round((events - 1 - firstOffset) / ((performance.now() - started) / 1000));
}

/** Commit → visible latencies of `count` single-row inserts written at `perSecond`. */
async function measureLatency(setup: BenchSetup, label: string, count: number, perSecond: number): Promise<{ achieved: number; p50: number; p99: number; max: number }> {
  const committedAt = new Map<string, number>();
  const achieved = await paced(count, perSecond, async (index) => {
    const name = `${label}-${index}`;
    await setup.internal.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), $2)`, [setup.tenancyId, name]);
    committedAt.set(name, Date.now());
  });
  await waitFor(`all ${label} rows to be visible`, async () => {
    const rows = await external<{ n: number }>(setup, `SELECT count(*)::int AS n FROM bench_applied WHERE display_name LIKE '${label}-%'`);
    return rows[0]?.n === count;
  }, { timeoutMs: 600_000, intervalMs: 100 });
  const applied = await external<{ display_name: string; at: number }>(setup, `SELECT display_name, (extract(epoch FROM applied_at) * 1000)::float8 AS at FROM bench_applied WHERE display_name LIKE '${label}-%'`);
  const latencies = applied.map((row) => row.at - committedAt.get(row.display_name)!).sort((a, b) => a - b);
  return { achieved: Math.round(achieved), p50: Math.round(percentile(latencies, 50)), p99: Math.round(percentile(latencies, 99)), max: Math.round(latencies.at(-1) ?? Number.NaN) };
}

async function main(): Promise<void> {
  const setup = await benchSetup();
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
  try {
    await setup.startCdc();
    const rowsPerSecond = await measureThroughput(setup);
    // Records when each row first became visible, in the external database's clock (the same machine's).
    await external(setup, `CREATE TABLE bench_applied (display_name text, applied_at timestamptz DEFAULT clock_timestamp());
      CREATE FUNCTION bench_applied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bench_applied (display_name) VALUES (NEW.display_name); RETURN NEW; END $$;
      CREATE TRIGGER bench_applied AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION bench_applied();`);
    const atThousand = await measureLatency(setup, 'steady', latencyChanges, 1_000);
    let maxSustained = atThousand.p99 <= 1_000 ? atThousand.achieved : 0;
    for (const rate of [2_000, 4_000, 8_000, 16_000]) {
      const step = await measureLatency(setup, `ramp${rate}`, rate * 5, rate);
      console.error(`  ${rate}/s asked: ${step.achieved}/s written, p50 ${step.p50} ms, p99 ${step.p99} ms`);
      // Sustained: the sink kept up, so no change waited more than a second.
      if (step.p99 > 1_000) break;
      maxSustained = Math.max(maxSustained, step.achieved);
      if (step.achieved < rate * 0.8) break;
    }
    report({
      bench: 'sink',
      rows_per_s: rowsPerSecond,
      e2e_p50_ms: atThousand.p50,
      e2e_p99_ms: atThousand.p99,
      e2e_max_ms: atThousand.max,
      max_sustained_changes_per_s: maxSustained,
      backlog_rows: backlogUsers * 2,
      peak_rss_mb: Math.round(peakRss / 1024 / 1024),
    });
  } finally {
    clearInterval(sampler);
    await setup.close();
  }
}

runBench(main);
