import { waitFor } from '../infra/wait-for';
import { describe, expect, it } from 'vitest';
import { withClient } from './harness/test-services';
import { PipelineContext, pollExternal } from './harness/pipeline-context';

interface UserRow extends Record<string, unknown> {
  id: string;
  display_name: string | null;
  primary_email: string | null;
  primary_email_verified: boolean;
}

const usersSql = 'SELECT id, display_name, primary_email, primary_email_verified, client_metadata, server_metadata FROM users ORDER BY id';

describe('WAL → Kafka → external Postgres', () => {
  it('a user created, renamed and deleted through the API appears, changes and disappears', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });

    const userId = await ctx.createUser(project, {
      primary_email: 'ada@example.com',
      primary_email_verified: true,
      display_name: 'Ada',
      client_metadata: { theme: 'dark' },
      server_metadata: { plan: 'pro', seats: 3 },
    });
    const created = await pollExternal<UserRow>(external, usersSql, (rows) => rows.length === 1);
    expect(created[0]).toMatchObject({
      id: userId,
      display_name: 'Ada',
      primary_email: 'ada@example.com',
      primary_email_verified: true,
      client_metadata: { theme: 'dark' },
      server_metadata: { plan: 'pro', seats: 3 },
    });

    const renamed = await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${userId}`, { display_name: 'Ada Lovelace' });
    expect(renamed.status).toBe(200);
    await pollExternal<UserRow>(external, usersSql, (rows) => rows[0]?.display_name === 'Ada Lovelace');

    const deleted = await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${userId}`);
    expect(deleted.status).toBe(200);
    await pollExternal<UserRow>(external, usersSql, (rows) => rows.length === 0);
    const channels = await pollExternal(external, 'SELECT id FROM contact_channels', (rows) => rows.length === 0);
    expect(channels).toEqual([]);
  });

  it('a user with several emails yields one row carrying the primary one', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });

    const userId = await ctx.createUser(project, { primary_email: 'first@example.com', display_name: 'Several' });
    const secondary = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', {
      user_id: userId,
      type: 'email',
      value: 'second@example.com',
      is_verified: true,
      used_for_auth: false,
    });
    expect(secondary.status).toBe(201);
    await pollExternal(external, 'SELECT id FROM contact_channels', (rows) => rows.length === 2);
    let users = await pollExternal<UserRow>(external, usersSql, (rows) => rows.length === 1);
    expect(users[0]?.primary_email).toBe('first@example.com');

    // The new primary takes over in the same source transaction that demotes the old one.
    const promoted = await ctx.as(project, 'server', 'POST', '/api/v1/contact-channels', {
      user_id: userId,
      type: 'email',
      value: 'third@example.com',
      is_verified: true,
      is_primary: true,
      used_for_auth: true,
    });
    expect(promoted.status).toBe(201);
    users = await pollExternal<UserRow>(external, usersSql, (rows) => rows[0]?.primary_email === 'third@example.com');
    expect(users).toHaveLength(1);
    expect(users[0]?.primary_email_verified).toBe(true);
    const primaries = await pollExternal(external, 'SELECT value FROM contact_channels WHERE is_primary', (rows) => rows.length === 1);
    expect(primaries).toEqual([{ value: 'third@example.com' }]);
  });

  it(`round-trips O'Connor 🚀 用户 "Test"`, async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    const name = `O'Connor 🚀 用户 "Test"`;
    const metadata = { note: `${name} \\ tab\tand newline\n`, nested: { emoji: '🚀', list: [1, 'two', null] } };
    await ctx.createUser(project, { display_name: name, primary_email: 'oconnor@example.com', client_metadata: metadata });
    const rows = await pollExternal<UserRow>(external, usersSql, (found) => found.length === 1);
    expect(rows[0]?.display_name).toBe(name);
    expect(rows[0]?.client_metadata).toEqual(metadata);
  });

  it('two tenants with their own external databases never see each other’s users', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const [alpha, beta] = [await ctx.createProject('alpha'), await ctx.createProject('beta')];
    const [alphaDb, betaDb] = [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()];
    await ctx.setExternalDatabases(alpha, { main: alphaDb });
    await ctx.setExternalDatabases(beta, { main: betaDb });
    const alphaUsers = [await ctx.createUser(alpha, { primary_email: 'a1@alpha.test' }), await ctx.createUser(alpha, { primary_email: 'a2@alpha.test' })];
    const betaUsers = [await ctx.createUser(beta, { primary_email: 'b1@beta.test' })];
    const alphaRows = await pollExternal<UserRow>(alphaDb, usersSql, (rows) => rows.length === 2);
    const betaRows = await pollExternal<UserRow>(betaDb, usersSql, (rows) => rows.length === 1);
    expect(alphaRows.map((row) => row.id).sort()).toEqual([...alphaUsers].sort());
    expect(betaRows.map((row) => row.id)).toEqual(betaUsers);
    // Still true after the sink had time to apply anything else it might have wrongly routed.
    await ctx.createUser(beta, { primary_email: 'b2@beta.test' });
    await pollExternal<UserRow>(betaDb, usersSql, (rows) => rows.length === 2);
    expect((await pollExternal<UserRow>(alphaDb, usersSql, () => true)).map((row) => row.primary_email).sort()).toEqual(['a1@alpha.test', 'a2@alpha.test']);
  });

  it('one external database with a bad connection string does not stop another from getting its rows', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const healthy = await ctx.createExternalDatabase();
    // Port 1 on loopback: connection refused, as for a database that is down.
    await ctx.setExternalDatabases(project, { broken: 'postgres://nobody:secret@127.0.0.1:1/nowhere', healthy });
    await ctx.createUser(project, { primary_email: 'still@arrives.test', display_name: 'Still arrives' });
    const rows = await pollExternal<UserRow>(healthy, usersSql, (found) => found.length === 1);
    expect(rows[0]?.primary_email).toBe('still@arrives.test');
    // Statuses are what the sink processes report, once per poll: wait for the broken one's.
    let databases: { id: string; state: string; last_error: { code: string } | null }[] = [];
    await waitFor('both databases reported', async () => {
      const status = await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status');
      databases = status.body.external_databases as typeof databases;
      return databases.find((database) => database.id === 'broken')?.state === 'error' && databases.find((database) => database.id === 'healthy')?.state === 'running';
    });
    expect(databases.find((database) => database.id === 'broken')).toMatchObject({ state: 'error', last_error: { code: 'SINK_TARGET_UNREACHABLE' } });
    expect(databases.find((database) => database.id === 'healthy')?.state).toBe('running');
  });

  it('last_synced_sequence_id grows as changes are applied', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    const progressSql = `SELECT last_synced_sequence_id::int AS id FROM _stack_sync_metadata WHERE mapping_name = 'users'`;

    const userId = await ctx.createUser(project, { display_name: 'v0' });
    const [first] = await pollExternal<{ id: number }>(external, progressSql, (rows) => (rows[0]?.id ?? -1) >= 0);
    const seen = [first!.id];
    for (const name of ['v1', 'v2', 'v3']) {
      await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${userId}`, { display_name: name });
      const [row] = await pollExternal<{ id: number }>(external, progressSql, (rows) => (rows[0]?.id ?? -1) > seen.at(-1)!);
      seen.push(row!.id);
    }
    // It is the offset of each source change in the tenant topic (user insert, then three updates);
    // offsets between them hold Kafka's transaction markers.
    const topic = await ctx.readTopic(project.tenancyId, (records) => records.length >= 4);
    expect(topic).toHaveLength(4);
    expect(seen).toEqual(topic.map((record) => Number(record.offset)));
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('a transaction that rolls back never appears; an uncommitted update is invisible until it commits', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    const userId = await ctx.createUser(project, { display_name: 'before' });
    await pollExternal<UserRow>(external, usersSql, (rows) => rows.length === 1);

    await withClient(ctx.config.DATABASE_URL, async (client) => {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "ProjectUser" ("tenancyId", "projectUserId", "displayName") VALUES ($1, gen_random_uuid(), 'ghost')`, [project.tenancyId]);
      await client.query('ROLLBACK');
    });

    const open = await ctx.internal.connect();
    try {
      await open.query('BEGIN');
      await open.query(`UPDATE "ProjectUser" SET "displayName" = 'after' WHERE "projectUserId" = $1`, [userId]);
      // A later, committed change proves the pipeline has moved past the moment of the open update.
      await ctx.createUser(project, { display_name: 'marker' });
      const rows = await pollExternal<UserRow>(external, usersSql, (found) => found.length === 2);
      expect(rows.map((row) => row.display_name).sort()).toEqual(['before', 'marker']);
      await open.query('COMMIT');
    } finally {
      open.release();
    }
    const rows = await pollExternal<UserRow>(external, usersSql, (found) => found.some((row) => row.display_name === 'after'));
    expect(rows.map((row) => row.display_name).sort()).toEqual(['after', 'marker']);
    // before (insert), marker (insert), after (update): three events, and nothing of the ghost.
    const topic = await ctx.readTopic(project.tenancyId, (records) => records.length >= 3);
    expect(topic).toHaveLength(3);
    expect(topic.some((record) => record.value?.includes('ghost'))).toBe(false);
  });

  it('restarting the cdc and the sink loses nothing', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { main: external });
    await ctx.createUser(project, { display_name: 'before restart' });
    await pollExternal<UserRow>(external, usersSql, (rows) => rows.length === 1);

    // Both stopped: writes pile up in the WAL, held by the slot.
    await ctx.stopSink();
    await ctx.stopCdc();
    for (let index = 0; index < 20; index++) await ctx.createUser(project, { display_name: `while down ${index}` });
    await ctx.startCdc();
    await ctx.createUser(project, { display_name: 'cdc back, sink down' });
    await ctx.startSink();
    await ctx.createUser(project, { display_name: 'both back' });
    const rows = await pollExternal<UserRow>(external, usersSql, (found) => found.length === 23);
    expect(new Set(rows.map((row) => row.display_name)).size).toBe(23);
    // 23 inserts, each published exactly once (a read_committed reader sees 23 events)…
    const topic = await ctx.readTopic(project.tenancyId, (records) => records.length >= 23);
    expect(topic).toHaveLength(23);
    const lastOffset = Number(topic.at(-1)!.offset);
    // …and the database's progress is the last of them.
    const [progress] = await pollExternal<{ id: number }>(
      external,
      `SELECT last_synced_sequence_id::int AS id FROM _stack_sync_metadata WHERE mapping_name = 'users'`,
      (found) => found[0]?.id === lastOffset,
    );
    expect(progress?.id).toBe(lastOffset);
  });
});
