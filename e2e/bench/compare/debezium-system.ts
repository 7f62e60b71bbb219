import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { debeziumPluginsDir, ensureDebeziumPlugins } from '../../../infra/debezium/debezium-plugins';
import { ConnectStandalone } from '../../../infra/kafka-connect';
import { waitFor } from '../../../infra/wait-for';
import { deleteTopicsWithPrefix } from '../../harness/topic-cleanup';
import { benchSetup, type BenchSetup } from '../bench-setup';
import { applyLogSql, readApplyLogSql, type CaptureSystem } from './capture-system';

/**
 * Debezium beside us: one Kafka Connect standalone worker (as in ../shared/STACK-NOTES.md) running
 * the Debezium PostgreSQL source on the bench's internal database and Debezium's JDBC sink into its
 * external database, with the settings found to work here. `tuned` is the latency setting that
 * Debezium's documentation points to (poll every 10 ms instead of 500, no producer linger); the
 * other is Debezium's defaults.
 */
export type DebeziumSetting = 'default' | 'tuned';

/** The JVM heap the figures in STACK-NOTES.md were measured with. */
const connectHeap = process.env.BENCH_COMPARE_CONNECT_HEAP ?? '2g';

function jdbcUrl(url: string): { host: string; port: string; database: string; user: string; password: string } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: parsed.port, database: parsed.pathname.slice(1), user: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
}

export class DebeziumSystem implements CaptureSystem {
  readonly name: string;
  #worker: ConnectStandalone | undefined;
  readonly #external: pg.Pool;
  /** Slot, publication and topic prefix: one per run, named after the bench's databases. */
  readonly #slot: string;

  private constructor(
    private readonly setup: BenchSetup,
    private readonly setting: DebeziumSetting,
    private readonly workDir: string,
  ) {
    this.name = `debezium (${setting})`;
    this.#external = new pg.Pool({ connectionString: setup.externalUrl, max: 2 });
    this.#slot = `dbz_${jdbcUrl(setup.config.DATABASE_URL).database}`;
  }

  static async open(setting: DebeziumSetting): Promise<DebeziumSystem> {
    ensureDebeziumPlugins();
    const setup = await benchSetup();
    const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'stack-sync-compare-connect-'));
    return new DebeziumSystem(setup, setting, workDir);
  }

  get internalUrl(): string {
    return this.setup.config.DATABASE_URL;
  }

  get tenancyId(): string {
    return this.setup.tenancyId;
  }

  get brokers(): string[] {
    return this.setup.config.KAFKA_BROKERS;
  }

  topics(): string[] {
    return [`${this.#slot}.public.ProjectUser`, `${this.#slot}.public.ContactChannel`];
  }

  #sourceConfig(): Record<string, string> {
    const internal = jdbcUrl(this.setup.config.DATABASE_URL);
    return {
      name: `debezium-source-${this.#slot}`,
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': '1',
      'database.hostname': internal.host,
      'database.port': internal.port,
      'database.user': internal.user,
      'database.password': internal.password,
      'database.dbname': internal.database,
      'topic.prefix': this.#slot,
      'plugin.name': 'pgoutput',
      'slot.name': this.#slot,
      'publication.name': this.#slot,
      'publication.autocreate.mode': 'filtered',
      'table.include.list': 'public.ProjectUser,public.ContactChannel',
      // Like our reader on a new slot for an empty tenancy: stream from now, no initial copy.
      'snapshot.mode': 'no_data',
      // The JDBC sink with ${source.table} naming skips tombstones with a warning; our sink reads ours.
      'tombstones.on.delete': 'false',
      // The broker does not create topics on demand (nor does our reader rely on it).
      'topic.creation.default.replication.factor': '1',
      'topic.creation.default.partitions': '1',
      ...(this.setting === 'tuned' ? { 'poll.interval.ms': '10', 'producer.override.linger.ms': '0' } : {}),
    };
  }

  #sinkConfig(): Record<string, string> {
    const external = jdbcUrl(this.setup.externalUrl);
    return {
      name: `debezium-jdbc-sink-${this.#slot}`,
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': '1',
      topics: this.topics().join(','),
      'connection.url': `jdbc:postgresql://${external.host}:${external.port}/${external.database}`,
      'connection.username': external.user,
      'connection.password': external.password,
      'insert.mode': 'upsert',
      'delete.enabled': 'true',
      'primary.key.mode': 'record_key',
      'schema.evolution': 'basic',
      'quote.identifiers': 'true',
      'collection.name.format': '${source.table}',
      // A null in a column with a default must stay null, not become the default.
      'value.converter.replace.null.with.default': 'false',
    };
  }

  async start(onSpawn: (pid: number) => void): Promise<void> {
    this.#worker = await ConnectStandalone.start({
      brokers: this.setup.config.KAFKA_BROKERS,
      workDir: this.workDir,
      connectors: [this.#sourceConfig(), this.#sinkConfig()],
      extraPluginPaths: [debeziumPluginsDir],
      // producer.override.* needs the worker's permission.
      workerProperties: { 'connector.client.config.override.policy': 'All' },
      maxHeap: connectHeap,
      onSpawn,
    });
    // The source creates its slot when its task starts; changes before that would not be captured.
    await waitFor(
      `Debezium's slot ${this.#slot} to be streamed`,
      async () => (await this.setup.internal.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [this.#slot])).rowCount === 1,
      { timeoutMs: 120_000, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    await this.#worker?.stop();
    this.#worker = undefined;
  }

  /**
   * Whether the worker saved a source position to resume from: without one, a restarted source with
   * `no_data` would start at the current WAL position and skip what was written while it was down.
   */
  hasSourceOffsets(): boolean {
    const file = path.join(this.workDir, 'connect.offsets');
    return existsSync(file) && statSync(file).size > 0;
  }

  pids(): number[] {
    const pid = this.#worker?.pid;
    return pid === undefined ? [] : [pid];
  }

  async appliedSignUpRows(label: string): Promise<number> {
    const { rows } = await this.#external.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM "ProjectUser" WHERE "displayName" = $1) + (SELECT count(*) FROM "ContactChannel" WHERE value = $1 || '@example.com'))::int AS n`,
      [label],
    );
    return rows[0]?.n ?? 0;
  }

  async installApplyLog(): Promise<void> {
    await this.#external.query(applyLogSql('"ProjectUser"', 'NEW."displayName"', `'D:' || OLD."projectUserId"`));
  }

  async readApplyLog(): Promise<Map<string, number>> {
    const { rows } = await this.#external.query<{ label: string; at: number }>(readApplyLogSql);
    return new Map(rows.map((row) => [row.label, row.at]));
  }

  async diagnostics(): Promise<string> {
    return (await this.#worker?.logTail(30)) ?? '';
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#external.end();
    // A database with a replication slot cannot be dropped.
    await this.setup.internal.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.#slot]).catch(() => undefined);
    await deleteTopicsWithPrefix(this.setup.config.KAFKA_BROKERS, [`${this.#slot}.`]).catch(() => undefined);
    await this.setup.close();
    await fs.rm(this.workDir, { recursive: true, force: true });
  }
}
