import { describe, expect, it } from 'vitest';
import { expectConverged } from './harness/oracle';
import { PipelineContext, pollExternal } from './harness/pipeline-context';
import { testServices, uniqueName, withClient } from './harness/test-services';
import { waitFor } from '../infra/wait-for';

interface SyncStatus {
  id: string;
  state: string;
  last_synced_sequence_id: string;
  last_error: { code: string; message: string; mapping?: string; offset?: string } | null;
}

async function syncStatus(ctx: PipelineContext, project: Parameters<PipelineContext['as']>[0]): Promise<SyncStatus[]> {
  return (await ctx.as(project, 'admin', 'GET', '/api/v1/internal/db-sync/status')).body.external_databases as SyncStatus[];
}

/** Polls the status endpoint until database `id` satisfies `accept`. */
async function waitForStatus(ctx: PipelineContext, project: Parameters<PipelineContext['as']>[0], id: string, accept: (status: SyncStatus) => boolean): Promise<SyncStatus[]> {
  let statuses: SyncStatus[] = [];
  await waitFor(`status of ${id}`, async () => {
    statuses = await syncStatus(ctx, project);
    const status = statuses.find((candidate) => candidate.id === id);
    return status !== undefined && accept(status);
  });
  return statuses;
}

async function metricValue(ctx: PipelineContext, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await ctx.sinkRegistry.getSingleMetric(name)?.get();
  const value = metric?.values.find((entry) => Object.entries(labels).every(([key, wanted]) => entry.labels[key] === wanted));
  return value?.value ?? 0;
}

describe('sink failures stay where they are', () => {
  it('a change that cannot be applied blocks only its database, is reported, and resumes once repaired', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const [broken, healthy] = [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()];
    await ctx.setExternalDatabases(project, { broken, healthy });
    await ctx.createUser(project, { display_name: 'before' });
    await expectConverged(ctx.internal, project.tenancyId, broken);

    // The owner drops a mapped column.
    await withClient(broken, (client) => client.query('ALTER TABLE users DROP COLUMN display_name'));
    await ctx.createUser(project, { display_name: 'during' });
    await expectConverged(ctx.internal, project.tenancyId, healthy);
    const statuses = await waitForStatus(ctx, project, 'broken', (status) => status.state === 'error');
    const failing = statuses.find((status) => status.id === 'broken');
    // The error names the offset of the change that could not be applied.
    const during = (await ctx.readTopic(project.tenancyId, (records) => records.some((record) => record.value?.includes('"during"')))).find((record) =>
      record.value?.includes('"during"'),
    );
    expect(failing).toMatchObject({ state: 'error', last_error: { code: 'SINK_TARGET_FAILED', mapping: 'users', offset: String(during?.offset) } });
    expect(failing?.last_error?.message).toContain('display_name');
    expect(statuses.find((status) => status.id === 'healthy')?.state).toBe('running');
    expect(await metricValue(ctx, 'sink_errors_total', { database: `${project.tenancyId}/broken` })).toBeGreaterThan(0);

    // Repaired: the retry (with backoff) goes through and new changes flow again…
    await withClient(broken, (client) => client.query('ALTER TABLE users ADD COLUMN display_name text'));
    const after = await ctx.createUser(project, { display_name: 'after' });
    await pollExternal(broken, `SELECT 1 FROM users WHERE id = '${after}' AND display_name = 'after'`, (rows) => rows.length === 1, 30_000);
    // …but the values the drop destroyed come back only with a rebuild, which resetting the stored
    // progress asks for (README, "Repairing an external database").
    await withClient(broken, (client) => client.query('UPDATE _stack_sync_metadata SET last_synced_sequence_id = -1'));
    await ctx.createUser(project, { display_name: 'trigger' });
    await expectConverged(ctx.internal, project.tenancyId, broken, 30_000);
  });

  it('a sink role without CREATE gets an error naming the database; other roles may read but never write', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const external = await ctx.createExternalDatabase();
    const services = testServices();
    const [reader, weakSink] = [uniqueName('t_reader'), uniqueName('t_sink')];
    await withClient(services.externalAdminUrl, async (client) => {
      await client.query(`CREATE ROLE ${reader} LOGIN PASSWORD 'reader-pw'`);
      await client.query(`CREATE ROLE ${weakSink} LOGIN PASSWORD 'sink-pw'`);
    });
    try {
      const weakUrl = new URL(external);
      weakUrl.username = weakSink;
      weakUrl.password = 'sink-pw';
      await ctx.setExternalDatabases(project, { main: external, weak: weakUrl.toString() });
      await ctx.createUser(project, { primary_email: 'p@example.com' });
      await expectConverged(ctx.internal, project.tenancyId, external);

      const dbName = new URL(external).pathname.slice(1);
      const weak = (await waitForStatus(ctx, project, 'weak', (status) => status.state === 'error')).find((status) => status.id === 'weak');
      expect(weak?.last_error?.code).toBe('SINK_INSUFFICIENT_PRIVILEGE');
      expect(weak?.last_error?.message).toContain(`database "${dbName}"`);
      expect(weak?.last_error?.message).toContain(`${project.tenancyId}/weak`);

      const asReader = new URL(external);
      asReader.username = reader;
      asReader.password = 'reader-pw';
      await withClient(asReader.toString(), async (client) => {
        expect((await client.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(1);
        expect((await client.query('SELECT count(*)::int AS n FROM contact_channels')).rows[0].n).toBe(1);
        for (const statement of [
          `INSERT INTO users (id, signed_up_at) VALUES (gen_random_uuid(), now())`,
          `UPDATE users SET display_name = 'x'`,
          `DELETE FROM users`,
          `DELETE FROM contact_channels`,
          `UPDATE _stack_sync_metadata SET last_synced_sequence_id = 0`,
        ]) {
          await expect(client.query(statement), statement).rejects.toMatchObject({ code: '42501' });
        }
      });
    } finally {
      await ctx.setExternalDatabases(project, {});
      await ctx.stopSink();
      await withClient(services.externalAdminUrl, async (client) => {
        await client.query(`DROP OWNED BY ${reader}, ${weakSink}`).catch(() => undefined);
        await client.query(`DROP ROLE IF EXISTS ${reader}`);
        await client.query(`DROP ROLE IF EXISTS ${weakSink}`);
      });
    }
  });
});
