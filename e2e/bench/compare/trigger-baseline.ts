import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { waitFor } from '../../../infra/wait-for';
import { PartProcess } from '../../harness/part-process';
import { benchSetup, type BenchSetup } from '../bench-setup';
import { cpuSeconds } from './process-usage';
import { formatFigure, markdownTable, median, percentile } from './stats';

/**
 * The design the WAL reader replaced, measured on the same machine: triggers on "ProjectUser" and
 * "ContactChannel" flag every changed row and copy every deleted row into "DeletedRow", and a
 * sequencer stamps flagged rows with ids from one global sequence every 50 ms (stack-auth's
 * external-db-sync shape; its poller and HTTP queue downstream are not part of the write path and
 * are left out). pgbench writes the sign-up / rename / delete mix (30/60/10) for a fixed time with
 * no capture at all (no slot), with the triggers and sequencer, with our replication slot while
 * no reader reads it (the write path's own cost of the slot), and with the slot read live by a cdc
 * process (which also takes CPU from the writers on a small machine); each variant alone,
 * alternating. Figures: transactions/s, WAL bytes per transaction, the capture's CPU, and
 * for the trigger design commit → sequenced delay.
 */

const execFileAsync = promisify(execFile);

export type BaselineVariant = 'no capture' | 'triggers + 50 ms sequencer' | 'our slot, reader stopped' | 'our slot, read live';
const variants: BaselineVariant[] = ['no capture', 'triggers + 50 ms sequencer', 'our slot, reader stopped', 'our slot, read live'];

export interface BaselineRun {
  variant: BaselineVariant;
  repetition: number;
  clients: number;
  seconds: number;
  transactionsPerS: number;
  walBytesPerTransaction: number;
  /** Trigger design only: commit → sequence id stamped, ms (and how many rows). */
  sequencedP50Ms?: number;
  sequencedP99Ms?: number;
  sequencedRows?: number;
  /** Sequencer rounds that failed (deadlocks with writers), retried on the next tick. */
  sequencerFailures?: number;
  /**
   * Slot read live only: CPU seconds the capture itself used during the run, the cdc process and
   * Postgres's walsender decoding for it. On this machine's two cores they compete with the writers.
   */
  readerCpuSeconds?: number;
  walsenderCpuSeconds?: number;
}

export interface BaselineFigures {
  runs: BaselineRun[];
  table: string;
}

const seedUsers = Number(process.env.BENCH_BASELINE_SEED_USERS ?? 100_000);
const seconds = Number(process.env.BENCH_BASELINE_SECONDS ?? 20);
const clientCounts = (process.env.BENCH_BASELINE_CLIENTS ?? '4').split(',').map(Number);
const sequencerIntervalMs = 50;
/** Rows one sequencer round stamps per table at most. */
const sequencerBatch = 1_000;

/** The trigger design's DDL, added to a migrated internal database of the bench's own. */
const triggerDesignSql = `
  CREATE SEQUENCE global_seq_id AS bigint START 1 INCREMENT BY 11;
  CREATE TABLE "DeletedRow" (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "tenancyId" uuid NOT NULL, "tableName" text NOT NULL,
    "sequenceId" bigint UNIQUE, "primaryKey" jsonb NOT NULL, data jsonb, "deletedAt" timestamptz NOT NULL DEFAULT now(),
    "shouldUpdateSequenceId" boolean NOT NULL DEFAULT true,
    -- Measurement only: when the change happened and when the sequencer stamped it.
    "changedAt" timestamptz NOT NULL DEFAULT clock_timestamp(), "sequencedAt" timestamptz);
  CREATE INDEX "DeletedRow_unsequenced" ON "DeletedRow" ("shouldUpdateSequenceId") WHERE "shouldUpdateSequenceId";
  CREATE FUNCTION mark_should_update_sequence_id() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN NEW."shouldUpdateSequenceId" := TRUE; NEW."changedAt" := clock_timestamp(); RETURN NEW; END $$;
  CREATE FUNCTION log_deleted_row() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO "DeletedRow" ("tenancyId", "tableName", "primaryKey", data)
    VALUES (OLD."tenancyId", TG_TABLE_NAME,
            CASE WHEN TG_TABLE_NAME = 'ProjectUser' THEN jsonb_build_object('projectUserId', OLD."projectUserId")
                 ELSE jsonb_build_object('projectUserId', OLD."projectUserId", 'id', to_jsonb(OLD) -> 'id') END,
            to_jsonb(OLD));
    RETURN OLD;
  END $$;
  DO $$ DECLARE t text; BEGIN
    FOREACH t IN ARRAY ARRAY['ProjectUser', 'ContactChannel'] LOOP
      EXECUTE format('ALTER TABLE %I ADD COLUMN "sequenceId" bigint, ADD COLUMN "shouldUpdateSequenceId" boolean NOT NULL DEFAULT true,
                        ADD COLUMN "changedAt" timestamptz NOT NULL DEFAULT clock_timestamp(), ADD COLUMN "sequencedAt" timestamptz', t);
      EXECUTE format('CREATE UNIQUE INDEX %I ON %I ("sequenceId")', t || '_sequenceId_key', t);
      EXECUTE format('CREATE INDEX %I ON %I ("shouldUpdateSequenceId") WHERE "shouldUpdateSequenceId"', t || '_unsequenced', t);
      EXECUTE format('CREATE TRIGGER mark_should_update_sequence_id BEFORE UPDATE ON %I FOR EACH ROW WHEN (OLD."shouldUpdateSequenceId" = FALSE) EXECUTE FUNCTION mark_should_update_sequence_id()', t);
      EXECUTE format('CREATE TRIGGER log_deleted_row AFTER DELETE ON %I FOR EACH ROW EXECUTE FUNCTION log_deleted_row()', t);
    END LOOP;
  END $$;`;

