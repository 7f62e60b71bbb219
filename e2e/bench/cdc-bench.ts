import { waitFor } from '../../infra/wait-for';
import { PartProcess } from '../harness/part-process';
import { processMemoryMb } from '../harness/process-memory';
import { benchSetup, report, runBench, type BenchSetup } from './bench-setup';
import { measureBacklog, measureLatency, stopParts, warmUp } from './pipeline-runs';

/**
 * `npm run bench:cdc`: WAL → Kafka for the shape an auth service writes (single-row and sign-up
 * transactions), timed from the outside by a read_committed consumer: transactions/s of a backlog
 * (reader start included, and reported apart), CPU and peak RSS of the cdc process, and commit →
 * consumer latency at 1,000 changes/s. Then, as secondary rows, big transactions. Every service
 * on this machine. Figures, not gates.
 */
const signUpChanges = Number(process.env.BENCH_CHANGES ?? 100_000);
/** BENCH_SECONDARY=0 skips the big-transaction rows. */
const secondary = process.env.BENCH_SECONDARY !== '0';
const backlogRows = Number(process.env.BENCH_CDC_ROWS ?? 100_000);
const latencyEvents = Number(process.env.BENCH_LATENCY_CHANGES ?? 10_000);
const latencyWarmUpEvents = Number(process.env.BENCH_LATENCY_WARM_UP ?? 2_000);
const bigInsertRows = Number(process.env.BENCH_BIG_INSERT_ROWS ?? 1_000_000);
const bigUpdateRows = Number(process.env.BENCH_BIG_UPDATE_ROWS ?? 200_000);

