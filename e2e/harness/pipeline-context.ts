import type { Hono } from 'hono';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createApp } from '../../api/app';
import type { ApiDependencies, ApiEnv } from '../../api/api-env';
import { createApiDependencies } from '../../api/dependencies';
import { internalDatabasePool } from '../../api/start-api';
import { startCdc, type RunningCdc } from '../../cdc/start-cdc';
import { kafkaClient } from '../../infra/runtime/kafka-client';
import { deleteTopicsWithPrefix } from './topic-cleanup';
import { waitFor } from '../../infra/wait-for';
import { loadConfig, type EnvConfig } from '../../schema/env-config';
import { startSink, type RunningSink } from '../../sinks/start-sink';
import { createDatabase, dropDatabase, templateDatabase, testAllowedTargets, testServices, uniqueName, withClient } from './test-services';

export interface TestProject {
  id: string;
  tenancyId: string;
  secretServerKey: string;
  superSecretAdminKey: string;
  publishableClientKey: string;
}

export interface ApiResponse {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

type AccessType = 'client' | 'server' | 'admin';

/**
 * Everything one test needs, isolated from every other test: its own internal database (a copy of
 * the migrated template), slot, topic prefix, consumer groups and external databases, with the
 * real cdc reader, sink and API around them. `await using` cleans it all up.
 */
export class PipelineContext {
  readonly config: EnvConfig;
  readonly internal: pg.Pool;
  readonly app: Hono<ApiEnv>;
  readonly deps: ApiDependencies;
  #cdc: RunningCdc | undefined;
  #sink: RunningSink | undefined;
  readonly #externalDatabases: string[] = [];

  private constructor(readonly name: string, internalUrl: string, overrides: Record<string, string>) {
    const services = testServices();
    this.config = loadConfig({
      // scrypt at 2^12 keeps sign-up tests fast; production defaults to 2^15.
      PASSWORD_HASH_LOG_N: '12',
      DATABASE_URL: internalUrl,
      KAFKA_BROKERS: services.kafkaBrokers,
      CDC_SLOT: name,
      CDC_PUBLICATION: 'stack_sync',
      CDC_TOPIC_PREFIX: `test.${name}`,
      SINK_GROUP_PREFIX: `test.${name}`,
      SINK_CONFIG_POLL_MS: '300',
      SINK_SESSION_TIMEOUT_MS: '3000',
      SINK_ALLOWED_TARGETS: testAllowedTargets,
      API_PORT: '0',
      METRICS_PORT: '0',
      ...overrides,
    });
    this.internal = internalDatabasePool(internalUrl);
    this.deps = createApiDependencies(this.config, this.internal);
    this.app = createApp(this.deps);
  }

  /** `overrides` are environment variables of this context's config (e.g. TRUST_PROXY). */
  static async open(overrides: Record<string, string> = {}): Promise<PipelineContext> {
    const name = uniqueName();
    const url = await createDatabase(testServices().internalAdminUrl, name, templateDatabase);
    return new PipelineContext(name, url, overrides);
  }

  /**
   * A context on an internal database the test brought (already migrated), e.g. on a cluster of its
   * own that it can crash; the test disposes of that database itself.
   */
  static onInternalDatabase(internalUrl: string, overrides: Record<string, string> = {}): PipelineContext {
    return new PipelineContext(uniqueName(), internalUrl, overrides);
  }

  get cdc(): RunningCdc | undefined {
    return this.#cdc;
  }

  /** The in-process cdc reader's metrics (a fresh registry per start). */
  cdcRegistry = new Registry();

  /**
   * Starts the reader and waits until the snapshot a new slot begins with is done, so that a test's
   * first writes are streamed, not also read by that snapshot (tests of snapshots insert their
   * rows before starting the reader).
   */
  async startCdc(observe?: Parameters<typeof startCdc>[2]): Promise<void> {
    if (!this.#cdc) {
      this.cdcRegistry = new Registry();
      this.#cdc = await startCdc(this.config, this.cdcRegistry, observe);
    }
    await waitFor(
      'the reader’s snapshots to finish',
      async () => (await this.internal.query(`SELECT 1 FROM "CdcSnapshot" WHERE "slotName" = $1 AND state = 'pending'`, [this.name])).rowCount === 0,
      { timeoutMs: 120_000, intervalMs: 50 },
    );
  }