/** One sequencer round over a table: stamps up to a batch of flagged rows, returns their commit → stamp delays. */
function sequencerSql(table: string, keyColumns: string): string {
  return `UPDATE "${table}" SET "sequenceId" = nextval('global_seq_id'), "shouldUpdateSequenceId" = false, "sequencedAt" = clock_timestamp()
    WHERE (${keyColumns}) IN (SELECT ${keyColumns} FROM "${table}" WHERE "shouldUpdateSequenceId" LIMIT ${sequencerBatch})
    RETURNING (extract(epoch FROM clock_timestamp() - "changedAt") * 1000)::float8 AS delay_ms`;
}
const sequencerStatements = [
  sequencerSql('ProjectUser', '"tenancyId", "projectUserId"'),
  sequencerSql('ContactChannel', '"tenancyId", "projectUserId", id'),
  sequencerSql('DeletedRow', 'id'),
];

/** The sequencer job: a round every 50 ms until stopped, then rounds until nothing is left unstamped. */
class Sequencer {
  readonly delaysMs: number[] = [];
  failures = 0;
  #stopping = false;
  #done: Promise<void> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  start(): void {
    let consecutiveFailures = 0;
    this.#done = (async () => {
      for (;;) {
        const roundStarted = performance.now();
        let stamped = 0;
        for (const statement of sequencerStatements) {
          try {
            const { rows } = await this.pool.query<{ delay_ms: number }>(statement);
            stamped += rows.length;
            for (const row of rows) this.delaysMs.push(row.delay_ms);
          } catch (error: unknown) {
            // Deadlocks with writers end a round's statement; the next round retries. A statement
            // that fails every time is a bug of this bench: stop instead of looping.
            this.failures++;
            if (++consecutiveFailures > 100) throw error;
            stamped++;
            continue;
          }
          consecutiveFailures = 0;
        }
        if (this.#stopping && stamped === 0) return;
        const wait = sequencerIntervalMs - (performance.now() - roundStarted);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#done;
  }
}

async function scalar(pool: pg.Pool, sql: string): Promise<string> {
  return Object.values((await pool.query<Record<string, string>>(sql)).rows[0]!)[0]!;
}

async function seed(setup: BenchSetup): Promise<void> {
  await setup.internal.query(
    `WITH users AS (
       INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName")
       SELECT $1, md5('u' || n)::uuid, 'seed-' || n FROM generate_series(1, $2::int) AS n RETURNING "projectUserId")
     INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth")
     SELECT $1, "projectUserId", gen_random_uuid(), 'EMAIL', "projectUserId"::text || '@example.com', 'TRUE', 'TRUE' FROM users`,
    [setup.tenancyId, seedUsers],
  );
  await setup.internal.query('VACUUM ANALYZE "ProjectUser", "ContactChannel"');
}

/** The three transactions of the mix as pgbench scripts (prepared statements; `:tenancy` and `:seed` from -D). */
async function writeScripts(dir: string): Promise<string[]> {
  const scripts = {
    'sign-up.sql': `WITH u AS (INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES (CAST(:tenancy AS uuid), gen_random_uuid(), 'signed-up') RETURNING "projectUserId")
INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth") SELECT CAST(:tenancy AS uuid), "projectUserId", gen_random_uuid(), 'EMAIL', "projectUserId"::text || '@example.com', 'TRUE', 'TRUE' FROM u;\n`,
    'rename.sql': `\\set n random(1, :seed)
UPDATE "ProjectUser" SET "displayName" = 'renamed', "updatedAt" = now() WHERE "tenancyId" = CAST(:tenancy AS uuid) AND "projectUserId" = CAST(md5('u' || CAST(:n AS text)) AS uuid);\n`,
    'delete.sql': `\\set n random(1, :seed)
DELETE FROM "ProjectUser" WHERE "tenancyId" = CAST(:tenancy AS uuid) AND "projectUserId" = CAST(md5('u' || CAST(:n AS text)) AS uuid);\n`,
  };
  const weights: Record<string, number> = { 'sign-up.sql': 30, 'rename.sql': 60, 'delete.sql': 10 };
  const args: string[] = [];
  for (const [name, text] of Object.entries(scripts)) {
    await writeFile(path.join(dir, name), text);
    args.push('-f', `${path.join(dir, name)}@${weights[name]}`);
  }
  return args;
}

async function pgbench(setup: BenchSetup, scriptArgs: string[], clients: number): Promise<{ transactionsPerS: number; transactions: number }> {
  const url = new URL(setup.config.DATABASE_URL);
  const { stdout } = await execFileAsync(
    'pgbench',
    ['-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-D', `tenancy=${setup.tenancyId}`, '-D', `seed=${seedUsers}`, ...scriptArgs, '-h', url.hostname, '-p', url.port, '-U', decodeURIComponent(url.username), url.pathname.slice(1)],
    { env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) }, maxBuffer: 16 * 1024 * 1024 },
  );
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout)?.[1];
  const transactions = /number of transactions actually processed: (\d+)/.exec(stdout)?.[1];
  if (tps === undefined || transactions === undefined) throw new Error(`unexpected pgbench output:\n${stdout}`);
  return { transactionsPerS: Number(tps), transactions: Number(transactions) };
}

