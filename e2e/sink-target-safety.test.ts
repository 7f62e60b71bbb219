import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { SecretBox } from '../schema/secret-box';
import { PipelineContext, pollExternal, type TestProject } from './harness/pipeline-context';
import { withClient } from './harness/test-services';

interface SyncStatus {
  id: string;
  state: string;
  last_error: { code: string; message: string } | null;
}

async function statusOf(ctx: PipelineContext, project: TestProject, id: string): Promise<SyncStatus | undefined> {
  const response = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status');
  return (response.body.external_databases as SyncStatus[]).find((status) => status.id === id);
}

async function waitForError(ctx: PipelineContext, project: TestProject, id: string): Promise<SyncStatus> {
  let status: SyncStatus | undefined;
  await waitFor(`an error for ${id}`, async () => (status = await statusOf(ctx, project, id))?.state === 'error', { timeoutMs: 30_000, intervalMs: 100 });
  return status!;
}

/** Writes external databases into a project's stored config directly, as if the API had accepted them (older configs, a bug, a restored backup). */
async function storeBehindTheApi(ctx: PipelineContext, project: TestProject, databases: Record<string, string>): Promise<void> {
  const secrets = new SecretBox(ctx.config.STACK_SECRET_KEY);
  const externalDatabases = Object.fromEntries(Object.entries(databases).map(([id, url]) => [id, { type: 'postgres', encryptedConnectionString: secrets.seal(url) }]));
  await ctx.internal.query(`UPDATE "Project" SET config = jsonb_set(config, '{dbSync}', $1::jsonb) WHERE id = $2`, [JSON.stringify({ externalDatabases }), project.id]);
}

async function tablesIn(url: string): Promise<string[]> {
  return withClient(url, async (client) => (await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)).rows.map((row) => row.name));
}

describe('a tenant can only reach its own databases', () => {
  it('refuses, when saved, connection strings that reach beyond a database: parameters, sockets, our internal database', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    const save = (connectionString: string) =>
      ctx.as(project, 'admin', 'PATCH', '/api/v1/internal/config', { db_sync: { external_databases: { main: { type: 'postgres', connection_string: connectionString } } } });
    for (const [connectionString, problem] of [
      [`${external}?host=/var/run/postgresql`, 'parameter "host" is not allowed'],
      [`${external}?sslkey=/proc/self/environ`, 'parameter "sslkey" is not allowed'],
      [`${external}?sslrootcert=/etc/shadow`, 'parameter "sslrootcert" is not allowed'],
      ['postgres://stack@%2Fvar%2Frun%2Fpostgresql/stack', 'no socket paths'],
    ] as const) {
      const response = await save(connectionString);
      expect(response.status, connectionString).toBe(400);
      expect(response.body).toMatchObject({ code: 'SCHEMA_ERROR' });
      expect(String(response.body.error)).toContain(`db_sync.external_databases.main.connection_string: `);
      expect(String(response.body.error)).toContain(problem);
    }
    // The internal database, by its own URL and by other loopback spellings of its address: the
    // tests allow loopback for their external cluster, never the internal one.
    const internal = new URL(ctx.config.DATABASE_URL);
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '[::ffff:127.0.0.1]']) {
      const response = await save(`postgres://${internal.username}:${internal.password}@${host}:${internal.port}${internal.pathname}`);
      expect(response.status, host).toBe(400);
      expect(response.body).toMatchObject({ code: 'EXTERNAL_DATABASE_ADDRESS_NOT_ALLOWED' });
    }
    expect(await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config')).toMatchObject({ body: { db_sync: { external_databases: {} } } });
  });

  it('the sink itself refuses the internal database and bad parameters, even when a stored config names them', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startSink();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await storeBehindTheApi(ctx, project, { internal: ctx.config.DATABASE_URL, socket: `${external}?host=/var/run/postgresql` });
    expect(await waitForError(ctx, project, 'internal')).toMatchObject({ last_error: { code: 'SINK_TARGET_NOT_ALLOWED' } });
    expect(await waitForError(ctx, project, 'socket')).toMatchObject({ last_error: { code: 'SINK_CONNECTION_STRING_REFUSED' } });
    // Nothing was created in the internal database (it used to get users, contact_channels and
    // _stack_sync_metadata, readable by every role) nor in the external one.
    expect(await tablesIn(ctx.config.DATABASE_URL)).not.toContain('_stack_sync_metadata');
    expect(await tablesIn(external)).toEqual([]);
  });

  it('tells tenants one coarse error for refused, silent, non-Postgres and wrong-password hosts (no port scanner)', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startSink();
    const project = await ctx.createProject();
    const silent = net.createServer(() => undefined);
    const talker = net.createServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
    await Promise.all([silent, talker].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
    const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
    try {
      const wrongPassword = new URL(await ctx.createExternalDatabase());
      wrongPassword.password = 'not-the-password';
      const databases = {
        refused: 'postgres://probe@127.0.0.1:1/x',
        silent: `postgres://probe@127.0.0.1:${portOf(silent)}/x`,
        talker: `postgres://probe@127.0.0.1:${portOf(talker)}/x`,
        password: wrongPassword.toString(),
      };
      await ctx.setExternalDatabases(project, databases);
      const statuses = await Promise.all(Object.keys(databases).map((id) => waitForError(ctx, project, id)));
      const errors = statuses.map((status) => ({ code: status.last_error?.code, message: status.last_error?.message }));
      expect(new Set(errors.map((error) => JSON.stringify(error))).size).toBe(1);
      expect(errors[0]).toEqual({ code: 'SINK_TARGET_UNREACHABLE', message: 'could not connect to the external database' });
    } finally {
      silent.close();
      talker.close();
    }
  });

  it('shows where the sink really connects, with the password masked wherever it was given', async () => {
    await using ctx = await PipelineContext.open();
    const project = await ctx.createProject();
    const external = new URL(await ctx.createExternalDatabase());
    const password = external.password;
    external.password = '';
    await ctx.setExternalDatabases(project, { main: `${external.toString()}?password=${password}&sslmode=disable` });
    const view = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/config');
    expect(JSON.stringify(view.body)).not.toContain(password);
    expect(view.body).toMatchObject({
      db_sync: {
        external_databases: {
          main: {
            connection_string: `postgres://${external.username}:********@127.0.0.1:${external.port}${external.pathname}?sslmode=disable`,
            host: '127.0.0.1',
            port: Number(external.port),
            database: external.pathname.slice(1),
            user: external.username,
          },
        },
      },
    });
  });
});