  async stopCdc(): Promise<void> {
    await this.#cdc?.stop();
    this.#cdc = undefined;
  }

  /** The in-process sink's metrics (a fresh registry per start). */
  sinkRegistry = new Registry();

  async startSink(): Promise<RunningSink> {
    if (!this.#sink) {
      this.sinkRegistry = new Registry();
      this.#sink = await startSink(this.config, this.sinkRegistry);
    }
    return this.#sink;
  }

  get sink(): RunningSink | undefined {
    return this.#sink;
  }

  /**
   * Inserts `count` users (each with a primary, auth-enabled email `<prefix><n>@example.com`) in one
   * SQL transaction, as a bulk import would, bypassing the API.
   */
  async insertUsers(tenancyId: string, count: number, prefix: string): Promise<void> {
    await this.internal.query(
      `WITH created AS (
         INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName")
         SELECT $1, gen_random_uuid(), $3 || n FROM generate_series(1, $2) AS n
         RETURNING "projectUserId", "displayName")
       INSERT INTO "ContactChannel" ("tenancyId", "projectUserId", id, type, value, "isPrimary", "usedForAuth")
       SELECT $1, "projectUserId", gen_random_uuid(), 'EMAIL', "displayName" || '@example.com', 'TRUE', 'TRUE' FROM created`,
      [tenancyId, count, prefix],
    );
  }

  async stopSink(): Promise<void> {
    await this.#sink?.stop();
    this.#sink = undefined;
  }

  async startPipeline(): Promise<void> {
    await this.startCdc();
    await this.startSink();
  }

  /** A fresh database on the external cluster, dropped with the context. */
  async createExternalDatabase(): Promise<string> {
    const name = uniqueName();
    this.#externalDatabases.push(name);
    return createDatabase(testServices().externalAdminUrl, name);
  }