/** A cdc process on the database with our slot, as production runs it. */
function startReader(setup: BenchSetup): PartProcess {
  const reader = new PartProcess('cdc', setup.config, 'bench-baseline-cdc', ['--max-old-space-size=192']);
  reader.start();
  return reader;
}

/** Waits until a reader streams the slot (creating it on first start); returns its walsender's pid. */
async function streamingWalsender(setup: BenchSetup): Promise<number> {
  let pid = 0;
  await waitFor(
    'the cdc reader to stream its slot',
    async () => {
      const { rows } = await setup.internal.query<{ pid: number | null }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [setup.config.CDC_SLOT]);
      pid = rows[0]?.pid ?? 0;
      return pid > 0;
    },
    { timeoutMs: 120_000 },
  );
  return pid;
}

async function caughtUp(setup: BenchSetup): Promise<void> {
  const lsn = await scalar(setup.internal, 'SELECT pg_current_wal_lsn()::text');
  await waitFor(
    'the cdc reader to catch up',
    async () => (await setup.internal.query<{ ok: boolean }>('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [setup.config.CDC_SLOT, lsn])).rows[0]?.ok === true,
    { timeoutMs: 600_000, intervalMs: 50 },
  );
}

export async function runTriggerBaseline(repetitions: number, log: (line: string) => void): Promise<BaselineFigures> {
  // Three databases seeded alike: one without any slot, one with our slot, and the trigger design's.
  const bare = await benchSetup();
  const plain = await benchSetup();
  const triggered = await benchSetup();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stack-sync-baseline-'));
  const runs: BaselineRun[] = [];
  try {
    // The slot is created on an empty tenancy (no snapshot to publish), then the seed goes through the WAL.
    const first = startReader(plain);
    await streamingWalsender(plain);
    await first.stop();
    await triggered.internal.query(triggerDesignSql);
    await seed(bare);
    await seed(plain);
    await seed(triggered);
    // Sequence the seed before measuring: the design starts from a steady state.
    const seedSequencer = new Sequencer(triggered.internal);
    seedSequencer.start();
    await seedSequencer.stop();
    const scriptArgs = await writeScripts(dir);
    for (let repetition = 1; repetition <= repetitions; repetition++) {
      for (const clients of clientCounts) {
        // Each repetition starts with another variant: a database grows with every run (sign-ups
        // outnumber deletes), and a fixed order would always give the same variant the smallest tables.
        const offset = (repetition - 1) % variants.length;
        for (const variant of [...variants.slice(offset), ...variants.slice(0, offset)]) {
          const setup = variant === 'triggers + 50 ms sequencer' ? triggered : variant === 'no capture' ? bare : plain;
          let reader: PartProcess | undefined;
          let sequencer: Sequencer | undefined;
          let walsenderPid: number | undefined;
          if (variant === 'our slot, read live') {
            reader = startReader(plain);
            walsenderPid = await streamingWalsender(plain);
            await caughtUp(plain);
          }
          if (variant === 'triggers + 50 ms sequencer') {
            sequencer = new Sequencer(triggered.internal);
            sequencer.start();
          }
          // Every variant starts from the same state: earlier runs' dead rows vacuumed (else each run
          // finds fuller pages than the one before, fewer HOT updates and more WAL), then a checkpoint.
          await setup.internal.query(variant === 'triggers + 50 ms sequencer' ? 'VACUUM "ProjectUser", "ContactChannel", "DeletedRow"' : 'VACUUM "ProjectUser", "ContactChannel"');
          await setup.internal.query('CHECKPOINT');
          const walBefore = await scalar(setup.internal, 'SELECT pg_current_wal_lsn()::text');
          // Sampled right around pgbench, so the capture's CPU is divided by the time it ran.
          const captureCpuBefore = reader && walsenderPid ? { reader: await cpuSeconds(reader.pid!), walsender: await cpuSeconds(walsenderPid), walsenderPid } : undefined;
          const result = await pgbench(setup, scriptArgs, clients);
          const captureCpuAfter = captureCpuBefore ? { reader: await cpuSeconds(reader!.pid!), walsender: await cpuSeconds(captureCpuBefore.walsenderPid) } : undefined;
          const walBytes = Number(await scalar(setup.internal, `SELECT pg_current_wal_lsn() - '${walBefore}'::pg_lsn`));
          const run: BaselineRun = { variant, repetition, clients, seconds, transactionsPerS: result.transactionsPerS, walBytesPerTransaction: walBytes / result.transactions };
          if (captureCpuBefore && captureCpuAfter) {
            run.readerCpuSeconds = captureCpuAfter.reader - captureCpuBefore.reader;
            run.walsenderCpuSeconds = captureCpuAfter.walsender - captureCpuBefore.walsender;
          }
          if (reader) {
            await caughtUp(plain);
            await reader.stop();
          }
          if (variant === 'our slot, reader stopped') {
            // The next variants start from a slot that is caught up, as after the others.
            const catchingUp = startReader(plain);
            await caughtUp(plain);
            await catchingUp.stop();
          }
          if (sequencer) {
            await sequencer.stop();
            const delays = sequencer.delaysMs.sort((a, b) => a - b);
            Object.assign(run, { sequencedP50Ms: percentile(delays, 50), sequencedP99Ms: percentile(delays, 99), sequencedRows: delays.length, sequencerFailures: sequencer.failures });
          }
          runs.push(run);
          log(`  baseline ${repetition} @${clients}: ${JSON.stringify(run)}`);
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await bare.close();
    await plain.close();
    await triggered.close();
  }
  return { runs, table: baselineTable(runs) };
}

function baselineTable(runs: readonly BaselineRun[]): string {
  const rows: string[][] = [];
  for (const clients of [...new Set(runs.map((run) => run.clients))]) {
    const noCapture = median(runs.filter((run) => run.clients === clients && run.variant === 'no capture').map((run) => run.transactionsPerS));
    const noCaptureWal = median(runs.filter((run) => run.clients === clients && run.variant === 'no capture').map((run) => run.walBytesPerTransaction));
    for (const variant of variants) {
      const of = runs.filter((run) => run.clients === clients && run.variant === variant);
      const tps = median(of.map((run) => run.transactionsPerS));
      const wal = median(of.map((run) => run.walBytesPerTransaction));
      const delayed = variant === 'triggers + 50 ms sequencer';
      rows.push([
        `${variant} @${clients} clients`,
        formatFigure(tps),
        variant === 'no capture' ? '' : `${formatFigure(((tps - noCapture) / noCapture) * 100)} %`,
        formatFigure(wal),
        variant === 'no capture' ? '' : `+${formatFigure(((wal - noCaptureWal) / noCaptureWal) * 100)} %`,
        delayed ? `${formatFigure(median(of.map((run) => run.sequencedP50Ms ?? Number.NaN)))} / ${formatFigure(median(of.map((run) => run.sequencedP99Ms ?? Number.NaN)))}` : '',
        variant === 'our slot, read live'
          ? `${median(of.map((run) => (run.readerCpuSeconds ?? Number.NaN) / run.seconds)).toFixed(2)} / ${median(of.map((run) => (run.walsenderCpuSeconds ?? Number.NaN) / run.seconds)).toFixed(2)}`
          : '',
      ]);
    }
  }
  return markdownTable(['write path (pgbench, sign-up/rename/delete 30/60/10), medians', 'tps', 'tps vs none', 'WAL B/txn', 'WAL vs none', 'commit → sequenced p50 / p99, ms', 'cores used by the cdc / walsender while it ran'], rows);
}
