import { describe, expect, it } from 'vitest';
import { waitFor } from '../infra/wait-for';
import { expectConverged } from './harness/oracle';
import { PipelineContext, pollExternal } from './harness/pipeline-context';
import { withClient } from './harness/test-services';

describe('configuration changes take effect live', () => {
  it('a database added to a project with 10,000 users fills completely while writes continue', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    for (let batch = 0; batch < 10; batch++) await ctx.insertUsers(project.tenancyId, 1_000, `existing-${batch}-`);

    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await ctx.insertUsers(project.tenancyId, 10, `live-${written++}-`);
        await ctx.internal.query(`UPDATE "ProjectUser" SET "displayName" = "displayName" || '+' WHERE "tenancyId" = $1 AND "displayName" LIKE 'existing-0-1%'`, [project.tenancyId]);
      }
    })();
    const external = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(project, { late: external });
    await pollExternal(external, 'SELECT count(*)::int AS n FROM users', (rows) => Number(rows[0]?.n) >= 10_000, 120_000);
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(0);
    const state = await expectConverged(ctx.internal, project.tenancyId, external, 60_000);
    expect(state.users.length).toBe(10_000 + written * 10);
  });

  it('removing a database stops writes to it within 10 s; a new tenant’s first change arrives within 10 s', async () => {
    await using ctx = await PipelineContext.open();
    await ctx.startPipeline();
    const project = await ctx.createProject();
    const [leaving, staying] = [await ctx.createExternalDatabase(), await ctx.createExternalDatabase()];
    await ctx.setExternalDatabases(project, { leaving, staying });
    await ctx.createUser(project, { display_name: 'before' });
    await expectConverged(ctx.internal, project.tenancyId, leaving);

    const removedAt = Date.now();
    await ctx.setExternalDatabases(project, { staying });
    // What the sink process itself serves (the status API lists what the config names).
    const servedIds = async () => (ctx.sink?.supervisor.statuses() ?? []).map((status) => status.databaseId);
    await waitFor('the removed database to leave the sink', async () => !(await servedIds()).includes('leaving'), { timeoutMs: 10_000 });
    expect(Date.now() - removedAt).toBeLessThan(10_000);
    const progressOf = (url: string) =>
      withClient(url, async (client) => (await client.query(`SELECT last_synced_sequence_id::int AS id FROM _stack_sync_metadata WHERE mapping_name = 'users'`)).rows[0].id as number);
    const frozen = await progressOf(leaving);
    await ctx.createUser(project, { display_name: 'after removal' });
    await pollExternal(staying, `SELECT 1 FROM users WHERE display_name = 'after removal'`, (rows) => rows.length === 1);
    expect(await progressOf(leaving)).toBe(frozen);
    expect((await pollExternal(leaving, `SELECT 1 FROM users WHERE display_name = 'after removal'`, () => true)).length).toBe(0);

    // A tenant that did not exist when the sink started.
    const newcomer = await ctx.createProject('newcomer');
    const newcomerDb = await ctx.createExternalDatabase();
    await ctx.setExternalDatabases(newcomer, { main: newcomerDb });
    const firstChangeAt = Date.now();
    await ctx.createUser(newcomer, { display_name: 'first' });
    await pollExternal(newcomerDb, `SELECT 1 FROM users WHERE display_name = 'first'`, (rows) => rows.length === 1, 10_000);
    expect(Date.now() - firstChangeAt).toBeLessThan(10_000);
  });
});