  async request(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResponse> {
    const response = await this.app.request(path, {
      method,
      headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
      ...(options.body !== undefined ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
  }

  /** A request authenticated as `project` with the key of `accessType`. */
  async as(project: TestProject, accessType: AccessType, method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const key: Record<AccessType, [string, string]> = {
      client: ['x-stack-publishable-client-key', project.publishableClientKey],
      server: ['x-stack-secret-server-key', project.secretServerKey],
      admin: ['x-stack-super-secret-admin-key', project.superSecretAdminKey],
    };
    const [header, value] = key[accessType];
    return this.request(method, path, {
      body,
      headers: { 'x-stack-project-id': project.id, 'x-stack-access-type': accessType, [header]: value },
    });
  }

  async createProject(displayName = 'Test project'): Promise<TestProject> {
    const response = await this.request('POST', '/api/v1/internal/projects', {
      body: { display_name: displayName },
      headers: { 'x-stack-internal-admin-key': this.config.STACK_INTERNAL_ADMIN_KEY },
    });
    if (response.status !== 201) throw new Error(`project creation failed: ${response.status} ${JSON.stringify(response.body)}`);
    const { body } = response;
    return {
      id: String(body.id),
      tenancyId: String(body.tenancy_id),
      secretServerKey: String(body.secret_server_key),
      superSecretAdminKey: String(body.super_secret_admin_key),
      publishableClientKey: String(body.publishable_client_key),
    };
  }

  async setExternalDatabases(project: TestProject, databases: Record<string, string>): Promise<void> {
    const external_databases = Object.fromEntries(Object.entries(databases).map(([id, url]) => [id, { type: 'postgres', connection_string: url }]));
    const response = await this.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { db_sync: { external_databases } });
    if (response.status !== 200) throw new Error(`config update failed: ${response.status} ${JSON.stringify(response.body)}`);
  }

  async setAuthConfig(project: TestProject, auth: Record<string, unknown>): Promise<void> {
    const response = await this.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { auth });
    if (response.status !== 200) throw new Error(`config update failed: ${response.status} ${JSON.stringify(response.body)}`);
  }

  /** A request as a signed-in user: the project's client key plus the user's access token. */
  async asUser(project: TestProject, accessToken: string, method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<ApiResponse> {
    return this.request(method, path, {
      body,
      headers: {
        'x-stack-project-id': project.id,
        'x-stack-access-type': 'client',
        'x-stack-publishable-client-key': project.publishableClientKey,
        'x-stack-access-token': accessToken,
        ...extraHeaders,
      },
    });
  }

  async createUser(project: TestProject, body: Record<string, unknown>): Promise<string> {
    const response = await this.as(project, 'server', 'POST', '/api/v1/users', body);
    if (response.status !== 201) throw new Error(`user creation failed: ${response.status} ${JSON.stringify(response.body)}`);
    return String(response.body.id);
  }

  /** Every record of a tenant topic from offset 0, read with a fresh consumer group until `until` holds. */
  async readTopic(
    tenancyId: string,
    until: (records: { offset: bigint; key: string; value: string | null }[]) => boolean,
    timeoutMs = 20_000,
  ): Promise<{ offset: bigint; key: string; value: string | null }[]> {
    const kafka = kafkaClient(this.config.KAFKA_BROKERS, `${this.name}-reader`);
    const topic = `${this.config.CDC_TOPIC_PREFIX}.${tenancyId}`;
    // The reader creates the topic with its first event: wait for it rather than subscribe too early.
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(`topic ${topic}`, async () => (await admin.listTopics()).includes(topic), { timeoutMs, intervalMs: 100 });
    } finally {
      await admin.disconnect();
    }
    const consumer = kafka.consumer({ groupId: uniqueName(`${this.name}-reader`), maxWaitTimeInMs: 100 });
    const records: { offset: bigint; key: string; value: string | null }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          records.push({ offset: BigInt(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? null });
        },
      });
      await waitFor('the expected topic records', async () => until(records), { timeoutMs, intervalMs: 100 });
      return records;
    } finally {
      await consumer.disconnect();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stopSink().catch(() => undefined);
    await this.stopCdc().catch(() => undefined);
    await this.deps.analytics.close().catch(() => undefined);
    await this.deps.paymentProcessor.close().catch(() => undefined);
    await this.internal.end().catch(() => undefined);
    const services = testServices();
    // The slot must go before its database; a just-stopped walsender may hold it for a moment.
    await waitFor(
      `slot ${this.name} to be dropped`,
      async () => {
        await withClient(services.internalAdminUrl, (client) =>
          client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.name]),
        );
        return true;
      },
      { timeoutMs: 10_000 },
    ).catch(() => undefined);
    await dropDatabase(services.internalAdminUrl, this.name).catch(() => undefined);
    for (const database of this.#externalDatabases) await dropDatabase(services.externalAdminUrl, database).catch(() => undefined);
    await deleteTopicsWithPrefix(this.config.KAFKA_BROKERS, [`${this.config.CDC_TOPIC_PREFIX}.`]).catch(() => undefined);
  }
}

/** Rows of an external database, polled until `accept` holds (the sink is asynchronous). */
export async function pollExternal<Row extends Record<string, unknown>>(
  url: string,
  sql: string,
  accept: (rows: Row[]) => boolean,
  timeoutMs = 20_000,
): Promise<Row[]> {
  let rows: Row[] = [];
  await waitFor(
    `external rows for ${sql}`,
    async () => {
      rows = await withClient(url, async (client) => (await client.query<Row>(sql)).rows).catch(() => []);
      return accept(rows);
    },
    { timeoutMs, intervalMs: 100 },
  ).catch((error: unknown) => {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; last rows: ${JSON.stringify(rows)}`);
  });
  return rows;
}