describe('two tenants never share progress', () => {
  // Project A pointed at B's database: A's users were written into B's tables, B's progress was
  // overwritten with A's offset and B's next users were silently dropped.
  it('refuses a database already synced for another tenancy and never writes to it', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const owner = await ctx.createProject('owner');
    const intruder = await ctx.createProject('intruder');
    const shared = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(owner, { main: shared });
    await ctx.createUser(owner, { display_name: 'owner-1' });
    await pollExternal(shared, 'SELECT display_name FROM users', (rows) => rows.length === 1);
    for (let index = 0; index < 5; index++) await ctx.createUser(intruder, { display_name: `intruder-${index}` });
    await ctx.setExternalDatabases(intruder, { stolen: shared });
    expect(await waitForError(ctx, intruder, 'stolen')).toMatchObject({ last_error: { code: 'SINK_DATABASE_OF_ANOTHER_SOURCE' } });
    for (let index = 2; index <= 4; index++) await ctx.createUser(owner, { display_name: `owner-${index}` });
    const rows = await pollExternal<{ display_name: string }>(shared, 'SELECT display_name FROM users ORDER BY 1', (found) => found.length >= 4);
    await ctx.createUser(intruder, { display_name: 'intruder-late' });
    await ctx.createUser(owner, { display_name: 'owner-5' });
    const final = await pollExternal<{ display_name: string }>(shared, 'SELECT display_name FROM users ORDER BY 1', (found) => found.length >= 5);
    expect(rows.map((row) => row.display_name)).toEqual(['owner-1', 'owner-2', 'owner-3', 'owner-4']);
    expect(final.map((row) => row.display_name)).toEqual(['owner-1', 'owner-2', 'owner-3', 'owner-4', 'owner-5']);
    expect((await statusOf(ctx, owner, 'main'))?.state).toBe('running');
    const progress = await withClient(shared, async (client) => (await client.query('SELECT DISTINCT source_topic FROM _stack_sync_metadata')).rows);
    expect(progress).toEqual([{ source_topic: `${ctx.config.CDC_TOPIC_PREFIX}.${owner.tenancyId}` }]);
  });
});
