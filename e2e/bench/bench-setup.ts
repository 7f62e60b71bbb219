import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { Registry } from 'prom-client';
import { startCdc, type RunningCdc } from '../../cdc/start-cdc';
import { describeLocalServices, upLocalServices } from '../../infra/local-services';
import { kafkaClient } from '../../infra/runtime/kafka-client';
import { localSettings } from '../../infra/local-settings';
import { loadConfig, type EnvConfig } from '../../schema/env-config';
import { migrateInternalDatabase } from '../../schema/migrate';
import { SecretBox } from '../../schema/secret-box';
import { startSink, type RunningSink } from '../../sinks/start-sink';
import { ownSecrets } from '../harness/test-services';
import { deleteTopicsWithPrefix } from '../harness/topic-cleanup';

/** Everything a benchmark runs against: real local services (the test profile), fresh databases. */
export interface BenchSetup {
  config: EnvConfig;
  internal: pg.Pool;
  tenancyId: string;
  externalUrl: string;
  /** A query on the bench's external database. */
  externalQuery<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<T[]>;
  startCdc(observe?: Parameters<typeof startCdc>[2]): Promise<RunningCdc>;
  startSink(): Promise<RunningSink>;
  close(): Promise<void>;
}

/** Runs one administrative statement on its own connection (CREATE/DROP DATABASE cannot share a pool). */
export async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** `overrides` are environment variables of the bench's config (e.g. CDC_EVENT_FORMAT). */
export async function benchSetup(overrides: Record<string, string> = {}): Promise<BenchSetup> {
  process.env.STACK_SYNC_QUIET ??= '1';
  const services = describeLocalServices(localSettings({ ...process.env, STACK_SYNC_PROFILE: 'test' }));
  await upLocalServices(services);
  const name = `bench_${randomBytes(4).toString('hex')}`;
  const internalAdmin = services.env.DATABASE_URL!.replace(/\/stack$/, '/postgres');
  const externalAdmin = services.env.EXTERNAL_DATABASE_ADMIN_URL!;
  await adminQuery(internalAdmin, `CREATE DATABASE ${name}`);
  await adminQuery(externalAdmin, `CREATE DATABASE ${name}`);
  const internalUrl = internalAdmin.replace(/\/postgres$/, `/${name}`);
  const externalUrl = externalAdmin.replace(/\/postgres$/, `/${name}`);
  await migrateInternalDatabase(internalUrl);
  const config = loadConfig({
    DATABASE_URL: internalUrl,
    KAFKA_BROKERS: services.env.KAFKA_BROKERS,
    CDC_SLOT: name,
    CDC_TOPIC_PREFIX: `bench.${name}`,
    SINK_GROUP_PREFIX: `bench.${name}`,
    SINK_CONFIG_POLL_MS: '300',
    SINK_SESSION_TIMEOUT_MS: '3000',
    // The test profile's external cluster is on loopback, which a sink refuses unless allowed.
    SINK_ALLOWED_TARGETS: services.env.SINK_ALLOWED_TARGETS!,
    // The test profile's services are not the development ones, so the published placeholder secrets are refused.
    ...ownSecrets(),
    ...overrides,
  });
  const internal = new pg.Pool({ connectionString: internalUrl, max: 8 });
  const projectId = randomUUID();
  const tenancyId = randomUUID();
  const sealed = new SecretBox(config.STACK_SECRET_KEY).seal(externalUrl);
  await internal.query(
    `INSERT INTO "Project" (id, "displayName", "publishableClientKeyHash", "secretServerKeyHash", "superSecretAdminKeyHash", config) VALUES ($1, 'bench', '-', '-', '-', $2)`,
    [projectId, JSON.stringify({ dbSync: { externalDatabases: { main: { type: 'postgres', encryptedConnectionString: sealed } } } })],
  );
  await internal.query(`INSERT INTO "Tenancy" (id, "projectId", "branchId") VALUES ($1, $2, 'main')`, [tenancyId, projectId]);
  const running: { stop(): Promise<void> }[] = [];
  const externalPool = new pg.Pool({ connectionString: externalUrl, max: 2 });
  return {
    config,
    internal,
    tenancyId,
    externalUrl,
    async externalQuery<T extends pg.QueryResultRow>(sql: string, values: unknown[] = []) {
      return (await externalPool.query<T>(sql, values)).rows;
    },
    async startCdc(observe) {
      const cdc = await startCdc(config, new Registry(), observe);
      running.push(cdc);
      return cdc;
    },
    async startSink() {
      const sink = await startSink(config, new Registry());
      running.push(sink);
      return sink;
    },
    async close() {
      for (const part of running.reverse()) await part.stop().catch(() => undefined);
      await internal.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [name]).catch(() => undefined);
      await internal.end();
      await externalPool.end();
      await adminQuery(internalAdmin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await adminQuery(externalAdmin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await deleteTopicsWithPrefix(config.KAFKA_BROKERS, [`${config.CDC_TOPIC_PREFIX}.`]).catch(() => undefined);
    },
  };
}

/** The end offset of the bench tenant's topic: how many records the cdc reader has published. */
export async function publishedRecords(setup: BenchSetup): Promise<number> {
  const admin = kafkaClient(setup.config.KAFKA_BROKERS, 'bench-admin').admin();
  await admin.connect();
  try {
    const topic = `${setup.config.CDC_TOPIC_PREFIX}.${setup.tenancyId}`;
    if (!(await admin.listTopics()).includes(topic)) return 0;
    return Number((await admin.fetchTopicOffsets(topic))[0]?.high ?? 0);
  } finally {
    await admin.disconnect();
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints the figures as a table, then (last line) as one JSON object. */
export function report(figures: Record<string, number | string | null>): void {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  for (const [key, value] of Object.entries(figures)) console.log(`${key.padEnd(width)}  ${value}`);
  console.log(JSON.stringify(figures));
}

/** Runs `write(index)` `count` times at `perSecond` (eight concurrent writers); returns the rate achieved. */
export async function paced(count: number, perSecond: number, write: (index: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const writers = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (;;) {
        const index = next++;
        if (index >= count) return;
        const due = started + (index * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await write(index);
      }
    }),
  );
  return (count * 1000) / (performance.now() - started);
}

/** Runs a benchmark's main and exits: non-zero, with the error, when it failed. */
export function runBench(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