async function currentLsn(setup: BenchSetup): Promise<string> {
  return (await setup.internal.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!.lsn;
}

/** Until the slot's confirmed flush LSN reaches `lsn`: everything before it is committed in Kafka. */
async function confirmedUpTo(setup: BenchSetup, lsn: string, timeoutMs = 900_000): Promise<void> {
  await waitFor(
    `the slot to confirm ${lsn}`,
    async () =>
      (await setup.internal.query<{ ok: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [setup.config.CDC_SLOT, lsn])).rows[0]?.ok ===
      true,
    { timeoutMs, intervalMs: 50 },
  );
}

/** Writes `rows` small-row inserts (10,000 per statement) while the reader is stopped, then measures how fast a reader publishes them. */
async function backlogEventsPerSecond(setup: BenchSetup, rows: number, tenancyIds: readonly string[]): Promise<number> {
  for (let done = 0; done < rows; done += 10_000) {
    await setup.internal.query(
      `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName")
       SELECT ($1::uuid[])[1 + n % cardinality($1::uuid[])], gen_random_uuid(), 'row-' || n FROM generate_series($2::int, $3::int) AS n`,
      [tenancyIds, done + 1, Math.min(done + 10_000, rows)],
    );
  }
  const end = await currentLsn(setup);
  const started = performance.now();
  const cdc = await setup.startCdc();
  try {
    await confirmedUpTo(setup, end);
    return Math.round(rows / ((performance.now() - started) / 1000));
  } finally {
    await cdc.stop();
  }
}

/**
 * The same backlog spread over 1,000 tenancies (a topic each): first while their topics do not
 * exist yet (the reader creates them, in batches, as it goes), then again once they do.
 */
async function manyTenantsEventsPerSecond(setup: BenchSetup, tenancies = 1_000): Promise<{ firstWrite: number; steady: number }> {
  const ids = await setup.internal.query<{ id: string }>(
    `WITH projects AS (
       INSERT INTO "Project" (id, "displayName", "publishableClientKeyHash", "secretServerKeyHash", "superSecretAdminKeyHash")
       SELECT 'bench-many-' || n, 'bench', '-', '-', '-' FROM generate_series(1, $1::int) AS n RETURNING id)
     INSERT INTO "Tenancy" (id, "projectId", "branchId") SELECT gen_random_uuid(), id, 'main' FROM projects RETURNING id::text AS id`,
    [tenancies],
  );
  const tenancyIds = ids.rows.map((row) => row.id);
  const firstWrite = await backlogEventsPerSecond(setup, backlogRows, tenancyIds);
  const steady = await backlogEventsPerSecond(setup, backlogRows, tenancyIds);
  return { firstWrite, steady };
}

/**
 * Peak RSS of a cdc process (run as in production: its own process, 192 MB heap) while it
 * publishes one transaction inserting `bigInsertRows` users and one updating `bigUpdateRows` of
 * them with 4 KB values.
 */
async function bigTransactionPeakRssMb(setup: BenchSetup): Promise<number> {
  await setup.internal.query(
    `INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") SELECT $1, gen_random_uuid(), 'big-' || n FROM generate_series(1, $2::int) AS n`,
    [setup.tenancyId, bigInsertRows],
  );
  // Fresh statistics and a primary-key match: without them the planner may pick a nested loop
  // over a million rows, and the update alone takes many minutes.
  await setup.internal.query('ANALYZE "ProjectUser"');
  await setup.internal.query(
    `UPDATE "ProjectUser" SET "serverMetadata" = jsonb_build_object('blob', repeat(md5("projectUserId"::text), 128))
      WHERE ("tenancyId", "projectUserId") IN (SELECT "tenancyId", "projectUserId" FROM "ProjectUser" WHERE "tenancyId" = $1 AND "displayName" LIKE 'big-%' LIMIT $2)`,
    [setup.tenancyId, bigUpdateRows],
  );
  const end = await currentLsn(setup);
  const reader = new PartProcess('cdc', setup.config, 'bench-big-cdc', ['--max-old-space-size=192']);
  reader.start();
  try {
    await confirmedUpTo(setup, end);
    const pid = reader.pid;
    if (pid === undefined) throw new Error(`the cdc process exited:\n${reader.output}`);
    return Math.round(await processMemoryMb(pid, 'VmHWM'));
  } finally {
    await reader.stop();
  }
}

/** Prints a measured figure beside its target. */
function withTarget(value: number, target: string): string {
  return `${value} (target ${target})`;
}

async function main(): Promise<void> {
  const setup = await benchSetup();
  try {
    // Lead: the shape users write, through a cdc process of its own, measured by a read_committed
    // consumer. Latency first, on a quiet system (right after a bulk load, Postgres itself hands
    // committed changes over more slowly for a while).
    const running = await warmUp(setup, ['cdc'], latencyWarmUpEvents);
    const latency = await measureLatency(setup, latencyEvents, 1_000, false);
    await stopParts(running);
    // The slot exists (and holds WAL) while the backlog is written; the reader is stopped meanwhile.
    const backlog = await measureBacklog(setup, signUpChanges, ['cdc']);
    const { workload } = backlog;
    const cdc = backlog.parts.cdc!;
    const seconds = backlog.totalMs / 1000;
    const afterStartSeconds = (backlog.totalMs - backlog.startMs) / 1000;
    const figures: Record<string, number | string | null> = {
      bench: 'cdc',
      workload: `${workload.transactions} transactions (${workload.signUps} sign-ups of user + email, ${workload.renames} renames) = ${workload.changes} changes, written by 4 connections at ${backlog.writtenTransactionsPerSecond} tx/s while the reader was stopped`,
      transactions_per_s: withTarget(Math.round(workload.transactions / seconds), '≥ 25,000'),
      changes_per_s: Math.round(workload.changes / seconds),
      reader_start_ms: Math.round(backlog.startMs),
      transactions_per_s_after_start: Math.round(workload.transactions / afterStartSeconds),
      cdc_cpu_s_per_100k_changes: Number((((cdc.cpuSeconds - cdc.startCpuSeconds) / workload.changes) * 100_000).toFixed(2)),
      cdc_start_cpu_s: Number(cdc.startCpuSeconds.toFixed(2)),
      cdc_peak_rss_mb: cdc.peakRssMb,
      commit_to_kafka_p50_ms: latency.kafka.p50,
      commit_to_kafka_p99_ms: latency.kafka.p99,
      commit_to_kafka_max_ms: latency.kafka.max,
      latency_rate_achieved_changes_per_s: latency.achievedChangesPerSecond,
    };
    if (secondary) {
      // Secondary rows: big transactions (per-transaction costs vanish there), in-process reader.
      figures.big_rows_events_per_s = await backlogEventsPerSecond(setup, backlogRows, [setup.tenancyId]);
      const manyTenants = await manyTenantsEventsPerSecond(setup);
      figures.tenants_1000_events_per_s = manyTenants.steady;
      figures.tenants_1000_first_write_events_per_s = manyTenants.firstWrite;
      // Written while no reader runs, then published by a cdc process of its own.
      figures.big_txn_peak_rss_mb = await bigTransactionPeakRssMb(setup);
      figures.big_txn_rows = `${bigInsertRows} inserted + ${bigUpdateRows} updated with 4 KB`;
    }
    report(figures);
  } finally {
    await setup.close();
  }
}

runBench(main);
