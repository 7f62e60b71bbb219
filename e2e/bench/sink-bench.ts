import pg from 'pg';
import { waitFor } from '../../infra/wait-for';
import { benchSetup, paced, percentile, publishedRecords, report, runBench, type BenchSetup } from './bench-setup';
import { measureBacklog, measureLatency, stopParts, warmUp } from './pipeline-runs';

/**
 * `npm run bench:sink`: end to end (WAL → Kafka → external Postgres) for the shape an auth service
 * writes (sign-up and rename transactions), timed at the external table: changes/s of a backlog
 * (start-up included, and reported apart), CPU and peak RSS of the cdc and sink processes, and
 * commit → Kafka / commit → external row latency at 1,000 changes/s. Then, as secondary rows,
 * multi-row transactions and rising rates (cdc and sink in this process). Figures, not gates.
 */
const signUpChanges = Number(process.env.BENCH_CHANGES ?? 100_000);
const latencyWarmUp = Number(process.env.BENCH_LATENCY_WARM_UP ?? 2_000);
/** BENCH_SECONDARY=0 skips the secondary rows. */
const secondary = process.env.BENCH_SECONDARY !== '0';
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
  // Earlier phases of the bench left records (and progress) on the topic: offsets are relative to them.
  const base = await publishedRecords(setup);
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
  await waitFor('the cdc to publish the backlog', async () => (await publishedRecords(setup)) >= base + events, { timeoutMs: 600_000, intervalMs: 250 });
  // The last record sits just before its Kafka transaction's commit marker.
  const lastRecord = (await publishedRecords(setup)) - 2;
  await setup.startSink();
  await waitFor('the sink to start applying', async () => (await appliedOffset(setup)) >= base, { timeoutMs: 120_000, intervalMs: 20 });
  const started = performance.now();
  const firstOffset = await appliedOffset(setup);
  await waitFor('the sink to apply the backlog', async () => (await appliedOffset(setup)) >= lastRecord, { timeoutMs: 600_000, intervalMs: 20 });
  // Measured from the first applied batch (the consumer's start-up is not throughput); a backlog
  // applied in that first batch leaves nothing to time.
  if (firstOffset >= lastRecord) return null;
  return Math.round((lastRecord - firstOffset) / ((performance.now() - started) / 1000));
}

/** Commit → visible latencies of `count` single-row inserts written at `perSecond`. */
async function measureRampLatency(setup: BenchSetup, label: string, count: number, perSecond: number): Promise<{ achieved: number; p50: number; p99: number; max: number }> {
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
    // Lead: the shape users write, through cdc and sink processes of their own, measured at the
    // external table. Latency first, on a quiet system.
    const running = await warmUp(setup, ['cdc', 'sink'], latencyWarmUp);
    const latency = await measureLatency(setup, latencyChanges, 1_000, true);
    await stopParts(running);
    const backlog = await measureBacklog(setup, signUpChanges, ['cdc', 'sink']);
    const { workload } = backlog;
    const cdc = backlog.parts.cdc!;
    const sink = backlog.parts.sink!;
    const seconds = backlog.totalMs / 1000;
    const cpuPer100k = ((cdc.cpuSeconds - cdc.startCpuSeconds + sink.cpuSeconds - sink.startCpuSeconds) / workload.changes) * 100_000;
    const figures: Record<string, number | string | null> = {
      bench: 'sink',
      workload: `${workload.transactions} transactions (${workload.signUps} sign-ups of user + email, ${workload.renames} renames) = ${workload.changes} changes, written by 4 connections at ${backlog.writtenTransactionsPerSecond} tx/s while cdc and sink were stopped`,
      e2e_changes_per_s: withTarget(Math.round(workload.changes / seconds), '≥ 20,000'),
      e2e_transactions_per_s: Math.round(workload.transactions / seconds),
      start_to_first_applied_ms: Math.round(backlog.startMs),
      e2e_changes_per_s_after_start: Math.round(workload.changes / ((backlog.totalMs - backlog.startMs) / 1000)),
      cdc_plus_sink_cpu_s_per_100k_changes: withTarget(Number(cpuPer100k.toFixed(2)), '≤ 5'),
      cdc_cpu_s_total: Number(cdc.cpuSeconds.toFixed(2)),
      cdc_start_cpu_s: Number(cdc.startCpuSeconds.toFixed(2)),
      sink_cpu_s_total: Number(sink.cpuSeconds.toFixed(2)),
      sink_start_cpu_s: Number(sink.startCpuSeconds.toFixed(2)),
      cdc_peak_rss_mb: cdc.peakRssMb,
      sink_peak_rss_mb: sink.peakRssMb,
      commit_to_kafka_p50_ms: latency.kafka.p50,
      commit_to_kafka_p99_ms: latency.kafka.p99,
      commit_to_external_p50_ms: withTarget(latency.external?.p50 ?? Number.NaN, '≤ 15'),
      commit_to_external_p99_ms: withTarget(latency.external?.p99 ?? Number.NaN, '≤ 40'),
      commit_to_external_max_ms: latency.external?.max ?? null,
      latency_rate_achieved_changes_per_s: latency.achievedChangesPerSecond,
    };
    if (secondary) {
      // Secondary rows: multi-row transactions and rising rates, cdc and sink in this process.
      await setup.startCdc();
      figures.big_txn_rows_per_s = await measureThroughput(setup);
      await external(setup, `CREATE TABLE bench_applied (display_name text, applied_at timestamptz DEFAULT clock_timestamp());
        CREATE FUNCTION bench_applied() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO bench_applied (display_name) VALUES (NEW.display_name); RETURN NEW; END $$;
        CREATE TRIGGER bench_applied AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION bench_applied();`);
      let maxSustained = 0;
      for (const rate of [1_000, 2_000, 4_000, 8_000, 16_000]) {
        const step = await measureRampLatency(setup, `ramp${rate}`, rate * 5, rate);
        console.error(`  ${rate}/s asked: ${step.achieved}/s written, p50 ${step.p50} ms, p99 ${step.p99} ms`);
        // Sustained: the sink kept up, so no change waited more than a second.
        if (step.p99 > 1_000) break;
        maxSustained = Math.max(maxSustained, step.achieved);
        if (step.achieved < rate * 0.8) break;
      }
      figures.max_sustained_changes_per_s = maxSustained;
      figures.big_txn_backlog_rows = backlogUsers * 2;
      figures.bench_process_peak_rss_mb = Math.round(peakRss / 1024 / 1024);
    }
    report(figures);
  } finally {
    clearInterval(sampler);
    await setup.close();
  }
}

/** Prints a measured figure beside its target. */
function withTarget(value: number, target: string): string {
  return `${value} (target ${target})`;
}

runBench(main);
