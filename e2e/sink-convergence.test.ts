import { describe, expect, it } from 'vitest';
import { expectConverged } from './harness/oracle';
import { PipelineContext, pollExternal } from './harness/pipeline-context';

async function pipelineWithDatabase(ctx: PipelineContext) {
  await ctx.startPipeline();
  const project = await ctx.createProject();
  const external = await ctx.createExternalDatabase();
  await ctx.setExternalDatabases(project, { main: external });
  return { project, external };
}

describe('sink convergence', () => {
  it('1,500 users inserted by SQL in three batches of 500 all arrive', async () => {
    await using ctx = await PipelineContext.open();
    const { project, external } = await pipelineWithDatabase(ctx);
    for (const batch of ['a', 'b', 'c']) await ctx.insertUsers(project.tenancyId, 500, `batch-${batch}-`);
    const state = await expectConverged(ctx.internal, project.tenancyId, external, 60_000);
    expect(state.users).toHaveLength(1_500);
    expect(state.users.every((user) => user.primary_email?.endsWith('@example.com'))).toBe(true);
  });

  it('of 300 users, deleting one in the middle leaves exactly the other 299 emails', async () => {
    await using ctx = await PipelineContext.open();
    const { project, external } = await pipelineWithDatabase(ctx);
    await ctx.insertUsers(project.tenancyId, 300, 'member-');
    await expectConverged(ctx.internal, project.tenancyId, external);
    await ctx.internal.query(`DELETE FROM "ProjectUser" WHERE "tenancyId" = $1 AND "displayName" = 'member-150'`, [project.tenancyId]);
    const rows = await pollExternal<{ primary_email: string }>(external, 'SELECT primary_email FROM users ORDER BY primary_email', (found) => found.length === 299);
    const expected = Array.from({ length: 300 }, (_, index) => `member-${index + 1}@example.com`).filter((email) => email !== 'member-150@example.com');
    expect(rows.map((row) => row.primary_email)).toEqual(expected.sort());
    await expectConverged(ctx.internal, project.tenancyId, external);
  });

  it('converges in the named hard cases: updates piled up, deleted before seen, re-created with the same email', async () => {
    await using ctx = await PipelineContext.open();
    const { project, external } = await pipelineWithDatabase(ctx);
    const seen = await ctx.createUser(project, { primary_email: 'seen@example.com', display_name: 'v0' });
    await expectConverged(ctx.internal, project.tenancyId, external);

    // The sink is away while all of this happens.
    await ctx.stopSink();
    for (const name of ['v1', 'v2', 'v3', 'v4']) await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${seen}`, { display_name: name });
    const ghost = await ctx.createUser(project, { primary_email: 'ghost@example.com' });
    await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${ghost}`);
    const first = await ctx.createUser(project, { primary_email: 'again@example.com', display_name: 'first life' });
    await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${first}`);
    const second = await ctx.createUser(project, { primary_email: 'again@example.com', display_name: 'second life' });
    const churn = await ctx.createUser(project, { primary_email: 'churn@example.com', display_name: 'c1' });
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${churn}`, { display_name: 'c2' });
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${churn}`, { display_name: 'c3' });
    await ctx.as(project, 'server', 'DELETE', `/api/v1/users/${churn}`);
    const reborn = await ctx.createUser(project, { primary_email: 'churn@example.com', display_name: 'c4' });
    await ctx.as(project, 'server', 'PATCH', `/api/v1/users/${reborn}`, { display_name: 'c5' });
    await ctx.startSink();

    const state = await expectConverged(ctx.internal, project.tenancyId, external);
    const byEmail = new Map(state.users.map((user) => [user.primary_email, user]));
    expect(byEmail.get('seen@example.com')?.display_name).toBe('v4');
    expect(byEmail.has('ghost@example.com')).toBe(false);
    expect(byEmail.get('again@example.com')?.id).toBe(second);
    expect(second).not.toBe(first);
    expect(byEmail.get('churn@example.com')).toMatchObject({ id: reborn, display_name: 'c5' });
  });
});
